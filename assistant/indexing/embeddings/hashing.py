"""A fast, deterministic stand-in embedder (hashed character n-grams).

It has no semantic knowledge; it exists so that tests and the benchmark can measure
store and fusion cost at 100k chunks in minutes. Reports mark it as a stand-in.
The n-gram hashing is vectorised with numpy (a rolling polynomial over code points,
then a splitmix64 finaliser), about 30× faster than hashing each n-gram in Python,
so at 100k chunks the stand-in costs seconds rather than minutes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.indexing.embeddings.base import Embedder

_MULT = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_ORDER_SALT = (np.uint64(0), np.uint64(0x1F3D5B79), np.uint64(0x2A4B6C8D), np.uint64(0x3C5E7F91))


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads n-gram keys uniformly over 64 bits."""
    z = values
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


class HashEmbedder(Embedder):
    """Character 1–3-gram feature hashing into ``dim`` buckets with ±1 signs, L2-normalised."""

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.id = f"hash:v2:{dim}"
        self.max_tokens = 512

    def _vector(self, text: str) -> np.ndarray:
        codes = np.frombuffer(text.lower().encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        buckets: list[np.ndarray] = []
        signs: list[np.ndarray] = []
        with np.errstate(over="ignore"):
            key = np.zeros(0, dtype=np.uint64)
            for n in (1, 2, 3):
                if len(codes) < n:
                    break
                key = codes[n - 1 :].copy() if n == 1 else key[:-1] * _MULT + codes[n - 1 :]
                hashed = _mix(key + _ORDER_SALT[n])
                buckets.append((hashed % np.uint64(self.dim)).astype(np.int64))
                signs.append(np.where((hashed >> np.uint64(32)) & np.uint64(1), 1.0, -1.0))
        if not buckets:
            return np.zeros(self.dim, dtype=np.float32)
        vec = np.bincount(
            np.concatenate(buckets), weights=np.concatenate(signs), minlength=self.dim
        ).astype(np.float32)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)
