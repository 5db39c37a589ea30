"""Dense, BM25 and hybrid retrieval over a loaded index, returning :class:`Hit` s.

Why scores are calibrated per chunk kind: questions come in Chinese or English, the
survey sections are Chinese and the abstracts English. A multilingual embedder gives
every same-language pair a higher cosine, so English questions rank all abstracts
above the Chinese sections that answer them; BM25 sees English words only in
abstracts. So each retriever searches sections and abstracts as separate candidate
lists (neither can crowd the other out) and reports each score as a z-score against
the *whole* kind for this query, which removes the per-language offset:

- dense: the mean and spread of ``q·d`` over a kind are exact and cheap, ``q·μ`` and
  ``sqrt(qᵀΣq)``, from the kind's embedding mean ``μ`` and covariance ``Σ``, computed
  once per loaded index (:class:`KindStats`);
- BM25: from the full score vector (posting lists of the query terms only).

Hybrid mode (``calibrated`` fusion) scores each section or paper, not each chunk: the
sum of the best dense z-score among its chunks and ``bm25_weight`` times the best BM25
evidence among them, so a section whose table matches the question's words and whose
prose matches its meaning holds both pieces of evidence (a chunk holds one, and loses
to a chunk found middling by both). BM25's evidence for a chunk is its z-score times
the share of the question it contains (IDF-weighted coverage, like Lucene's old
``coord``), so two shared English words in a Chinese section are not inflated by the
standardisation, while a chunk holding most of the question keeps its weight.
``bm25_weight`` is the one weight fitted on questions, across the twelve chapters of
``eval/`` and checked leave-one-chapter-out (``eval --union --fit``, docs/evaluation.md).
Reciprocal-rank fusion stays available (``fusion = "rrf"``); it discards score
magnitudes and so cannot calibrate kinds against each other.

English questions meet the Chinese sections through the CC-CEDICT lexicon: each English
query word becomes a group of itself and its Chinese translations, which BM25 scores as
one term (:meth:`BM25Index.scores`, Pirkola's structured query translation).

Built from llama-index parts: a ``VectorStoreIndex`` per kind over the kind's Chroma
collection (queried through its vector store), a ``BM25Retriever`` whose scoring is
swapped for our tokenizer-aware sidecar, and ``QueryFusionRetriever`` whose fusion records, for each
hit, which retriever found it at which rank. Exact lookups (an arXiv ID or a section
number in the question) and section de-duplication run around the fusion.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import chromadb
import numpy as np
from llama_index.core import VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from llama_index.retrievers.bm25 import BM25Retriever

from assistant.errors import InvalidInput
from assistant.indexing.embeddings import Embedder
from assistant.indexing.lexical import BM25Index, Term
from assistant.indexing.lexicon import Lexicon
from assistant.indexing.store import LoadedIndex
from assistant.ingest.corpus import ARXIV_MENTION, normalize_arxiv_id
from assistant.models import Chunk, Hit
from assistant.settings import FusionMethod, RetrievalMode, Settings
from assistant.text import MD_LINK

log = logging.getLogger(__name__)

MODES: tuple[RetrievalMode, ...] = ("dense", "bm25", "hybrid")

_LINK_ASKED = re.compile(
    r"链接|锚文本|超链接|指向|\b(?:hyper)?links?\b|\blinked\b|\banchor\b|\bpoints? to\b",
    re.IGNORECASE,
)
"""A question about one of the survey's links (``锚文本为 X 的链接指向哪篇论文``)."""
_MIN_ANCHOR = 3
"""Shorter anchors (``[1]``, ``这里``) say nothing about which link is meant."""
_SECTION_REF = re.compile(
    r"(?:§\s*|(?:section|sec\.|chapter|ch\.)\s*|第\s*)(?P<num>\d{1,3}(?:\.\d{1,3})*)"
    r"|(?<![\w.])(?P<suffixed>\d{1,3}(?:\.\d{1,3})+)\s*(?:节|章|小节)"
    r"|(?<![\w.])(?P<dotted>\d{1,3}(?:\.\d{1,3}){2,3})(?![\w.%])",
    re.IGNORECASE,
)
"""Section numbers in a question: ``§6``, ``section 17.5``, ``17.4 节``, or a bare
``17.4.2``. A bare two-part number (``3.14``) is a figure more often than a section."""

