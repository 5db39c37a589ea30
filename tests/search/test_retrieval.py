import json
import threading
import time
from collections import Counter

import numpy as np
import pytest
from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import QueryFusionRetriever
from llama_index.core.schema import QueryBundle

from assistant import Assistant, Settings
from assistant.errors import InvalidInput
from assistant.evaluation.retrieval import RetrievalEvaluator, load_questions
from assistant.models import Chunk, Hit
from assistant.search.retrieval import (
    MODES,
    Fusion,
    KindBM25Retriever,
    KindDenseRetriever,
    diversify,
    embedding_stats,
    source_key,
    top_k,
)
from assistant.settings import PROJECT_ROOT


def _abstracts(assistant):
    return [c for c in assistant.index.chunks if c.kind == "abstract"]


def _numbered(assistant):
    return sorted(
        {c.section for c in assistant.index.chunks if c.section and c.section[0].isdigit()}
    )


def test_lookup_by_arxiv_id_in_any_form_ranks_the_abstract_first(assistant):
    abstracts = _abstracts(assistant)
    assert abstracts
    for chunk in abstracts:
        aid = chunk.arxiv_id
        for question in (
            f"What does {aid} propose?",
            f"What does arXiv:{aid}v1 propose?",
            f"arxiv: {aid}v3 的主要贡献是什么？",
        ):
            hits = assistant.retrieve(question, k=5)
            assert hits[0].chunk.arxiv_id == aid, question
            assert hits[0].retrievers.get("lookup") == 1


def test_lookup_by_section_number_ranks_the_section_first(assistant):
    numbers = _numbered(assistant)
    assert len(numbers) >= 3
    for number in numbers:
        for question in (f"§{number} 讲了什么？", f"What does section {number} say?"):
            hits = assistant.retrieve(question, k=5, mode="bm25")
            assert hits[0].chunk.section == number, question
    deep = [n for n in numbers if n.count(".") >= 2]
    for number in deep:  # a bare three-part number is read as a section, too
        assert assistant.retrieve(f"{number} 的核心挑战？", k=3)[0].chunk.section == number


def test_a_question_about_a_table_looks_up_the_table_its_words_match(tmp_path):
    """Three chapters, each with a comparison table and prose about the same measure: a
    question about "the table" gets the table whose words it uses first (in hybrid and
    BM25 modes, not dense), one not about a table gets no table lookup."""
    corpus = tmp_path / "survey"
    columns = {"driving": "碰撞率", "surgery": "交互一致性分数 ICS", "weather": "预报时效"}
    for name, column in columns.items():
        (corpus / name).mkdir(parents=True)
        rows = "\n".join(f"| {name.title()}Model-{i} | {i} | {10 * i} |" for i in range(1, 4))
        (corpus / name / "chapter.md").write_text(
            f"# {name}\n\n## 1.1 指标\n\n{column}是本章的核心指标，越高越好。\n\n"
            f"## 1.2 代表性模型对比\n\n| 模型 | 参数量 (B) | {column} |\n|---|---|---|\n{rows}\n",
            encoding="utf-8",
        )
    a = Assistant(corpus_dir=corpus, index_dir=tmp_path / "idx", embedder="hash")
    a.build_index(progress=False)
    retriever = a.retriever
    assert len(retriever._tables) == 3
    for name, column in columns.items():
        question = f"对比表里{column}最高的是哪个模型？"
        (table,) = retriever.table_lookup(question)
        assert table.source == f"{name}/chapter.md" and "|---|" in table.text
        for mode in ("hybrid", "bm25"):
            first = a.retrieve(question, k=3, mode=mode)[0]
            assert first.chunk.id == table.id and "lookup" in first.retrievers
        assert "lookup" not in a.retrieve(question, k=3, mode="dense")[0].retrievers
        assert retriever.table_lookup(f"{column}是什么意思？") == []


def test_a_section_number_two_chapters_share_looks_up_both(tmp_path):
    corpus = tmp_path / "survey"
    for chapter, topic in (
        ("agents", "语言智能体的状态预测"),
        ("materials", "分子动力学的潜空间模拟"),
    ):
        (corpus / chapter).mkdir(parents=True)
        (corpus / chapter / "chapter.md").write_text(
            f"# 11 {chapter}\n\n## 11.2 概述\n\n引言。\n\n### 11.2.1 {topic}\n\n{topic}的细节。\n",
            encoding="utf-8",
        )
    a = Assistant(corpus_dir=corpus, index_dir=tmp_path / "idx", embedder="hash")
    a.build_index(progress=False)
    found = a.retriever.lookups("§11.2.1 讲了什么？")
    assert sorted(c.source for c in found) == ["agents/chapter.md", "materials/chapter.md"]
    hits = a.retrieve("§11.2.1 讲了什么？", k=5, mode="bm25")
    assert {h.chunk.section_id for h in hits[:2]} == {
        "agents/chapter.md#11.2.1",
        "materials/chapter.md#11.2.1",
    }


