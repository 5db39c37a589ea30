"""Chroma as the index uses it: one collection per chunk kind, one row per content hash.

Why one collection per kind: retrieval wants each kind's nearest chunks (sections and
abstracts are calibrated apart, see :mod:`assistant.search.retrieval`), and a Chroma
query with a metadata filter (``where={"kind": ...}``) costs far more than an unfiltered
one (at 10,000 chunks, 2 kinds: 80 ms p50 filtered against 2.2 ms for two unfiltered
queries to per-kind collections, on this 2-core machine; docs/performance.md).

Why rows are keyed by content hash (the hash of the text that is embedded) rather than
by chunk id: a row is then a pure function of its id, so a build can add the rows it
needs to the live collections without disturbing the build that is serving (which
never asks for rows it does not know), and unchanged text is never written again.
Queries take the chunks of each hash from the loaded build (:class:`ChunkVectorStore`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQueryResult
from llama_index.vector_stores.chroma import ChromaVectorStore

from assistant.errors import AssistantError, IndexCorrupt, rebuild_hint
from assistant.invocation import command
from assistant.models import Chunk
from assistant.settings import Settings

log = logging.getLogger(__name__)

_MAX_ASK = 4096
"""Neighbours asked for at most when dropping rows the loaded build does not use."""


def chroma_client(settings: Settings) -> chromadb.ClientAPI:
    """A persistent client under ``index_dir/chroma``, or an HTTP client for ``chroma_url``."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(
            settings.chroma_url if "//" in settings.chroma_url else f"http://{settings.chroma_url}"
        )
        host, ssl = url.hostname or "127.0.0.1", url.scheme == "https"
        port = url.port or (443 if ssl else 8000)
        try:
            client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=chroma_settings)
            client.heartbeat()
        except Exception as exc:
            raise AssistantError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}); "
                f"start one with `{command('chroma-server --path DIR')}` "
                "or unset ASSISTANT_CHROMA_URL to use the local index"
            ) from exc
        return client
    path = Path(settings.index_dir) / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise IndexCorrupt(
            f"cannot open the Chroma store at {path}: {exc}; {rebuild_hint()}"
        ) from exc


def collection_names(client: chromadb.ClientAPI) -> list[str]:
    return [c if isinstance(c, str) else c.name for c in client.list_collections()]


class ChunkVectorStore(ChromaVectorStore):
    """llama-index's Chroma store over one kind's collection of content-hash rows.

    Chroma finds the nearest hashes and their distances; the nodes are the loaded
    build's chunks with those hashes (so Chroma stores no text, and a query reads none
    back). Rows the loaded build does not use (added by a newer build, or kept for the
    previous build's readers) are dropped: the query asks for ``slack`` more neighbours
    than wanted, and for twice as many again in the rare case that was not enough.
    Similarities are cosines (``1 - distance``).
    """

    _chunks: dict[str, list[Chunk]] = PrivateAttr()
    _slack: int = PrivateAttr()

    def __init__(
        self, collection: chromadb.Collection, chunks: dict[str, list[Chunk]], slack: int = 0
    ) -> None:
        super().__init__(chroma_collection=collection)
        self._chunks = chunks
        self._slack = slack

    def _query(
        self, query_embeddings: list[float], n_results: int, where: dict, **kwargs: object
    ) -> VectorStoreQueryResult:
        if where or kwargs:
            raise ValueError(
                "the index keeps one Chroma collection per chunk kind without metadata: "
                "query the kind's own store instead of filtering"
            )
        found = self.nearest(query_embeddings, n_results)
        nodes = [to_node(chunk) for chunk, _cosine in found]
        return VectorStoreQueryResult(
            nodes=nodes,
            similarities=[cosine for _chunk, cosine in found],
            ids=[n.node_id for n in nodes],
        )

    def nearest(self, query_embedding: list[float], n_results: int) -> list[tuple[Chunk, float]]:
        """The ``n_results`` nearest chunks with their cosines, as the loaded build's own
        :class:`Chunk` s (no node per chunk: retrieval fuses on these, docs/performance.md)."""
        chunks, collection = self._chunks, self._collection  # private attributes: slow reads
        wanted = min(n_results, len(chunks))
        ask = wanted + self._slack
        while True:
            found = collection.query(
                query_embeddings=query_embedding, n_results=max(ask, 1), include=["distances"]
            )
            ids, distances = found["ids"][0], found["distances"][0]
            known = [(h, d) for h, d in zip(ids, distances, strict=True) if h in chunks]
            if len(known) >= wanted or len(ids) < ask or ask >= _MAX_ASK:
                break
            ask = min(2 * ask, _MAX_ASK)
        out = [
            (chunk, 1.0 - float(distance))
            for content_hash, distance in known
            for chunk in chunks[content_hash]
        ]
        return out[:n_results]


def to_node(chunk: Chunk) -> TextNode:
    """A llama-index node carrying our chunk's text and flat metadata."""
    metadata = {
        "chunk_id": chunk.id,
        "kind": chunk.kind,
        "section": chunk.section or "",
        "section_title": chunk.section_title or "",
        "source": chunk.source,
        "arxiv_id": chunk.arxiv_id or "",
        "arxiv_ids": ",".join(chunk.arxiv_ids),
        "content_hash": chunk.content_hash,
        "position": chunk.position,
    }
    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata=metadata,
        excluded_embed_metadata_keys=list(metadata),
        excluded_llm_metadata_keys=list(metadata),
    )


def by_hash(chunks: Sequence[Chunk]) -> dict[str, list[Chunk]]:
    """Content hash → the chunks with it, in order (equal texts share one vector row)."""
    found: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        found.setdefault(chunk.content_hash, []).append(chunk)
    return found