_PROVENANCE = "_provenance"
"""Metadata key under which fusion leaves each retriever's (rank, score) on a node."""
_STD_FLOOR = 1e-6
_COSINE_STD_FLOOR = 1e-3
"""Spread below which a kind's cosines count as constant (one chunk, float32 noise)."""
_CHROMA_PAGE = 1000
_STATS_SAMPLE = 20_000
"""Embeddings per kind read to estimate its mean and covariance (all, below this)."""


def _node(chunk: Chunk) -> TextNode:
    return TextNode(id_=chunk.id, text=chunk.text, metadata={"kind": chunk.kind})


# --- dense ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindStats:
    """Mean and covariance of one chunk kind's (unit-length) embeddings.

    For a query ``q`` the cosines to all chunks of the kind have mean ``q·μ`` and
    variance ``qᵀΣq`` exactly, so standardising needs no scan of the collection.
    """

    mean: np.ndarray
    cov: np.ndarray
    count: int

    def standardize(self, query: np.ndarray, cosines: np.ndarray) -> np.ndarray:
        mean = float(query @ self.mean)
        std = math.sqrt(max(float(query @ self.cov @ query), 0.0))
        return (cosines - mean) / max(std, _COSINE_STD_FLOOR)


def embedding_stats(
    collections: dict[str, chromadb.Collection], hashes: dict[str, list[str]]
) -> dict[str, KindStats]:
    """Per-kind :class:`KindStats` from the vectors stored in each kind's collection.

    ``hashes`` lists each kind's content hashes (its rows) in chunk order. Rows are read
    by id a page at a time and only running sums are kept, so memory stays ``O(dim²)``;
    a kind larger than :data:`_STATS_SAMPLE` is estimated from pages spread evenly over
    it, which bounds the load time of very large indexes.
    """
    stats: dict[str, KindStats] = {}
    for kind, ids in hashes.items():
        if kind not in collections:
            continue
        pages = math.ceil(len(ids) / _CHROMA_PAGE)
        read = min(pages, max(1, _STATS_SAMPLE // _CHROMA_PAGE))
        offsets = sorted({int(p * pages / read) * _CHROMA_PAGE for p in range(read)})
        s1, s2, n = 0.0, 0.0, 0
        for offset in offsets:
            page = collections[kind].get(
                ids=ids[offset : offset + _CHROMA_PAGE], include=["embeddings"]
            )
            vectors = np.asarray(page["embeddings"], dtype=np.float64)
            if not len(vectors):
                continue
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            s1, s2, n = s1 + vectors.sum(0), s2 + vectors.T @ vectors, n + len(vectors)
        if n:
            mean = s1 / n
            stats[kind] = KindStats(mean=mean, cov=s2 / n - np.outer(mean, mean), count=n)
    return stats


class KindDenseRetriever(BaseRetriever):
    """The nearest chunks of each kind, from the kind's own collection, scored as
    z-scores within their kind.

    Each kind has its own Chroma collection because a metadata-filtered query costs
    many times an unfiltered one (at 10,000 chunks, 80 ms against 2.2 ms for both
    kinds; docs/performance.md): a query here is one unfiltered HNSW search per kind.
    """

    def __init__(
        self, vector_indexes: dict[str, VectorStoreIndex], stats: dict[str, KindStats], top_k: int
    ):
        super().__init__()
        self._stats = stats
        self._top_k = top_k
        self._stores = {
            kind: index.vector_store for kind, index in vector_indexes.items() if kind in stats
        }

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        """Queries each kind's vector store directly: a ``VectorIndexRetriever`` per kind
        would add its instrumentation, a docstore check (a hash of every node) and a
        second wrapper per node to each query (a third of dense search time at 10,000
        chunks, docs/performance.md)."""
        query = np.asarray(query_bundle.embedding, dtype=np.float64)
        query /= max(float(np.linalg.norm(query)), 1e-12)
        asked = VectorStoreQuery(
            query_embedding=query_bundle.embedding, similarity_top_k=self._top_k
        )
        out: list[NodeWithScore] = []
        for kind, store in self._stores.items():
            found = store.query(asked)
            if not found.nodes:
                continue
            cosines = np.array([s or 0.0 for s in found.similarities or ()])
            z = self._stats[kind].standardize(query, cosines)
            out.extend(
                NodeWithScore(node=n, score=float(s)) for n, s in zip(found.nodes, z, strict=True)
            )
        return out


# --- BM25 -----------------------------------------------------------------------------------


class KindBM25Retriever(BM25Retriever):
    """llama-index's BM25 retriever, scoring with our persisted, tokenizer-aware sidecar.

    Returns the best ``top_k`` chunks of each kind with their z-score within the kind;
    with ``weigh_by_coverage`` each chunk's score is scaled by the share of the question
    it contains (see :meth:`BM25Index.coverages`). With a ``lexicon`` each English
    question word is grouped with its Chinese translations (:meth:`Lexicon.groups`), so
    it meets the Chinese survey text on words too.
    """

    def __init__(
        self,
        index: BM25Index,
        chunks: dict[str, Chunk],
        top_k: int,
        weigh_by_coverage: bool = False,
        lexicon: Lexicon | None = None,
    ):
        super().__init__(existing_bm25=index.bm25, similarity_top_k=max(1, min(top_k, len(index))))
        self._index = index
        self._chunks = chunks
        self._weigh = weigh_by_coverage
        self._lexicon = lexicon
        kinds = [chunks[i].kind for i in index.ids]
        labels = np.array(kinds)
        self._members = {kind: np.flatnonzero(labels == kind) for kind in dict.fromkeys(kinds)}

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        tokens: list[Term] = list(self._index.tokens(query_bundle.query_str))
        if self._lexicon is not None:
            tokens = list(self._lexicon.groups(tokens))
        raw = self._index.scores(tokens)
        docs, z = [], []
        for members in self._members.values():
            scores = raw[members]
            positive = np.flatnonzero(scores > 0)
            if not len(positive):
                continue
            mean, std = scores.mean(), max(float(scores.std()), _STD_FLOOR)
            best = top_k(scores, positive, self.similarity_top_k)
            docs.append(members[best])
            z.append((scores[best] - mean) / std)
        if not docs:
            return []
        found, value = np.concatenate(docs), np.concatenate(z)
        if self._weigh:
            value = self._index.coverages(tokens, found) * value
        ids = self._index.ids
        return [
            NodeWithScore(node=_node(self._chunks[ids[d]]), score=float(v))
            for d, v in zip(found.tolist(), value, strict=True)
        ]


def top_k(scores: np.ndarray, among: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` positions of ``among`` with the highest ``scores``, best first, ties in
    position order: what a stable sort of all of them gives, but a partition first keeps
    only those at least as high as the k-th (a sort of k, not of every match)."""
    values = scores[among]
    if len(values) > k:
        kth = np.partition(values, len(values) - k)[len(values) - k]
        keep = np.flatnonzero(values >= kth)
        among, values = among[keep], values[keep]
    return among[np.argsort(-values, kind="stable")[:k]]


# --- fusion ---------------------------------------------------------------------------------


class ProvenanceFusionRetriever(QueryFusionRetriever):
    """Fuses retrievers and leaves each one's rank and score on every fused node.

    ``fusion="calibrated"`` adds the (already comparable) scores, weighted by
    ``weights``; a chunk one retriever did not return gets that retriever's lowest
    score for the chunk's kind. With ``group_of`` (chunk id → its section or paper) a
    chunk is scored with the best weighted score of each retriever among its group's
    chunks (ties broken by its own), so evidence for one section found in two of its
    chunks adds up. ``fusion="rrf"`` is reciprocal-rank fusion with constant ``rrf_k``.
    Provenance goes into the node's metadata (the nodes are built per query), so one
    instance serves concurrent queries.
    """

    def __init__(
        self,
        retrievers: list[BaseRetriever],
        names: Sequence[str],
        weights: Sequence[float] | None = None,
        fusion: FusionMethod = "calibrated",
        rrf_k: float = 60.0,
        top_k: int = 30,
        group_of: Callable[[str], str] | None = None,
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
        self.fusion = fusion
        self.rrf_k = rrf_k
        self.group_of = group_of

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        results = self._run_sync_queries([query_bundle])
        if self.fusion == "rrf":
            return self._reciprocal_rerank_fusion(results)[: self.similarity_top_k]
        return self._calibrated_fusion(results)[: self.similarity_top_k]

    def _collect(self, results: dict) -> tuple[dict[str, NodeWithScore], dict[str, dict]]:
        """First node seen per chunk id, and per chunk id: retriever → (rank, score)."""
        nodes: dict[str, NodeWithScore] = {}
        found: dict[str, dict[str, tuple[int, float]]] = {}
        for (_query, index), items in results.items():
            ordered = sorted(items, key=lambda n: n.score or 0.0, reverse=True)
            for rank, item in enumerate(ordered, 1):
                key = item.node.node_id
                nodes.setdefault(key, item)
                found.setdefault(key, {})[self.names[index]] = (rank, float(item.score or 0.0))
        return nodes, found

    def _fused(
        self,
        nodes: dict[str, NodeWithScore],
        found: dict,
        scores: dict[str, float],
        tiebreak: dict[str, float] | None = None,
    ) -> list[NodeWithScore]:
        """Nodes by fused score (then by ``tiebreak``), with their provenance."""
        second = tiebreak or {}
        out = []
        ranked = sorted(scores, key=lambda key: (scores[key], second.get(key, 0.0)), reverse=True)
        for key in ranked:
            item = nodes[key]  # built for this query by one of the retrievers: reused
            item.node.metadata[_PROVENANCE] = found[key]
            item.score = scores[key]
            out.append(item)
        return out

    def _reciprocal_rerank_fusion(self, results: dict) -> list[NodeWithScore]:
        nodes, found = self._collect(results)
        weight = dict(zip(self.names, self.weights, strict=True))
        scores = {
            key: sum(weight[name] / (self.rrf_k + rank) for name, (rank, _s) in by.items())
            for key, by in found.items()
        }
        return self._fused(nodes, found, scores)

    def _calibrated_fusion(self, results: dict) -> list[NodeWithScore]:
        nodes, found = self._collect(results)
        floor: dict[tuple[str, str], float] = {}
        for key, by in found.items():
            kind = nodes[key].node.metadata.get("kind", "")
            for name, (_rank, score) in by.items():
                floor[(name, kind)] = min(score, floor.get((name, kind), score))
        scores: dict[str, float] = {}
        parts: dict[str, dict[str, float]] = {}
        for key, by in found.items():
            kind = nodes[key].node.metadata.get("kind", "")
            parts[key] = {
                name: weight * (by[name][1] if name in by else floor.get((name, kind), 0.0))
                for name, weight in zip(self.names, self.weights, strict=True)
            }
            scores[key] = sum(parts[key].values())
        if self.group_of is None:
            return self._fused(nodes, found, scores)
        best: dict[tuple[str, str], float] = {}
        for key, values in parts.items():
            group = self.group_of(key)
            for name, value in values.items():
                best[(group, name)] = max(value, best.get((group, name), value))
        grouped = {
            key: sum(best[(self.group_of(key), name)] for name in values)
            for key, values in parts.items()
        }
        return self._fused(nodes, found, grouped, tiebreak=scores)


# --- the retriever --------------------------------------------------------------------------


class Retriever:
    """Answers ``retrieve(question, k, mode)`` over one :class:`LoadedIndex`.

    Everything that does not depend on the question (kind statistics, masks and the
    llama-index retrievers) is built once here, so a query costs two Chroma
    searches, one BM25 pass over the query terms' postings and the fusion.
    """

    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: Settings):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        embed_model = embedder.as_llama_index()
        self._vector_indexes = {
            kind: VectorStoreIndex.from_vector_store(
                index.vector_store(kind), embed_model=embed_model
            )
            for kind in index.collections
        }
        self._stats = embedding_stats(
            index.collections, {kind: index.hashes(kind) for kind in index.collections}
        )
        self._by_section: dict[str, dict[str, Chunk]] = {}
        """Section number → the first chunk of each section with that number (numbers
        repeat across the files of a survey whose chapters number their sections alike)."""
        self._by_arxiv: dict[str, Chunk] = {}
        for chunk in index.chunks:
            if chunk.kind == "section" and chunk.section and chunk.section_id:
                self._by_section.setdefault(chunk.section, {}).setdefault(chunk.section_id, chunk)
            elif chunk.kind == "abstract" and chunk.arxiv_id:
                self._by_arxiv[chunk.arxiv_id] = chunk
        self._fusions: dict[tuple[str, int], ProvenanceFusionRetriever] = {}
        self._lock = threading.Lock()
        self._reranker = None
        if settings.rerank_model:
            from assistant.search.rerank import CrossEncoderReranker

            self._reranker = CrossEncoderReranker(settings.rerank_model)

    # -- building blocks --------------------------------------------------------------------

    def _fusion(self, mode: RetrievalMode, candidates: int) -> ProvenanceFusionRetriever:
        """The fused retriever for ``mode``, built on first use and then reused."""
        key = (mode, candidates)
        with self._lock:
            if key not in self._fusions:
                retrievers: list[BaseRetriever] = []
                names: list[str] = []
                weights: list[float] = []
                if mode in ("dense", "hybrid"):
                    retrievers.append(
                        KindDenseRetriever(self._vector_indexes, self._stats, candidates)
                    )
                    names.append("dense")
                    weights.append(1.0)
                if mode in ("bm25", "hybrid"):
                    retrievers.append(
                        KindBM25Retriever(
                            self.index.bm25,
                            self.index.by_id,
                            candidates,
                            weigh_by_coverage=mode == "hybrid",
                            lexicon=self.index.lexicon,
                        )
                    )
                    names.append("bm25")
                    weights.append(self.settings.bm25_weight if mode == "hybrid" else 1.0)
                self._fusions[key] = ProvenanceFusionRetriever(
                    retrievers,
                    names,
                    weights,
                    fusion=self.settings.fusion,
                    rrf_k=self.settings.rrf_k,
                    top_k=candidates * 2 * len(self._stats or (None,)),
                    group_of=self._source_of,
                )
            return self._fusions[key]

    def _source_of(self, chunk_id: str) -> str:
        return source_key(self.index.by_id[chunk_id])

    @cached_property
    def _by_anchor(self) -> dict[str, list[Chunk]]:
        """Casefolded anchor text → the papers its links point to; read from the section
        texts on the first question about a link, not at start-up (a pass over every
        section chunk)."""
        by_anchor: dict[str, list[Chunk]] = {}
        for chunk in self.index.chunks:
            if chunk.kind != "section":
                continue
            for anchor, url in MD_LINK.findall(chunk.text):
                target = self._by_arxiv.get(normalize_arxiv_id(url) or "")
                if target is not None and len(anchor.strip()) >= _MIN_ANCHOR:
                    by_anchor.setdefault(anchor.strip().casefold(), []).append(target)
        return by_anchor

    def lookups(self, question: str, anchors: list[Chunk] | None = None) -> list[Chunk]:
        """Chunks named in the question: abstracts by arXiv ID, sections by number, and,
        when the question asks about a link, the papers linked by the anchor text it
        quotes (the paper the link points to, whatever the anchor says; ``anchors`` when
        the caller has them already)."""
        if anchors is None:
            anchors = self.anchor_lookups(question)
        return list(dict.fromkeys([*self._named(question), *anchors]))

    def _named(self, question: str) -> list[Chunk]:
        """Abstracts named by arXiv ID and sections by number."""
        found: list[Chunk] = []
        for match in ARXIV_MENTION.finditer(question):
            arxiv_id = normalize_arxiv_id(match.group("id"))
            if arxiv_id and arxiv_id in self._by_arxiv:
                found.append(self._by_arxiv[arxiv_id])
        for match in _SECTION_REF.finditer(question):
            number = match.group("num") or match.group("suffixed") or match.group("dotted")
            found.extend(self._by_section.get(number, {}).values())
        return found

    def anchor_lookups(self, question: str) -> list[Chunk]:
        """The papers that links with an anchor text the question quotes point to, when
        it asks about a link (none otherwise)."""
        if not _LINK_ASKED.search(question):
            return []
        folded = question.casefold()
        found = [
            chunk
            for anchor, chunks in self._by_anchor.items()
            if anchor in folded
            for chunk in chunks
        ]
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
        if not isinstance(k, int) or isinstance(k, bool) or k < 1 or k > 100:
            raise InvalidInput(f"k must be an integer from 1 to 100, got {k!r}")
        timings = timings if timings is not None else {}
        fusion = self._fusion(mode, max(self.settings.candidate_k, k))

        bundle = QueryBundle(query_str=question)
        if mode in ("dense", "hybrid"):
            t0 = time.perf_counter()
            bundle.embedding = self.embedder.cached_query(question).tolist()
            timings["embed_ms"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        fused = fusion.retrieve(bundle)
        timings["search_ms"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        hits: list[Hit] = []
        for item in fused:
            chunk = self.index.by_id.get(item.node.node_id)
            if chunk is None:
                continue
            found = item.node.metadata.get(_PROVENANCE, {})
            hits.append(
                Hit(
                    chunk=chunk,
                    score=float(item.score or 0.0),
                    retrievers={name: rank for name, (rank, _s) in found.items()},
                    retriever_scores={name: score for name, (_r, score) in found.items()},
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
        anchors = self.anchor_lookups(question)
        named = self.lookups(question, anchors)
        if not named:
            return hits
        anchored = {chunk.id for chunk in anchors}
        top = hits[0].score if hits else 1.0
        by_id = {h.chunk.id: h for h in hits}
        front: list[Hit] = []
        for rank, chunk in enumerate(named, 1):
            hit = by_id.pop(chunk.id, None) or Hit(chunk=chunk, score=0.0)
            hit.score = top + 1.0 / rank
            hit.retrievers = {**hit.retrievers, "lookup": rank}
            if chunk.id in anchored:
                hit.retrievers["anchor"] = rank
            front.append(hit)
        return front + [h for h in hits if h.chunk.id in by_id]


def source_key(chunk: Chunk) -> str:
    """What a chunk is part of: its section, or its paper (chunks of one cite alike)."""
    group = chunk.arxiv_id if chunk.kind == "abstract" else chunk.section_id
    return f"{chunk.kind}:{group}"


def diversify(hits: list[Hit], k: int) -> list[Hit]:
    """First the best chunk of each section or paper, in order; then the rest."""
    seen: set[str] = set()
    first: list[Hit] = []
    rest: list[Hit] = []
    for hit in hits:
        key = source_key(hit.chunk)
        (rest if key in seen else first).append(hit)
        seen.add(key)
    return (first + rest)[:k]
