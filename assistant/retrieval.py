"""Dense, BM25 and hybrid retrieval over a loaded index, returning :class:`Hit` s.

Built from llama-index parts: a ``VectorIndexRetriever`` over the Chroma collection,
a ``BM25Retriever`` whose scoring is swapped for our tokenizer-aware BM25 sidecar, and
``QueryFusionRetriever`` whose reciprocal-rank fusion is extended to record, for each
hit, which retriever found it at which rank. Exact lookups (an arXiv ID or a section
number in the question) and section de-duplication run around the fusion.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence

import numpy as np
from llama_index.core import VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.retrievers.bm25 import BM25Retriever

from .corpus import ARXIV_MENTION, normalize_arxiv_id
from .embeddings import Embedder
from .errors import InvalidInput
from .lexical import BM25Index
from .models import Chunk, Hit
from .settings import RetrievalMode, Settings
from .store import LoadedIndex

log = logging.getLogger(__name__)

MODES: tuple[RetrievalMode, ...] = ("dense", "bm25", "hybrid")

_SECTION_REF = re.compile(
    r"(?:§\s*|(?:section|sec\.|chapter|ch\.)\s*|第\s*)(?P<num>\d{1,3}(?:\.\d{1,3})*)"
    r"|(?<![\w.])(?P<suffixed>\d{1,3}(?:\.\d{1,3})+)\s*(?:节|章|小节)"
    r"|(?<![\w.])(?P<dotted>\d{1,3}(?:\.\d{1,3}){2,3})(?![\w.%])",
    re.IGNORECASE,
)
"""Section numbers in a question: ``§6``, ``section 17.5``, ``17.4 节``, or a bare
``17.4.2``. A bare two-part number (``3.14``) is a figure more often than a section."""


def _node(chunk: Chunk) -> TextNode:
    return TextNode(id_=chunk.id, text=chunk.text, metadata={"kind": chunk.kind})


class SidecarBM25Retriever(BM25Retriever):
    """llama-index's BM25 retriever, scoring with our persisted, tokenizer-aware sidecar."""

    def __init__(
        self, index: BM25Index, chunks: dict[str, Chunk], top_k: int, kind: str | None = None
    ):
        super().__init__(existing_bm25=index.bm25, similarity_top_k=max(1, min(top_k, len(index))))
        self._index = index
        self._chunks = chunks
        self._mask = None
        if kind is not None:
            self._mask = np.array(
                [1 if chunks[i].kind == kind else 0 for i in index.ids], dtype=np.float32
            )

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        found = self._index.search(query_bundle.query_str, self.similarity_top_k, self._mask)
        return [NodeWithScore(node=_node(self._chunks[cid]), score=score) for cid, score in found]


class ProvenanceFusionRetriever(QueryFusionRetriever):
    """Reciprocal-rank fusion that keeps each retriever's rank for every fused hit.

    ``names[i]`` labels retriever ``i``; ``weights[i]`` scales its RRF contribution.
    """

    def __init__(
        self,
        retrievers: list[BaseRetriever],
        names: Sequence[str],
        weights: Sequence[float] | None = None,
        rrf_k: float = 60.0,
        top_k: int = 30,
    ) -> None:
        super().__init__(
            retrievers,
            llm=MockLLM(),
            mode="reciprocal_rerank",
            similarity_top_k=top_k,
            num_queries=1,
            use_async=False,
        )
        self.names = list(names)
        self.weights = list(weights or [1.0] * len(retrievers))
        self.rrf_k = rrf_k
        self.provenance: dict[str, dict[str, int]] = {}
        self.raw_scores: dict[str, dict[str, float]] = {}

    def _reciprocal_rerank_fusion(self, results: dict) -> list[NodeWithScore]:
        fused: dict[str, float] = {}
        best: dict[str, NodeWithScore] = {}
        provenance: dict[str, dict[str, int]] = {}
        raw: dict[str, dict[str, float]] = {}
        for (_query, index), found in results.items():
            name = self.names[index]
            ordered = sorted(found, key=lambda n: n.score or 0.0, reverse=True)
            for rank, item in enumerate(ordered, 1):
                key = item.node.node_id
                best.setdefault(key, item)
                fused[key] = fused.get(key, 0.0) + self.weights[index] / (self.rrf_k + rank)
                provenance.setdefault(key, {})[name] = rank
                raw.setdefault(key, {})[name] = float(item.score or 0.0)
        self.provenance, self.raw_scores = provenance, raw
        ranked = sorted(fused, key=lambda key: fused[key], reverse=True)
        return [NodeWithScore(node=best[key].node, score=fused[key]) for key in ranked]


