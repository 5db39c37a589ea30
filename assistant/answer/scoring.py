"""How well each sentence of the retrieved chunks answers the question.

Picking the best sentence among the top hits is what lets the answer beat retrieval's rank
1. A sentence's score mixes three signals, each failing somewhere: dense similarity
(standardised per chunk kind; an English question also lent the Chinese words of its terms),
IDF-weighted coverage of the question's content words in either language (exact figures and
names, which embeddings blur), and its chunk's retrieval score. Sentence vectors are cached
beside the index (``answer-cache/<embedder>.npz``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.answer.answer_type import WEB_ADDRESS, expectation
from assistant.answer.rules import on
from assistant.answer.tables import extreme_row
from assistant.answer.units import Unit, chunk_units, quotable_units
from assistant.indexing.embeddings import Embedder
from assistant.indexing.embeddings.npz_cache import TextVectors
from assistant.indexing.lexicon import Lexicon, stem_words
from assistant.indexing.vocabulary import TermWeights, terms
from assistant.models import Chunk, Hit
from assistant.search.retrieval import KindStats
from assistant.text import CJK_CHAR, TABLE_ASKED, detect_language

log = logging.getLogger(__name__)


QUESTION_WORDS = frozenset(
    """according answer answers ask asked chapter chapters describe described describes
    did does doing give given kind kinds list listed lists many mention mentioned
    mentions much name named names paper papers report reported reports say said says
    section sections show shown shows survey surveys tell told work works
    一下 举 了吗 写 列举 列出 分别 具体 哪 哪一 哪一年 哪些 哪些方面 哪个 哪位 哪类
    哪项 哪篇 几 告诉 如何 怎样 提到 提及 提出 章节 综述 认为 讲 说 说明 谈到 采用 请问
    本章 一章 本节 本文 哪几 几种 哪几种 几类 哪几类 几个 哪几个 几项 哪几项 分成 分为
    包括 包含 内容 方面 归纳""".split()
)
"""Words that frame a question rather than say what it is about (any survey)."""


def content_terms(question: str) -> list[str]:
    """The question's terms minus the words that only frame it."""
    return [t for t in terms(question) if t not in QUESTION_WORDS]


@lru_cache(maxsize=8192)
def _unit_terms(text: str) -> frozenset[str]:
    return frozenset(terms(text))


@lru_cache(maxsize=8192)
def _unit_stems(text: str) -> frozenset[str]:
    return frozenset(stem_words(text))


@dataclass
class ScoredUnit:
    """A unit of a retrieved chunk with its scores for one question."""

    unit: Unit
    hit: Hit
    dense: float
    score: float
    z: float = 0.0
    """Dense similarity standardised against all units of the chunk's kind: how unusual
    this unit's match is for this question, on one scale for both languages (ranking)."""
    extreme: bool = False
    """The table row holding the largest or smallest value the question asks for."""


@dataclass(frozen=True)
class ScoringWeights:
    lexical: float = 2.0
    rank: float = 0.0
    chunk: float = 0.5
    named: float = 3.0
    """Bonus for chunks the question names (an arXiv ID, a section number; twice for the
    paper a link it quotes by its anchor points to) and for units about a name it uses
    (``DreamZero``): a look-alike's sentence matches as well but answers nothing."""
    stats_sample: int = 500
    """Units per chunk kind embedded to estimate the kind's similarity distribution."""


def sample_units(chunks: Iterable[Chunk], per_kind: int) -> dict[str, list[Unit]]:
    """Up to ``per_kind`` units of each chunk kind, spread evenly over the corpus; in two
    passes, so that only the sampled chunks' units are held (all of them: +350 MB at 100k)."""
    chunks = list(chunks)
    sizes = [len(quotable_units(chunk)) for chunk in chunks]
    totals: dict[str, int] = {}
    for chunk, size in zip(chunks, sizes, strict=True):
        totals[chunk.kind] = totals.get(chunk.kind, 0) + size
    wanted: dict[str, set[int]] = {}
    for kind, total in totals.items():
        step = total / per_kind if total > per_kind else 1
        wanted[kind] = {int(n * step) for n in range(min(per_kind, total))}
    out: dict[str, list[Unit]] = {kind: [] for kind in totals}
    offsets = dict.fromkeys(totals, 0)
    for chunk, size in zip(chunks, sizes, strict=True):
        start = offsets[chunk.kind]
        offsets[chunk.kind] = start + size
        picked = [i for i in range(start, start + size) if i in wanted[chunk.kind]]
        if picked:
            units = quotable_units(chunk)
            out[chunk.kind].extend(units[i - start] for i in picked)
    return out


