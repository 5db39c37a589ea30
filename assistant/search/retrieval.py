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
collection (queried through its vector store) and a ``BM25Retriever`` whose scoring is
swapped for our tokenizer-aware sidecar; both remain llama-index retrievers, but a query
here takes their scored chunks (``search``) and :class:`Fusion` fuses those by chunk id,
recording for each hit which retriever found it at which rank; nodes and instrumented
calls per candidate cost more than the searches (docs/performance.md). Exact lookups (an
arXiv ID or a section number in the question) and section de-duplication run around the
fusion, and a :class:`Hit` is built only for what is returned (or reranked).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol, TypeVar

import chromadb
import numpy as np
from llama_index.core import VectorStoreIndex
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.retrievers.bm25 import BM25Retriever

from assistant.errors import InvalidInput
from assistant.indexing.chroma import ChunkVectorStore, to_node
from assistant.indexing.embeddings import Embedder
from assistant.indexing.lexical import BM25Index, Term
from assistant.indexing.lexicon import Lexicon
from assistant.indexing.store import LoadedIndex
from assistant.ingest.corpus import ARXIV_MENTION, normalize_arxiv_id
from assistant.models import Chunk, Hit
from assistant.settings import FusionMethod, RetrievalMode, Settings
from assistant.text import MD_LINK, TABLE_ASKED, TABLE_RULE

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

_STD_FLOOR = 1e-6
_COSINE_STD_FLOOR = 1e-3
"""Spread below which a kind's cosines count as constant (one chunk, float32 noise)."""
_CHROMA_PAGE = 1000
_STATS_SAMPLE = 20_000
"""Embeddings per kind read to estimate its mean and covariance (all, below this)."""


