import json
import math

import numpy as np
import pytest

from assistant import Assistant, Settings
from assistant.errors import IndexCorrupt
from assistant.indexing.lexical import BM25Index
from assistant.indexing.store import IndexStore
from assistant.ingest.chunking import chunk_corpus
from assistant.ingest.corpus import load_corpus
from tests.conftest import BUNDLED_CORPUS


def _toy() -> BM25Index:
    return BM25Index.build(["d0", "d1", "d2"], ["alpha beta", "gamma delta", "alpha gamma gamma"])


def test_scores_cover_every_document_and_match_search():
    index = _toy()
    scores = index.scores(index.tokens("alpha gamma"))
    assert scores.shape == (3,)
    assert scores[2] > scores[0] > 0 and scores[1] > 0
    top = index.search("alpha gamma", 3)
    assert top[0][0] == "d2" and {cid for cid, _ in top} == {"d0", "d1", "d2"}
    np.testing.assert_allclose([s for _, s in top], sorted(scores, reverse=True), rtol=1e-5)


def test_scores_of_unknown_or_empty_queries_are_zero():
    index = _toy()
    assert not index.scores(index.tokens("epsilon")).any()
    assert not index.scores([]).any()


def _idf(n: int, df: int) -> float:
    return math.log1p((n - df + 0.5) / (df + 0.5))


def test_coverage_is_the_idf_weighted_share_of_query_tokens():
    index = _toy()
    tokens = index.tokens("alpha gamma epsilon")
    total = _idf(3, 2) + _idf(3, 2) + _idf(3, 0)
    cover = index.coverages(tokens)
    assert cover[0] == pytest.approx(_idf(3, 2) / total)
    assert cover[2] == pytest.approx(2 * _idf(3, 2) / total)
    assert not index.coverages(index.tokens("epsilon")).any()
    assert not index.coverages([]).any()


def _four() -> BM25Index:
    return BM25Index.build(
        ["d0", "d1", "d2", "d3"], ["alpha beta", "gamma delta", "alpha gamma gamma", "beta delta"]
    )


def test_a_group_of_alternatives_is_one_term_with_the_rarity_of_its_union():
    """Pirkola's structured translation: a word and its translations count once, as rare
    as the documents holding any of them."""
    index = _four()
    group = index.scores([("beta", "delta")])
    beta, delta = index.scores(["beta"]), index.scores(["delta"])
    union = _idf(4, 3) / _idf(4, 2)  # beta and delta are in 2 documents each, 3 together
    assert group[0] == pytest.approx(beta[0] * union, rel=1e-5)
    assert group[1] == pytest.approx(delta[1] * union, rel=1e-5)
    # a document holding two alternatives earns the term once, for the better one
    assert group[3] == pytest.approx(max(beta[3], delta[3]) * union, rel=1e-5)
    assert group[3] < beta[3] + delta[3]
    assert group[2] == 0.0
    # a group of one is the plain token; unknown alternatives are ignored
    np.testing.assert_allclose(index.scores([("beta",)]), beta)
    np.testing.assert_allclose(index.scores([("beta", "omega")]), beta, rtol=1e-5)
    mixed = index.scores(["alpha", ("beta", "delta")])
    np.testing.assert_allclose(mixed, index.scores(["alpha"]) + group, rtol=1e-5)


def test_coverage_counts_a_group_once_with_its_union_idf():
    index = _four()
    cover = index.coverages([("beta", "delta"), "alpha"])
    total = _idf(4, 3) + _idf(4, 2)
    assert cover[0] == pytest.approx(1.0)
    assert cover[3] == pytest.approx(_idf(4, 3) / total)
    assert cover[2] == pytest.approx(_idf(4, 2) / total)


def _sidecar(store: IndexStore) -> BM25Index:
    manifest = store.read_manifest()
    return BM25Index.load(store.root / "builds" / manifest.build_id / "bm25")


def test_bm25_sidecar_stays_in_sync_with_the_manifest(corpus_copy, tmp_path):
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "idx", embedder="hash")
    assistant = Assistant(settings)
    assistant.build_index(progress=False)
    first = assistant.manifest()
    sidecar = _sidecar(assistant.store)
    assert len(sidecar) == first.chunks
    assert sidecar.ids == [c.id for c in assistant.index.chunks]

    chapter = next(p for p in corpus_copy.glob("*.md") if p.name.lower() != "readme.md")
    chapter.write_text(
        chapter.read_text(encoding="utf-8")
        + "\n\n### 17.6 新增小节\n\n一段全新的文字：量子世界模型。\n",
        encoding="utf-8",
    )
    assistant.build_index(progress=False)
    second = assistant.manifest()
    assert second.build_id != first.build_id and second.chunks == first.chunks + 1
    sidecar = _sidecar(assistant.store)
    assert sidecar.ids == [c.id for c in assistant.index.chunks]
    assert assistant.retrieve("量子世界模型", k=1, mode="bm25")[0].chunk.section == "17.6"
    assert second.previous == first.build_id  # kept one build longer, for its readers


