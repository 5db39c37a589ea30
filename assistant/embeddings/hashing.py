"""A fast, deterministic stand-in embedder (hashed character n-grams).

It has no semantic knowledge; it exists so that tests and the benchmark can measure
store and fusion cost at 100k chunks in minutes. Reports mark it as a stand-in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from .base import Embedder


class HashEmbedder(Embedder):
    """Character 1–3-gram feature hashing into ``dim`` buckets, L2-normalised."""

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.id = f"hash:{dim}"
        self.max_tokens = 512

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        chars = text.lower()
        for n in (1, 2, 3):
            for i in range(max(0, len(chars) - n + 1)):
                digest = hashlib.blake2b(chars[i : i + n].encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                vec[value % self.dim] += 1.0 if (value >> 32) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)