def test_a_question_about_a_link_looks_up_the_paper_its_anchor_points_to(assistant):
    import re

    links = [
        (anchor, match)
        for chunk in assistant.index.chunks
        if chunk.kind == "section"
        for anchor, match in re.findall(
            r"\[([^\]]{3,})\]\(https://arxiv.org/abs/([\d.]+)\)", chunk.text
        )
    ]
    assert links
    for anchor, arxiv_id in links:
        question = f"正文中锚文本为“{anchor}”的链接指向哪篇论文？"
        assert arxiv_id in [c.arxiv_id for c in assistant.retriever.lookups(question)], anchor
        english = f"Which paper does the link '{anchor}' point to?"
        assert arxiv_id in [c.arxiv_id for c in assistant.retriever.lookups(english)], anchor
        # naming the anchor without asking about a link is no lookup
        assert assistant.retriever.lookups(f"{anchor} 提出了什么？") == []


def test_unknown_ids_and_figures_are_not_lookups(assistant):
    assert assistant.retriever.lookups("2999.99999 与 3.14 分") == []


def test_dedup_keeps_other_sections_in_top_k(assistant):
    per_section = Counter(c.section_id for c in assistant.index.chunks if c.kind == "section")
    multi = [sid for sid, n in per_section.items() if n > 1]
    assert multi, "the bundled corpus has a section split into several chunks"
    chunk = next(c for c in assistant.index.chunks if c.section_id == multi[0])
    hits = assistant.retrieve(chunk.text[:200], k=5)
    groups = [h.chunk.section_id or h.chunk.arxiv_id for h in hits]
    assert len(hits) == 5 and len(set(groups)) == 5
    assert groups[0] == chunk.section_id


def test_diversify_puts_repeats_after_all_distinct_groups(assistant):
    chunks = [c for c in assistant.index.chunks if c.kind == "section"]
    sid = Counter(c.section_id for c in chunks).most_common(1)[0][0]
    same = [c for c in chunks if c.section_id == sid]
    other = next(c for c in chunks if c.section_id != sid)

    hits = [Hit(chunk=c, score=1.0) for c in same] + [Hit(chunk=other, score=0.5)]
    out = diversify(hits, 2)
    assert [h.chunk.section_id for h in out] == [sid, other.section_id]


