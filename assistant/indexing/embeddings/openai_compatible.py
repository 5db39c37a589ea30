"""Any OpenAI-compatible embeddings endpoint: text-embeddings-inference, vLLM, Ollama, cloud APIs.

The HTTP client, request format and retries are llama-index's ``OpenAILikeEmbedding``;
this module adds what indexing a large corpus needs: batches sent concurrently from a
thread pool (``embed_concurrency`` requests in flight, ``embed_batch_size`` texts
each), the dimension discovered by one probe request at start-up, optional
query/passage prefixes, and one clear :class:`EmbedderError` naming the URL and
model when the endpoint fails, never a silent fallback to another embedder.

Threads rather than asyncio: the sync OpenAI client is thread-safe and shares one
connection pool, and a thread pool also works when the caller already runs an event
loop (the chat UI), where ``asyncio.run`` would fail.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import numpy as np

from assistant.errors import EmbedderError
from assistant.indexing.embeddings.base import Embedder
from assistant.settings import Settings

log = logging.getLogger(__name__)

_PROBE_TEXT = "dimension probe"


class OpenAICompatibleEmbedder(Embedder):
    """Embeddings from ``POST {base_url}/embeddings``, batched and concurrent."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        batch_size: int = 16,
        concurrency: int = 4,
        query_prefix: str = "",
        passage_prefix: str = "",
        normalize: bool = True,
        timeout: float = 60.0,
        max_retries: int = 3,
    ) -> None:
        if not base_url:
            raise EmbedderError(
                "the openai-compatible embedder needs an endpoint: set ASSISTANT_EMBED_BASE_URL "
                "(e.g. http://127.0.0.1:8080/v1)"
            )
        if not model:
            raise EmbedderError(
                "the openai-compatible embedder needs a model name: set ASSISTANT_EMBED_MODEL"
            )
        from llama_index.embeddings.openai_like import OpenAILikeEmbedding

        self.base_url = base_url.rstrip("/")
        self.model = model
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._normalize = normalize

        def client(retries: int) -> OpenAILikeEmbedding:
            return OpenAILikeEmbedding(
                model_name=model,
                api_base=self.base_url,
                api_key=api_key or "not-needed",
                embed_batch_size=batch_size,
                max_retries=retries,
                timeout=timeout,
            )

        self._client = client(max_retries)
        host = urlparse(self.base_url).netloc or self.base_url
        self.id = f"openai-compatible:{model}@{host}"
        if query_prefix or passage_prefix:
            self.id += f"|q={query_prefix!r}|p={passage_prefix!r}"
        if not normalize:
            self.id += "|raw"
        # One request without retries: an endpoint that is down fails at start-up, fast.
        probe = self._request(client(0), [_PROBE_TEXT])
        self.dim = int(probe.shape[1])
        if self.dim < 1:
            raise EmbedderError(f"{self._where()} returned an empty embedding")

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAICompatibleEmbedder:
        return cls(
            base_url=settings.embed_base_url or "",
            model=settings.embed_model or "",
            api_key=os.environ.get(settings.embed_api_key_env),
            batch_size=settings.embed_batch_size,
            concurrency=settings.embed_concurrency,
            query_prefix=settings.embed_query_prefix,
            passage_prefix=settings.embed_passage_prefix,
            normalize=settings.embed_normalize,
        )

    def _where(self) -> str:
        return f"embeddings endpoint {self.base_url} (model {self.model})"

    def _request(self, client, texts: list[str]) -> np.ndarray:
        try:
            vectors = client.get_text_embedding_batch(texts)
        except Exception as exc:
            detail = str(exc).splitlines()[0] if str(exc) else ""
            raise EmbedderError(
                f"{self._where()} failed: {type(exc).__name__}: {detail}; check that the server "
                "is running, ASSISTANT_EMBED_BASE_URL ends in /v1, the model name and the API key"
            ) from exc
        array = np.asarray(vectors, dtype=np.float32)
        if array.ndim != 2 or array.shape[0] != len(texts):
            raise EmbedderError(
                f"{self._where()} returned {array.shape[0] if array.ndim else 0} vectors "
                f"for {len(texts)} texts"
            )
        if self._normalize:
            norms = np.linalg.norm(array, axis=1, keepdims=True)
            array = array / np.where(norms > 0, norms, 1.0)
        return array

    def _embed(self, texts: list[str]) -> np.ndarray:
        batches = [texts[i : i + self._batch_size] for i in range(0, len(texts), self._batch_size)]
        if len(batches) == 1 or self._concurrency == 1:
            parts = [self._request(self._client, batch) for batch in batches]
        else:
            workers = min(self._concurrency, len(batches))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(lambda batch: self._request(self._client, batch), batches))
        out = np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)
        if out.shape[1] != self.dim:
            raise EmbedderError(
                f"{self._where()} returned dimension {out.shape[1]}, expected {self.dim}"
            )
        return out

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._embed([self._passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([self._query_prefix + text])[0]

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "base_url": self.base_url,
            "batch_size": self._batch_size,
            "concurrency": self._concurrency,
        }
