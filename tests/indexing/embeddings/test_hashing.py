"""The hash stand-in embedder."""

from __future__ import annotations

import numpy as np

from assistant.indexing.embeddings.hashing import HashEmbedder


def test_vectors_are_deterministic_and_normalised():
    a, b = HashEmbedder(), HashEmbedder()
    texts = ["世界模型 视频生成", "World models for driving", "x"]
    first, second = a.embed_documents(texts), b.embed_documents(texts)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-6)
    assert first.shape == (3, 384) and first.dtype == np.float32


def test_shared_ngrams_make_texts_closer():
    e = HashEmbedder()
    query = e.embed_query("世界模型的安全问题")
    near = e.embed_query("世界模型中的安全与伦理问题")
    far = e.embed_query("reinforcement learning benchmark")
    assert float(query @ near) > float(query @ far) + 0.3


def test_empty_text_and_empty_batch():
    e = HashEmbedder(dim=16)
    assert not e.embed_query("").any()
    assert e.embed_documents([]).shape == (0, 16)
    assert e.id == "hash:v2:16"