def test_hits_record_which_retriever_found_them_and_at_which_rank(assistant):
    hits = assistant.retrieve("哪些工作把3D几何理解引入世界模型？", k=8, mode="hybrid")
    assert [h.rank for h in hits] == list(range(1, 9))
    assert all(h.retrievers for h in hits)
    assert all(set(h.retrievers) <= {"dense", "bm25"} for h in hits)
    assert any(len(h.retrievers) == 2 for h in hits)
    dense = sorted(
        (h for h in hits if "dense" in h.retrievers), key=lambda h: h.retrievers["dense"]
    )
    scores = [h.retriever_scores["dense"] for h in dense]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(r, int) and r >= 1 for h in hits for r in h.retrievers.values())


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_returns_hits_from_its_own_retrievers(assistant, mode):
    hits = assistant.retrieve("世界模型 world models 视频生成", 5, mode)
    assert len(hits) == 5
    expected = {"dense": {"dense"}, "bm25": {"bm25"}, "hybrid": {"dense", "bm25"}}[mode]
    found = set().union(*(h.retrievers for h in hits))
    assert found and found <= expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "sparse"}, "unknown retrieval mode"),
        ({"k": 0}, "k must be"),
        ({"k": 101}, "k must be"),
        ({"k": "3"}, "k must be"),
        ({"k": True}, "k must be"),
    ],
)
def test_invalid_mode_or_k_raise_invalid_input(assistant, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        assistant.retrieve("世界模型", **kwargs)


def test_dense_candidates_cover_both_kinds_for_english_questions(assistant):
    """Neither kind crowds the other out of the candidates."""
    retriever = assistant.retriever
    dense = KindDenseRetriever(retriever._vector_indexes, retriever._stats, top_k=3)
    bundle = QueryBundle(query_str="Which resource is scarce?")
    bundle.embedding = assistant.embedder.embed_query(bundle.query_str).tolist()
    kinds = Counter(n.node.metadata["kind"] for n in dense.retrieve(bundle))
    assert kinds["section"] == 3 and kinds["abstract"] == 3


def test_the_kinds_are_asked_at_once_and_answer_in_kind_order(assistant):
    """Both kinds' Chroma queries are in flight together (each store waits at a barrier
    that only opens when the other kind's query has started), and the answer keeps the
    kinds' order whichever returns first."""
    retriever = assistant.retriever
    dense = KindDenseRetriever(retriever._vector_indexes, retriever._stats, top_k=3)
    embedding = assistant.embedder.embed_query("Which resource is scarce?").tolist()
    expected = dense.search("q", embedding)
    barrier = threading.Barrier(len(dense._stores), timeout=10)
    asked: list[str] = []
    for kind, store in dense._stores.items():
        nearest = store.nearest

        def waiting(query, n, nearest=nearest, kind=kind):
            asked.append(kind)
            barrier.wait()
            if kind == asked[0]:
                time.sleep(0.2)  # the first kind answers last
            return nearest(query, n)

        object.__setattr__(store, "nearest", waiting)
    try:
        got = dense.search("q", embedding)
    finally:
        for store in dense._stores.values():
            object.__delattr__(store, "nearest")
    assert sorted(asked) == sorted(dense._stores) and len(asked) == 2
    assert [(c.id, round(z, 9)) for c, z in got] == [(c.id, round(z, 9)) for c, z in expected]


def test_each_kind_gets_its_exact_nearest_chunks_from_its_own_collection(assistant):
    """Per-kind collections stand in for Chroma's (slow) metadata-filtered query: each
    kind's candidates are its nearest chunks by cosine, with their cosines."""
    index = assistant.index
    retriever = assistant.retriever
    dense = KindDenseRetriever(retriever._vector_indexes, retriever._stats, top_k=4)
    for question in ("Which resource is scarce?", "世界模型的主要挑战有哪些？", "VJEPA"):
        query = assistant.embedder.embed_query(question)
        bundle = QueryBundle(query_str=question, embedding=query.tolist())
        found = dense.retrieve(bundle)
        for kind, collection in index.collections.items():
            chunks = [c for c in index.chunks if c.kind == kind]
            stored = collection.get(ids=[c.content_hash for c in chunks], include=["embeddings"])
            vectors = dict(zip(stored["ids"], stored["embeddings"], strict=True))
            matrix = np.array([vectors[c.content_hash] for c in chunks], dtype=np.float64)
            cosines = matrix @ query / np.linalg.norm(matrix, axis=1) / np.linalg.norm(query)
            expected = [chunks[i].id for i in np.argsort(-cosines)[:4]]
            got = [n.node.node_id for n in found if n.node.metadata["kind"] == kind]
            assert got == expected, (question, kind)
            z = retriever._stats[kind].standardize(
                query / np.linalg.norm(query), np.sort(cosines)[::-1][:4]
            )
            scores = [n.score for n in found if n.node.metadata["kind"] == kind]
            np.testing.assert_allclose(scores, z, atol=1e-4)


def test_kind_stats_standardize_matches_a_brute_force_z_score(assistant):
    index = assistant.index
    stats = embedding_stats(index.collections, {k: index.hashes(k) for k in index.collections})
    assert set(stats) == {"section", "abstract"}
    vectors = {}
    for collection in index.collections.values():
        got = collection.get(include=["embeddings"])
        for i, v in zip(got["ids"], got["embeddings"], strict=True):
            vectors[i] = np.asarray(v, dtype=np.float64)
    query = assistant.embedder.embed_query("长程一致性").astype(np.float64)
    query /= np.linalg.norm(query)
    for kind, st in stats.items():
        ids = index.hashes(kind)
        matrix = np.stack([vectors[i] / np.linalg.norm(vectors[i]) for i in ids])
        cosines = matrix @ query
        expected = (cosines - cosines.mean()) / cosines.std()
        assert st.count == len(ids)
        np.testing.assert_allclose(st.standardize(query, cosines), expected, atol=1e-6)


def test_calibration_lifts_chinese_sections_for_english_questions(assistant, built_index):
    """The known trap: raw cosine puts English abstracts above Chinese sections."""
    from assistant.settings import PROJECT_ROOT

    questions = [
        q
        for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")
        if q.language == "en" and q.kind == "section" and q.answerable
    ]
    report = RetrievalEvaluator(questions, modes=["dense", "hybrid"], warmup=0)(assistant)
    raw = 0
    collections = assistant.index.collections
    for q in questions:
        query = [assistant.embedder.embed_query(q.question).tolist()]
        nearest = {
            kind: collection.query(query_embeddings=query, n_results=1)["distances"][0][0]
            for kind, collection in collections.items()
        }
        raw += min(nearest, key=nearest.get) == "section"
    calibrated = sum(r.hit_sections[0].startswith("§") for r in report.for_mode("dense"))
    assert calibrated > raw
    assert report.summary("hybrid")["hit@5"] >= report.summary("dense")["hit@5"] - 0.05


def test_unnumbered_chinese_sections_are_retrievable_by_id(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "intro.md").write_text(
        "# 第一章 绪论\n\n## 一、研究背景\n\n世界模型预测环境的未来状态。\n\n"
        "## 二、主要方法\n\n扩散模型与自回归模型是两条主要路线。\n",
        encoding="utf-8",
    )
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "idx", embedder="hash")
    assistant = Assistant(settings)
    assistant.build_index(progress=False)
    hits = assistant.retrieve("扩散模型和自回归模型", k=3)
    wanted = next(s for s in assistant.load_corpus().sections if s.title == "主要方法")
    assert hits[0].chunk.section == wanted.id == hits[0].chunk.section_id
    assert all(h.chunk.section == h.chunk.section_id for h in hits)
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "q", "question": "扩散模型和自回归模型", "sections": [wanted.id]}) + "\n",
        encoding="utf-8",
    )
    report = RetrievalEvaluator(load_questions(questions), warmup=0)(assistant)
    assert report.summary("hybrid")["hit@1"] == 1.0