def test_a_sidecar_that_disagrees_with_the_chunks_is_refused(corpus_copy, tmp_path):
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "idx", embedder="hash")
    assistant = Assistant(settings)
    assistant.build_index(progress=False)
    manifest = assistant.manifest()
    ids_file = assistant.store.root / "builds" / manifest.build_id / "bm25" / "ids.json"
    ids = json.loads(ids_file.read_text(encoding="utf-8"))
    ids_file.write_text(json.dumps(list(reversed(ids))), encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="BM25 sidecar"):
        Assistant(settings).index  # noqa: B018
    ids_file.write_text(json.dumps(ids[:-1]), encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="BM25 sidecar"):
        Assistant(settings).index  # noqa: B018


def test_an_index_from_term_counts_is_bm25s_own_index():
    """Assembled from stored per-file counts, the score matrix is the one bm25s builds
    from the tokens: same vocabulary ids, same float32 scores, same CSC layout."""
    import bm25s

    from assistant.indexing.lexical import TermCounts
    from assistant.text import tokenize

    corpus = load_corpus(BUNDLED_CORPUS, BUNDLED_CORPUS / "abstracts.jsonl")
    texts = [c.indexed_text for c in chunk_corpus(corpus, len, 300, 40)]
    texts += ["", "的 了 and the"]  # documents without a single token
    vocab: dict[str, int] = {"": 0}
    ids = [[vocab.setdefault(t, len(vocab)) for t in tokenize(x) or [""]] for x in texts]
    reference = bm25s.BM25()
    reference.index((ids, vocab), show_progress=False)
    runs = [TermCounts.of(texts[:5]), TermCounts.of(texts[5:9]), TermCounts.of(texts[9:])]
    ours = BM25Index.from_counts([str(n) for n in range(len(texts))], runs)
    assert ours.bm25.vocab_dict == reference.vocab_dict
    for key in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(ours.bm25.scores[key], reference.scores[key])
        assert ours.bm25.scores[key].dtype == reference.scores[key].dtype
    assert ours.bm25.scores["num_docs"] == reference.scores["num_docs"] == len(texts)


def _random_index(seed: int) -> tuple[BM25Index, list[str]]:
    rng = np.random.default_rng(seed)
    words = [f"w{n}" for n in range(40)]
    # a skewed vocabulary: a few words in most documents, many in few
    weights = 1.0 / np.arange(1, len(words) + 1)
    texts = [
        " ".join(rng.choice(words, size=int(rng.integers(1, 30)), p=weights / weights.sum()))
        for _ in range(int(rng.integers(5, 300)))
    ]
    return BM25Index.build([f"d{n}" for n in range(len(texts))], texts), words


def _random_terms(rng: np.random.Generator, words: list[str]) -> list:
    terms: list = []
    for _ in range(int(rng.integers(1, 7))):
        pool = [*words, "unseen"]
        if rng.random() < 0.4:
            terms.append(tuple(rng.choice(pool, size=int(rng.integers(2, 5)))))
        else:
            terms.append(str(rng.choice(pool)))
    return terms


def _reference_scores(index: BM25Index, terms: list) -> np.ndarray:
    """The definition, one document at a time: a token adds its precomputed score, a group
    its best member's term-frequency factor times the idf of the documents holding any."""
    n = len(index.ids)
    columns = {}
    for token, tid in index.bm25.vocab_dict.items():
        matrix = index.bm25.scores
        start, stop = matrix["indptr"][tid], matrix["indptr"][tid + 1]
        docs, values = matrix["indices"][start:stop].tolist(), matrix["data"][start:stop].tolist()
        columns[token] = dict(zip(docs, values, strict=True))
    out = np.zeros(n)
    for term in terms:
        members = [term] if isinstance(term, str) else list(dict.fromkeys(term))
        found = [columns[m] for m in members if columns.get(m)]
        if len(members) == 1:
            for d, v in found[0].items() if found else ():
                out[d] += v
            continue
        holding = set().union(*found) if found else set()
        for d in holding:
            best = max(c[d] / _idf(n, len(c)) for c in found if d in c)
            out[d] += best * _idf(n, len(holding))
    return out


def test_scores_and_coverages_equal_their_definition_on_random_corpora():
    rng = np.random.default_rng(7)
    for seed in range(25):
        index, words = _random_index(seed)
        for _ in range(8):
            terms = _random_terms(rng, words)
            np.testing.assert_allclose(
                index.scores(terms), _reference_scores(index, terms), rtol=2e-5, atol=1e-6
            )
            whole = index.coverages(terms)
            docs = rng.choice(len(index.ids), size=min(len(index.ids), 17), replace=False)
            # of a few documents: exactly the whole vector's entries for them
            np.testing.assert_array_equal(index.coverages(terms, docs), whole[docs])
            assert whole.max() <= 1.0 + 1e-6