class Retriever:
    """Answers ``retrieve(question, k, mode)`` over one :class:`LoadedIndex`."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: Settings):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._vector_index = VectorStoreIndex.from_vector_store(
            index.vector_store(), embed_model=embedder.as_llama_index()
        )
        self._by_section: dict[str, list[Chunk]] = {}
        self._by_arxiv: dict[str, Chunk] = {}
        for chunk in index.chunks:
            if chunk.kind == "section" and chunk.section:
                self._by_section.setdefault(chunk.section, []).append(chunk)
            elif chunk.kind == "abstract" and chunk.arxiv_id:
                self._by_arxiv[chunk.arxiv_id] = chunk
        self._reranker = None
        if settings.rerank_model:
            from .rerank import CrossEncoderReranker

            self._reranker = CrossEncoderReranker(settings.rerank_model)

    # -- building blocks --------------------------------------------------------------------

    def _dense(self, top_k: int) -> BaseRetriever:
        return self._vector_index.as_retriever(similarity_top_k=top_k)

    def _bm25(self, top_k: int) -> BaseRetriever:
        return SidecarBM25Retriever(self.index.bm25, self.index.by_id, top_k)

    def lookups(self, question: str) -> list[Chunk]:
        """Chunks named in the question: abstracts by arXiv ID, sections by number."""
        found: list[Chunk] = []
        for match in ARXIV_MENTION.finditer(question):
            arxiv_id = normalize_arxiv_id(match.group("id"))
            if arxiv_id and arxiv_id in self._by_arxiv:
                found.append(self._by_arxiv[arxiv_id])
        for match in _SECTION_REF.finditer(question):
            number = match.group("num") or match.group("suffixed") or match.group("dotted")
            found.extend(self._by_section.get(number, [])[:1])
        return list(dict.fromkeys(found))

    # -- public --------------------------------------------------------------------------------

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        mode: RetrievalMode | None = None,
        timings: dict[str, float] | None = None,
    ) -> list[Hit]:
        """Top ``k`` hits for ``question``; at most one chunk per section until every
        distinct section/paper among the candidates has had its turn."""
        k = self.settings.top_k if k is None else k
        mode = mode or self.settings.retrieval_mode
        if mode not in MODES:
            raise InvalidInput(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        if not isinstance(k, int) or k < 1 or k > 100:
            raise InvalidInput(f"k must be an integer from 1 to 100, got {k!r}")
        timings = timings if timings is not None else {}
        candidates = max(self.settings.candidate_k, k)

        bundle = QueryBundle(query_str=question)
        if mode in ("dense", "hybrid"):
            t0 = time.perf_counter()
            bundle.embedding = self.embedder.embed_query(question).tolist()
            timings["embed_ms"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        retrievers: list[BaseRetriever] = []
        names: list[str] = []
        if mode in ("dense", "hybrid"):
            retrievers.append(self._dense(candidates))
            names.append("dense")
        if mode in ("bm25", "hybrid"):
            retrievers.append(self._bm25(candidates))
            names.append("bm25")
        fusion = ProvenanceFusionRetriever(
            retrievers, names, rrf_k=self.settings.rrf_k, top_k=candidates * 2
        )
        fused = fusion.retrieve(bundle)
        timings["search_ms"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        hits: list[Hit] = []
        for item in fused:
            chunk = self.index.by_id.get(item.node.node_id)
            if chunk is None:
                continue
            hits.append(
                Hit(
                    chunk=chunk,
                    score=float(item.score or 0.0),
                    retrievers=fusion.provenance.get(chunk.id, {}),
                    retriever_scores=fusion.raw_scores.get(chunk.id, {}),
                )
            )
        hits = self._apply_lookups(question, hits)
        if self._reranker is not None:
            hits = self._reranker.rerank(question, hits)
        hits = diversify(hits, k)
        for rank, hit in enumerate(hits, 1):
            hit.rank = rank
        timings["fusion_ms"] = (time.perf_counter() - t0) * 1000
        return hits

    def _apply_lookups(self, question: str, hits: list[Hit]) -> list[Hit]:
        named = self.lookups(question)
        if not named:
            return hits
        top = hits[0].score if hits else 1.0
        by_id = {h.chunk.id: h for h in hits}
        front: list[Hit] = []
        for rank, chunk in enumerate(named, 1):
            hit = by_id.pop(chunk.id, None) or Hit(chunk=chunk, score=0.0)
            hit.score = top + 1.0 / rank
            hit.retrievers = {**hit.retrievers, "lookup": rank}
            front.append(hit)
        return front + [h for h in hits if h.chunk.id in by_id]


def diversify(hits: list[Hit], k: int) -> list[Hit]:
    """First the best chunk of each section or paper, in order; then the rest."""
    seen: set[str] = set()
    first: list[Hit] = []
    rest: list[Hit] = []
    for hit in hits:
        group = hit.chunk.arxiv_id if hit.chunk.kind == "abstract" else hit.chunk.section_id
        key = f"{hit.chunk.kind}:{group}"
        (rest if key in seen else first).append(hit)
        seen.add(key)
    return (first + rest)[:k]