def test_kind_stats_of_large_kinds_are_estimated_from_spread_out_pages(assistant, monkeypatch):
    from assistant.search import retrieval

    index = assistant.index
    hashes = {kind: index.hashes(kind) for kind in index.collections}
    counts = {kind: len(found) for kind, found in hashes.items()}
    full = embedding_stats(index.collections, hashes)
    monkeypatch.setattr(retrieval, "_CHROMA_PAGE", 2)
    monkeypatch.setattr(retrieval, "_STATS_SAMPLE", 4)
    sampled = embedding_stats(index.collections, hashes)
    for kind, count in counts.items():
        assert sampled[kind].count == min(count, 4)
        assert full[kind].count == count
        cosine = sampled[kind].mean @ full[kind].mean
        cosine /= np.linalg.norm(sampled[kind].mean) * np.linalg.norm(full[kind].mean)
        assert cosine > 0.95


def test_the_lexicon_lets_english_questions_meet_chinese_sections_in_bm25(built_index, tmp_path):
    """BM25 with and without the CC-CEDICT expansion, on the English section questions."""
    from assistant.settings import PROJECT_ROOT

    questions = [
        q
        for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")
        if q.language == "en" and q.kind == "section" and q.answerable
    ]
    with_lexicon = Assistant(Settings(index_dir=built_index))
    assert with_lexicon.index.lexicon is not None and len(with_lexicon.index.lexicon) > 50
    assert (built_index / "builds" / with_lexicon.manifest().build_id / "lexicon.json").is_file()
    without = Assistant(Settings(index_dir=built_index, cross_lingual_terms=False))
    assert without.index.lexicon is None
    mrr = {}
    for name, assistant in (("with", with_lexicon), ("without", without)):
        report = RetrievalEvaluator(questions, modes=["bm25"], warmup=0)(assistant)
        mrr[name] = report.summary("bm25")["mrr@10"]
    assert mrr["with"] > mrr["without"] + 0.05


def _chunk(cid: str) -> Chunk:
    return Chunk(id=cid, kind="section", text=cid, source="s.md", section_id=cid[0])


def test_calibrated_fusion_weighs_the_evidence_for_a_section_across_its_chunks():
    """Dense finds section A by one chunk, BM25 by another; B is found middling by both.
    Chunk by chunk B wins (each A chunk has one retriever's floor); section by section A
    holds both pieces of evidence and wins."""
    dense = [(_chunk("a1"), 3.0), (_chunk("b1"), 2.0), (_chunk("c1"), 0.0)]
    bm25 = [(_chunk("a2"), 3.0), (_chunk("b1"), 2.0), (_chunk("c1"), 0.0)]
    fusion = Fusion(["dense", "bm25"], group_of=source_key, top_k=10)
    order = [c.chunk.id for c in fusion([dense, bm25])]
    assert order[:2] in (["a1", "a2"], ["a2", "a1"]) and order[2] == "b1"
    flat = Fusion(["dense", "bm25"], top_k=10)
    assert flat([dense, bm25])[0].chunk.id == "b1"


