"""Any sentence-transformers model, by hub name (if cached) or local path."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from assistant.errors import EmbedderError
from assistant.indexing.embeddings.base import Embedder


class SentenceTransformersEmbedder(Embedder):
    """A ``SentenceTransformer`` on the CPU, with optional query/passage prefixes.

    Prefixes matter for instruction-tuned models: e5 wants ``query: `` and
    ``passage: ``, bge wants an instruction on queries only.
    """

    def __init__(
        self,
        model: str,
        query_prefix: str = "",
        passage_prefix: str = "",
        normalize: bool = True,
        batch_size: int = 16,
    ) -> None:
        if not model:
            raise EmbedderError(
                "the sentence-transformers backend needs a model: set ASSISTANT_EMBED_MODEL "
                "(or --embed-model) to a model name or a local folder"
            )
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(model, device="cpu")
        except Exception as exc:
            raise EmbedderError(
                f"could not load sentence-transformers model {model!r}: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}. "
                "Model hubs may be unreachable: point ASSISTANT_EMBED_MODEL at a local "
                "folder holding the model, or download it where the network allows"
            ) from exc
        self.id = f"sentence-transformers:{model}"
        model_obj = self._model
        getter = getattr(model_obj, "get_embedding_dimension", None)
        dim = getter() if getter else model_obj.get_sentence_embedding_dimension()
        if not dim:
            raise EmbedderError(f"model {model!r} does not report an embedding dimension")
        self.dim = int(dim)
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._normalize = normalize
        self._batch_size = batch_size
        self._lock = threading.Lock()
        limit = int(self._model.max_seq_length or 512)
        self.max_tokens = max(16, limit - 2 - self.count_tokens(passage_prefix))
        if query_prefix or passage_prefix:
            self.id += f"|q={query_prefix!r}|p={passage_prefix!r}"
        if not normalize:
            self.id += "|raw"

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(
                texts,
                batch_size=self._batch_size,
                normalize_embeddings=self._normalize,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode([self._passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self._query_prefix + text])[0]

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        return len(self._model.tokenizer(text, add_special_tokens=False)["input_ids"])