class UnitScorer:
    """Ranks the units of retrieved chunks against a question (the module's three signals)."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        embedder: Embedder,
        weights: ScoringWeights,
        cache_path: Path | None = None,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.embedder = embedder
        self.weights = weights
        self.chunks = list(chunks)
        self.term_weights = TermWeights(self.chunks)
        self.lexicon = lexicon
        self.vectors = TextVectors(embedder, cache_path)
        self._stats: dict[str, KindStats] | None = None
        self._stats_lock = threading.Lock()

    @property
    def stats(self) -> dict[str, KindStats]:
        """Per chunk kind, mean and covariance of its units' vectors (computed once)."""
        with self._stats_lock:
            if self._stats is None:
                stats = {}
                for kind, units in sample_units(self.chunks, self.weights.stats_sample).items():
                    log.info("sentence statistics: embedding %d %s units", len(units), kind)
                    vectors = self.vectors.get([u.scoring_text for u in units]).astype(np.float64)
                    mean = vectors.mean(0)
                    cov = vectors.T @ vectors / len(vectors) - np.outer(mean, mean)
                    stats[kind] = KindStats(mean=mean, cov=cov, count=len(vectors))
                self._stats = stats
        return self._stats

    def prepare(self, max_units: int, progress: bool = False) -> int:
        """Embed every quotable unit now, at index time, unless there are more than
        ``max_units`` (then each question embeds its hits' units); how many were embedded."""
        texts = [unit.scoring_text for chunk in self.chunks for unit in quotable_units(chunk)]
        if len(texts) > max_units:
            log.info("%d sentences > prepare_sentences_max: embedded per question", len(texts))
            return 0
        return self.vectors.fill(texts, progress=progress)

    def translations(self, question_terms: Sequence[str]) -> dict[str, frozenset[str]]:
        """The other language's words for each question term (none without a lexicon)."""
        return self.lexicon.translations(question_terms) if self.lexicon else {}

    def _share(
        self,
        question_terms: Sequence[str],
        translations: dict[str, frozenset[str]],
        holds: Callable[[str, frozenset[str]], bool],
    ) -> float:
        """IDF-weighted share of ``question_terms`` for which ``holds(term, translations)``."""
        total = got = 0.0
        for term in question_terms:
            other = translations.get(term, frozenset())
            weight = self.term_weights.weight(term, other)
            total += weight
            got += weight if holds(term, other) else 0.0
        return got / total if total else 0.0

    def coverage(
        self,
        question_terms: Sequence[str],
        unit: Unit,
        translations: dict[str, frozenset[str]] | None = None,
    ) -> float:
        """IDF-weighted share of the question's content terms found in the unit, in
        either language when ``translations`` (from :meth:`translations`) are given."""
        found = _unit_terms(unit.scoring_text)
        lowered = unit.scoring_text.lower()

        def holds(term: str, other: frozenset[str]) -> bool:
            if term in found or (term.isascii() and len(term) > 2 and term in lowered):
                return True
            chinese_term = other and not term.isascii()  # its English words, by stem
            return not other.isdisjoint(_unit_stems(lowered) if chinese_term else found)

        return self._share(question_terms, translations or {}, holds)

    def header_match(
        self,
        question_terms: Sequence[str],
        header: str,
        translations: dict[str, frozenset[str]],
    ) -> float:
        """IDF-weighted share of the question's terms a table header contains, in either
        language, as substrings: a header is a few run-together words (参数量 holds 参数,
        the translation of "parameter", though no tokenizer cuts it out)."""
        lowered = header.lower()
        return self._share(
            question_terms,
            translations,
            lambda term, other: any(len(w) > 1 and w.lower() in lowered for w in (term, *other)),
        )

    def _translated_query_z(
        self,
        question: str,
        qterms: Sequence[str],
        translated: dict[str, frozenset[str]],
        vectors: np.ndarray,
        kinds: np.ndarray,
    ) -> np.ndarray | None:
        """Standardised similarities to an English question with the Chinese words of its
        terms appended (else None): the small embedder matches an English paraphrase of a
        Chinese sentence weakly, the survey's own words closely. A Chinese unit keeps the
        better score, so a wrong dictionary sense can only add a candidate, not hide one."""
        if detect_language(question) != "en":
            return None
        chinese = [zh for term in qterms for zh in sorted(translated.get(term, ()))]
        if not chinese:
            return None
        query = self.embedder.cached_query(f"{question} {' '.join(dict.fromkeys(chinese))}")
        return self.standardized(query, (vectors @ query).astype(np.float64), kinds)

    def standardized(self, query: np.ndarray, cosines: np.ndarray, kinds: np.ndarray) -> np.ndarray:
        """Cosines as z-scores within each unit's chunk kind (0 for an unknown kind)."""
        z = np.zeros(len(cosines))
        query = query.astype(np.float64)
        for kind, stats in self.stats.items():
            mask = kinds == kind
            if mask.any():
                z[mask] = stats.standardize(query, cosines[mask])
        return z

    def score(self, question: str, hits: Sequence[Hit]) -> list[ScoredUnit]:
        """Every unit of ``hits``, best first; a paper's byline only for a question asking
        who wrote it, and then with the ``named`` bonus: it is the answer; an abstract's
        sentence with a web address only for a question asking where the code is or under
        what license: it says where something is, and its other words (code, papers, models)
        match many questions it says nothing about. For a question
        asking for a table's extreme value, its row ranks first (:mod:`.tables`)."""
        expected = expectation(question)
        authors = expected.kind == "authors"
        read = chunk_units if authors else quotable_units
        pointers = expected.kind in ("availability", "license") or not on("type:availability")
        units: list[tuple[Unit, Hit]] = [
            (unit, hit)
            for hit in hits
            for unit in read(hit.chunk)
            if pointers or hit.chunk.kind != "abstract" or not WEB_ADDRESS.search(unit.display)
        ]
        if not units:
            return []
        qvec = self.embedder.cached_query(question)
        vectors = self.vectors.get([u.scoring_text for u, _ in units])
        dense = vectors @ qvec
        kinds = np.array([hit.chunk.kind for _, hit in units])
        z = self.standardized(qvec, dense.astype(np.float64), kinds)
        qterms = content_terms(question)
        translated = self.translations(qterms)
        bridged = self._translated_query_z(question, qterms, translated, vectors, kinds)
        if bridged is not None:
            chinese = np.array([bool(CJK_CHAR.search(unit.display)) for unit, _ in units])
            z = np.where(chinese, np.maximum(z, bridged), z)
        w = self.weights
        looked_up = any("lookup" in h.retrievers or "anchor" in h.retrievers for h in hits)
        mentioned = () if looked_up or not on("mentions") else expected.names
        tabled = on("tables") and bool(TABLE_ASKED.search(question))
        scored = []
        for (unit, hit), sim, zz in zip(units, dense, z, strict=True):
            lexical = self.coverage(qterms, unit, translated)
            total = (
                float(zz)
                + w.lexical * lexical
                + w.rank / max(hit.rank, 1)
                + w.chunk * hit.score
                + (w.named if "lookup" in hit.retrievers else 0.0)
                + (w.named if "anchor" in hit.retrievers else 0.0)
                + (w.named if authors and unit.kind == "byline" else 0.0)
                + (w.named if mentioned and unit.about_any(mentioned) else 0.0)
                + (w.named if tabled and unit.kind == "row" else 0.0)
            )
            scored.append(ScoredUnit(unit, hit, float(sim), total, float(zz)))
        extreme = on("tables") and extreme_row(
            question,
            [unit for unit, _ in units],
            lambda header: self.header_match(qterms, header, translated),
        )
        if extreme:
            top = max(s.score for s in scored) + w.named
            scored = [
                replace(s, score=top, extreme=True) if s.unit is extreme else s for s in scored
            ]
        scored.sort(key=lambda s: s.score, reverse=True)
        return scored
