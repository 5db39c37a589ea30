"""BM25 sidecar: built from token ids, it scores exactly as bm25s over the tokens."""

from __future__ import annotations

import bm25s
import pytest

from assistant.evaluation.synthetic import generate_corpus, synthetic_queries
from assistant.indexing.lexical import BM25Index
from assistant.text import tokenize


def test_token_id_build_scores_like_bm25s_over_tokens(tmp_path):
    corpus = generate_corpus(tmp_path / "c", sections=60, seed=3)
    texts = [p.read_text(encoding="utf-8") for p in sorted(corpus.root.glob("*.md"))]
    texts = [para for text in texts for para in text.split("\n\n") if para.strip()]
    texts.append("。。。")  # a document without tokens
    ids = [f"d{i}" for i in range(len(texts))]
    ours = BM25Index.build(ids, texts)
    reference = bm25s.BM25()
    reference.index([tokenize(t) or [""] for t in texts], show_progress=False)
    theirs = BM25Index(reference, ids)
    compared = 0
    for question in [*synthetic_queries(20, seed=3), *corpus.queries[:20]]:
        a, b = ours.search(question, 10), theirs.search(question, 10)
        assert sorted(round(s, 5) for _, s in a) == sorted(round(s, 5) for _, s in b)
        assert {d for d, _ in a} == {d for d, _ in b} or len({round(s, 5) for _, s in a}) < len(a)
        compared += bool(a)
    assert compared >= 20


def test_saved_index_loads_and_answers(tmp_path):
    index = BM25Index.build(["a", "b"], ["世界模型 视频生成", "reinforcement learning"])
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.search("视频生成", 2)[0][0] == "a"
    assert loaded.search("learning", 2)[0][0] == "b"


def test_texts_may_stream_from_a_generator():
    texts = ["世界模型 视频生成", "reinforcement learning"]
    index = BM25Index.build(["a", "b"], (t for t in texts))
    assert index.search("learning", 2)[0][0] == "b"
    with pytest.raises(ValueError, match="2 ids for 1 texts"):
        BM25Index.build(["a", "b"], (t for t in texts[:1]))