Scored = tuple[Chunk, float]
"""A retrieved chunk and its score: what retrievers hand to :class:`Fusion`."""


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
    The kinds are asked at once (the first in the calling thread, the others in a small
    pool): most of a Chroma query is fixed per-request work in Chroma, not the HNSW
    search, and two requests in flight overlap it (docs/performance.md).
    """

    def __init__(
        self, vector_indexes: dict[str, VectorStoreIndex], stats: dict[str, KindStats], top_k: int
    ):
        super().__init__()
        self._stats = stats
        self._top_k = top_k
        self._stores: dict[str, ChunkVectorStore] = {
            kind: index.vector_store for kind, index in vector_indexes.items() if kind in stats
        }
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, 2 * (len(self._stores) - 1)), thread_name_prefix="dense"
        )

    def search(self, question: str, embedding: list[float] | None) -> list[Scored]:
        """Each kind's nearest chunks with their z-scores, asked of each kind's vector store
        directly: a ``VectorIndexRetriever`` per kind would add its instrumentation, a
        docstore check (a hash of every node) and a node per chunk to each query
        (docs/performance.md)."""
        query = np.asarray(embedding, dtype=np.float64)
        query /= max(float(np.linalg.norm(query)), 1e-12)
        stores = list(self._stores.values())
        pending = [self._pool.submit(s.nearest, embedding, self._top_k) for s in stores[1:]]
        results = [s.nearest(embedding, self._top_k) for s in stores[:1]]
        results += [future.result() for future in pending]
        out: list[Scored] = []
        for kind, found in zip(self._stores, results, strict=True):
            if not found:
                continue
            z = self._stats[kind].standardize(query, np.array([c for _chunk, c in found]))
            out.extend(zip([chunk for chunk, _c in found], z.tolist(), strict=True))
        return out

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        found = self.search(query_bundle.query_str, query_bundle.embedding)
        return [NodeWithScore(node=to_node(chunk), score=score) for chunk, score in found]


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

    def search(self, question: str, embedding: list[float] | None = None) -> list[Scored]:
        """The best chunks of each kind with their (coverage-weighted) z-scores."""
        tokens = query_terms(self._index, self._lexicon, question)
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
            (self._chunks[ids[d]], float(v)) for d, v in zip(found.tolist(), value, strict=True)
        ]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [
            NodeWithScore(node=to_node(chunk), score=score)
            for chunk, score in self.search(query_bundle.query_str)
        ]


def query_terms(index: BM25Index, lexicon: Lexicon | None, question: str) -> list[Term]:
    """The question's BM25 terms, each English word grouped with its Chinese translations
    when there is a lexicon."""
    tokens: list[Term] = list(index.tokens(question))
    return list(lexicon.groups(tokens)) if lexicon is not None else tokens


def _holds_table(text: str) -> bool:
    return any(TABLE_RULE.match(line.strip()) for line in text.splitlines())


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


@dataclass(slots=True)
class Candidate:
    """A fused chunk before it becomes a :class:`Hit`: built for every candidate of a
    query, so a plain slotted object (a ``Hit`` is built for the returned ones only)."""

    chunk: Chunk
    score: float
    retrievers: dict[str, int]
    """Retriever name → 1-based rank at which it found this chunk."""
    retriever_scores: dict[str, float]

    def hit(self) -> Hit:
        return Hit(
            chunk=self.chunk,
            score=self.score,
            retrievers=self.retrievers,
            retriever_scores=self.retriever_scores,
        )


class Fusion:
    """Fuses the retrievers' scored chunks and keeps each one's rank and score.

    ``fusion="calibrated"`` adds the (already comparable) scores, weighted by
    ``weights``; a chunk one retriever did not return gets that retriever's lowest
    score for the chunk's kind. With ``group_of`` (chunk → its section or paper) a
    chunk is scored with the best weighted score of each retriever among its group's
    chunks (ties broken by its own), so evidence for one section found in two of its
    chunks adds up. ``fusion="rrf"`` is reciprocal-rank fusion with constant ``rrf_k``.

    Why not llama-index's ``QueryFusionRetriever`` (which this replaced): neither of its
    fusions is the calibrated one, and around two 1 ms Chroma searches its per-call
    instrumentation and a node per candidate cost more than the searches at 10,000
    chunks; fusing chunk ids and floats is a few dicts (docs/performance.md). Holds no
    per-query state, so one instance serves concurrent queries.
    """

    def __init__(
        self,
        names: Sequence[str],
        weights: Sequence[float] | None = None,
        fusion: FusionMethod = "calibrated",
        rrf_k: float = 60.0,
        top_k: int = 30,
        group_of: Callable[[Chunk], str] | None = None,
    ) -> None:
        self.names = list(names)
        self.weights = list(weights or [1.0] * len(self.names))
        self.fusion = fusion
        self.rrf_k = rrf_k
        self.top_k = top_k
        self.group_of = group_of

    def __call__(self, results: Sequence[Sequence[Scored]]) -> list[Candidate]:
        """``results[i]``: retriever ``i``'s chunks and scores; the best ``top_k`` fused."""
        chunks, found = self._collect(results)
        if self.fusion == "rrf":
            scores, tiebreak = self._reciprocal_rank(found), None
        else:
            scores, tiebreak = self._calibrated(chunks, found)
        second = tiebreak or {}
        ranked = sorted(scores, key=lambda key: (scores[key], second.get(key, 0.0)), reverse=True)
        return [
            Candidate(
                chunk=chunks[key],
                score=scores[key],
                retrievers={name: rank for name, (rank, _s) in found[key].items()},
                retriever_scores={name: score for name, (_r, score) in found[key].items()},
            )
            for key in ranked[: self.top_k]
        ]

    def _collect(
        self, results: Sequence[Sequence[Scored]]
    ) -> tuple[dict[str, Chunk], dict[str, dict[str, tuple[int, float]]]]:
        """Each chunk by id, and per chunk id: retriever → (rank, score)."""
        chunks: dict[str, Chunk] = {}
        found: dict[str, dict[str, tuple[int, float]]] = {}
        for name, items in zip(self.names, results, strict=True):
            ordered = sorted(items, key=lambda item: item[1], reverse=True)
            for rank, (chunk, score) in enumerate(ordered, 1):
                chunks.setdefault(chunk.id, chunk)
                found.setdefault(chunk.id, {})[name] = (rank, score)
        return chunks, found

    def _reciprocal_rank(self, found: dict) -> dict[str, float]:
        weight = dict(zip(self.names, self.weights, strict=True))
        return {
            key: sum(weight[name] / (self.rrf_k + rank) for name, (rank, _s) in by.items())
            for key, by in found.items()
        }

    def _calibrated(
        self, chunks: dict[str, Chunk], found: dict
    ) -> tuple[dict[str, float], dict[str, float] | None]:
        """Fused scores, and the chunks' own scores to break ties when grouped."""
        floor: dict[tuple[str, str], float] = {}
        for key, by in found.items():
            kind = chunks[key].kind
            for name, (_rank, score) in by.items():
                floor[(name, kind)] = min(score, floor.get((name, kind), score))
        scores: dict[str, float] = {}
        parts: dict[str, dict[str, float]] = {}
        for key, by in found.items():
            kind = chunks[key].kind
            parts[key] = {
                name: weight * (by[name][1] if name in by else floor.get((name, kind), 0.0))
                for name, weight in zip(self.names, self.weights, strict=True)
            }
            scores[key] = sum(parts[key].values())
        if self.group_of is None:
            return scores, None
        groups = {key: self.group_of(chunk) for key, chunk in chunks.items()}
        best: dict[tuple[str, str], float] = {}
        for key, values in parts.items():
            for name, value in values.items():
                best[(groups[key], name)] = max(value, best.get((groups[key], name), value))
        grouped = {
            key: sum(best[(groups[key], name)] for name in values) for key, values in parts.items()
        }
        return grouped, scores


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
        self._fusions: dict[tuple[str, int], tuple[list[_Search], Fusion]] = {}
        self._lock = threading.Lock()
        self._reranker = None
        if settings.rerank_model:
            from assistant.search.rerank import CrossEncoderReranker

            self._reranker = CrossEncoderReranker(settings.rerank_model)

    # -- building blocks --------------------------------------------------------------------

    def _fusion(self, mode: RetrievalMode, candidates: int) -> tuple[list[_Search], Fusion]:
        """The retrievers of ``mode`` and their fusion, built on first use and then reused."""
        key = (mode, candidates)
        with self._lock:
            if key not in self._fusions:
                searchers: list[_Search] = []
                names: list[str] = []
                weights: list[float] = []
                if mode in ("dense", "hybrid"):
                    searchers.append(
                        KindDenseRetriever(self._vector_indexes, self._stats, candidates)
                    )
                    names.append("dense")
                    weights.append(1.0)
                if mode in ("bm25", "hybrid"):
                    searchers.append(
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
                self._fusions[key] = (
                    searchers,
                    Fusion(
                        names,
                        weights,
                        fusion=self.settings.fusion,
                        rrf_k=self.settings.rrf_k,
                        top_k=candidates * 2 * len(self._stats or (None,)),
                        group_of=source_key,
                    ),
                )
            return self._fusions[key]

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

    def lookups(
        self, question: str, anchors: list[Chunk] | None = None, tables: bool = False
    ) -> list[Chunk]:
        """Chunks named in the question: abstracts by arXiv ID, sections by number, and,
        when the question asks about a link, the papers linked by the anchor text it
        quotes (the paper the link points to, whatever the anchor says; ``anchors`` when
        the caller has them already); with ``tables``, the table it asks about."""
        if anchors is None:
            anchors = self.anchor_lookups(question)
        found = [*self._named(question), *anchors]
        return list(dict.fromkeys(found + (self.table_lookup(question) if tables else [])))

    @cached_property
    def _tables(self) -> np.ndarray:
        """BM25 positions of the chunks that hold a Markdown table."""
        ids, chunks = self.index.bm25.ids, self.index.by_id
        held = [n for n, i in enumerate(ids) if _holds_table(chunks[i].text)]
        return np.array(held, dtype=np.int64)

    def table_lookup(self, question: str) -> list[Chunk]:
        """For a question about a table (``对比表里``, "the comparison table"), the table
        chunk whose words BM25 scores highest for it: a table is rows of names and
        figures, which a question's embedding meets poorly (the best-ranked hybrid hit
        holding a table was the table asked about for 13 of 33 such questions of eval/,
        BM25 over the tables alone for 25 of 34; docs/retrieval.md)."""
        if not len(self._tables) or not TABLE_ASKED.search(question):
            return []
        tokens = query_terms(self.index.bm25, self.index.lexicon, question)
        scores = self.index.bm25.scores(tokens)[self._tables]
        best = int(np.argmax(scores))
        if scores[best] <= 0:
            return []
        return [self.index.by_id[self.index.bm25.ids[self._tables[best]]]]

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
        searchers, fusion = self._fusion(mode, max(self.settings.candidate_k, k))

        embedding: list[float] | None = None
        if mode in ("dense", "hybrid"):
            t0 = time.perf_counter()
            embedding = self.embedder.cached_query(question).tolist()
            timings["embed_ms"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        fused = fusion([search.search(question, embedding) for search in searchers])
        timings["search_ms"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        candidates = self._apply_lookups(question, fused, tables=mode != "dense")
        if self._reranker is not None:
            hits = diversify(self._reranker.rerank(question, [c.hit() for c in candidates]), k)
        else:
            hits = [c.hit() for c in diversify(candidates, k)]
        for rank, hit in enumerate(hits, 1):
            hit.rank = rank
        timings["fusion_ms"] = (time.perf_counter() - t0) * 1000
        return hits

    def _apply_lookups(
        self, question: str, fused: list[Candidate], tables: bool
    ) -> list[Candidate]:
        anchors = self.anchor_lookups(question)
        named = self.lookups(question, anchors, tables)
        if not named:
            return fused
        anchored = {chunk.id for chunk in anchors}
        top = fused[0].score if fused else 1.0
        by_id = {c.chunk.id: c for c in fused}
        front: list[Candidate] = []
        for rank, chunk in enumerate(named, 1):
            found = by_id.pop(chunk.id, None) or Candidate(chunk, 0.0, {}, {})
            found.score = top + 1.0 / rank
            found.retrievers = {**found.retrievers, "lookup": rank}
            if chunk.id in anchored:
                found.retrievers["anchor"] = rank
            front.append(found)
        return front + [c for c in fused if c.chunk.id in by_id]


def source_key(chunk: Chunk) -> str:
    """What a chunk is part of: its section, or its paper (chunks of one cite alike)."""
    group = chunk.arxiv_id if chunk.kind == "abstract" else chunk.section_id
    return f"{chunk.kind}:{group}"


_H = TypeVar("_H", Hit, Candidate)


class _Search(Protocol):
    def search(self, question: str, embedding: list[float] | None) -> list[Scored]: ...


def diversify(hits: list[_H], k: int) -> list[_H]:
    """First the best chunk of each section or paper, in order; then the rest."""
    seen: set[str] = set()
    first: list[_H] = []
    rest: list[_H] = []
    for hit in hits:
        key = source_key(hit.chunk)
        (rest if key in seen else first).append(hit)
        seen.add(key)
    return (first + rest)[:k]