class _NodeLevelFusion(QueryFusionRetriever):
    """The fusion as it was before it moved to chunk ids (a llama-index
    ``QueryFusionRetriever`` over nodes), kept here as the reference it must match."""

    def __init__(self, retrievers, names, weights, fusion, rrf_k, top_k, group_of):
        super().__init__(
            retrievers, llm=MockLLM(), similarity_top_k=top_k, num_queries=1, use_async=False
        )
        self.names, self.weights, self.fusion, self.rrf_k = names, weights, fusion, rrf_k
        self.group_of = group_of

    def _retrieve(self, query_bundle):
        nodes, found = {}, {}
        for (_query, index), items in self._run_sync_queries([query_bundle]).items():
            ordered = sorted(items, key=lambda n: n.score or 0.0, reverse=True)
            for rank, item in enumerate(ordered, 1):
                nodes.setdefault(item.node.node_id, item)
                found.setdefault(item.node.node_id, {})[self.names[index]] = (rank, item.score)
        second = {}
        if self.fusion == "rrf":
            weight = dict(zip(self.names, self.weights, strict=True))
            scores = {
                key: sum(weight[name] / (self.rrf_k + rank) for name, (rank, _s) in by.items())
                for key, by in found.items()
            }
        else:
            floor, parts = {}, {}
            for key, by in found.items():
                kind = nodes[key].node.metadata["kind"]
                for name, (_rank, score) in by.items():
                    floor[(name, kind)] = min(score, floor.get((name, kind), score))
            for key, by in found.items():
                kind = nodes[key].node.metadata["kind"]
                parts[key] = {
                    name: weight * (by[name][1] if name in by else floor.get((name, kind), 0.0))
                    for name, weight in zip(self.names, self.weights, strict=True)
                }
            second = {key: sum(values.values()) for key, values in parts.items()}
            best = {}
            for key, values in parts.items():
                for name, value in values.items():
                    group = (self.group_of(key), name)
                    best[group] = max(value, best.get(group, value))
            scores = {
                key: sum(best[(self.group_of(key), name)] for name in values)
                for key, values in parts.items()
            }
        ranked = sorted(scores, key=lambda key: (scores[key], second.get(key, 0.0)), reverse=True)
        return [(key, scores[key], found[key]) for key in ranked[: self.similarity_top_k]]


@pytest.mark.parametrize("fusion", ["calibrated", "rrf"])
def test_fusion_on_chunk_ids_ranks_as_the_node_level_fusion_did(assistant, fusion):
    """Same candidates, fused scores and provenance as the llama-index node-level fusion it
    replaced, over the bundled chapter's questions in every mode."""
    index, retriever = assistant.index, assistant.retriever
    dense = KindDenseRetriever(retriever._vector_indexes, retriever._stats, top_k=30)
    bm25 = KindBM25Retriever(index.bm25, index.by_id, 30, True, index.lexicon)
    questions = [q.question for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")]
    assert len(questions) >= 20
    compared = 0
    for names, searchers in (
        (["dense"], [dense]),
        (["bm25"], [bm25]),
        (["dense", "bm25"], [dense, bm25]),
    ):
        weights = [1.0] + [retriever.settings.bm25_weight] * (len(names) - 1)
        args = dict(fusion=fusion, rrf_k=60.0, top_k=60)
        old = _NodeLevelFusion(
            searchers, names, weights, group_of=lambda cid: source_key(index.by_id[cid]), **args
        )
        new = Fusion(names, weights, group_of=source_key, **args)
        for question in questions:
            embedding = assistant.embedder.cached_query(question).tolist()
            expected = old._retrieve(QueryBundle(query_str=question, embedding=embedding))
            got = new([s.search(question, embedding) for s in searchers])
            assert len(got) == len(expected)
            for candidate, (cid, score, by) in zip(got, expected, strict=True):
                assert candidate.chunk.id == cid and candidate.score == score
                assert candidate.retrievers == {name: rank for name, (rank, _s) in by.items()}
                assert candidate.retriever_scores == {name: s for name, (_r, s) in by.items()}
            compared += bool(got)
    assert compared > 2.5 * len(questions)


def test_top_k_is_the_head_of_a_stable_sort_of_all_matches():
    """The partition before the sort changes nothing, ties included (few distinct scores)."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        scores = rng.integers(0, 6, size=int(rng.integers(1, 80))).astype(np.float32)
        among = np.flatnonzero(scores > 0)
        k = int(rng.integers(1, 40))
        expected = among[np.argsort(-scores[among], kind="stable")[:k]]
        np.testing.assert_array_equal(top_k(scores, among, k), expected)
