"""Refusing questions the survey does not cover, with a threshold measured, not guessed.

A few support signals are computed for every question from its hits and their scored
sentences. :func:`calibrate` runs the eval set's answerable and unanswerable
questions, measures how well each signal separates them (ROC AUC and the best
operating point), keeps the best signal with a threshold that refuses as many
unanswerable questions as possible while refusing at most ``max_false_refusals`` of
the answerable ones, and stores both with the evidence (eval/calibration.json).
Retrieval changes shift the signals, so calibration is a command to re-run, and the
file records the embedder and corpus it was measured on.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from assistant.answer.answer_type import AnswerType, capitalised, proper_names, unanswered
from assistant.answer.scoring import ScoredUnit, UnitScorer, content_terms
from assistant.answer.units import Unit
from assistant.indexing.lexicon import everyday_frequency
from assistant.invocation import command
from assistant.models import Hit
from assistant.text import CJK_CHAR

log = logging.getLogger(__name__)


@dataclass
class Evidence:
    """What a refusal decision looks at for one question."""

    question: str
    hits: Sequence[Hit]
    scored: Sequence[ScoredUnit]
    scorer: UnitScorer

    @cached_property
    def terms(self) -> list[str]:
        """The question's content terms (computed once for every rule that reads them)."""
        return content_terms(self.question)

    @cached_property
    def translations(self) -> dict[str, frozenset[str]]:
        """The other language's words for each of :attr:`terms`."""
        return self.scorer.translations(self.terms)


def _best(scored: Sequence[ScoredUnit], key: Callable[[ScoredUnit], float]) -> float:
    return max((key(s) for s in scored), default=0.0)


def _term_support(ev: Evidence) -> float:
    """IDF-weighted share of the question's content terms that some hit contains.

    Terms missing from every retrieved chunk (``batch size`` asked about a paper whose
    abstract never gives one) are the signature of a near-miss question.
    """
    qterms, translated = ev.terms, ev.translations
    if not qterms:
        return 0.0
    weights = ev.scorer.term_weights
    texts = [s.unit for s in ev.scored]
    total = got = 0.0
    for term in qterms:
        w = weights.weight(term, translated.get(term, ()))
        total += w
        if any(ev.scorer.coverage([term], unit, translated) > 0 for unit in texts):
            got += w
    return got / total if total else 0.0


def _centred(ev: Evidence) -> float:
    """Best unit's similarity above the mean similarity of its chunk kind's units."""
    if not ev.scored:
        return 0.0
    query = ev.scorer.query_vector(ev.question).astype(np.float64)
    means = {kind: float(query @ stats.mean) for kind, stats in ev.scorer.stats.items()}
    return max(s.dense - means.get(s.hit.chunk.kind, 0.0) for s in ev.scored)


SIGNALS: dict[str, Callable[[Evidence], float]] = {
    "sentence_lift": lambda ev: _best(ev.scored, lambda s: s.lift),
    "sentence_centred": _centred,
    "sentence_z": lambda ev: _best(ev.scored, lambda s: s.z),
    "sentence_score": lambda ev: _best(ev.scored, lambda s: s.score),
    "sentence_dense": lambda ev: _best(ev.scored, lambda s: s.dense),
    "sentence_coverage": lambda ev: _best(ev.scored, lambda s: s.lexical),
    "chunk_fused": lambda ev: max((h.score for h in ev.hits), default=0.0),
    "chunk_dense": lambda ev: max(
        (h.retriever_scores.get("dense", 0.0) for h in ev.hits), default=0.0
    ),
    "chunk_bm25": lambda ev: max(
        (h.retriever_scores.get("bm25", 0.0) for h in ev.hits), default=0.0
    ),
    "term_support": _term_support,
    "lift_and_terms": lambda ev: _best(ev.scored, lambda s: s.lift) + 0.05 * _term_support(ev),
}
"""Candidate signals, higher meaning better supported. ``sentence_lift`` (similarity
above a content-free question's) and ``sentence_centred`` (above the mean similarity of
the corpus's units of that kind) are on one scale for Chinese and English questions,
where raw similarities are not; ``lift_and_terms`` adds the share of the question's
terms found in the hits, since the two fail on different questions. ``sentence_z``
ranks sentences well but measures no support: the best of a few hundred standardised
similarities is high for any question, an off-topic one included."""


def unknown_names(ev: Evidence) -> tuple[str, ...]:
    """The names in the question (``TCP``, ``GPT-7``) when no indexed chunk writes any
    of them (empty when the question names nothing, or something the corpus has).

    A survey cannot answer about something it never mentions, however close the
    question's other words come; this is what separates an off-topic question that
    happens to share generic words with the corpus from a near miss. One known name is
    enough to answer, and any capitalised word counts as one when the corpus has it
    ("NVIDIA's Cosmos" is a question about Cosmos even if the survey never writes
    NVIDIA), in either language (``Chinese`` is known as 中国, through the lexicon)."""
    names = proper_names(ev.question)
    if not names:
        return ()
    anchors = tuple(dict.fromkeys((*names, *capitalised(ev.question))))
    weights = ev.scorer.term_weights
    translated = ev.scorer.translations([a.lower() for a in anchors])
    if any(weights.knows_name(a) or translated.get(a.lower()) for a in anchors):
        return ()
    return names


_EXACT_FIGURE = re.compile(r"(?<![\w.,-])(\d+\.\d+)(?:\s?%)?(?![\w.-])|(?<![\w.,-])(\d+)\s?%")


def unknown_figures(ev: Evidence) -> tuple[str, ...]:
    """Exact figures the question quotes (``91.2%``, ``0.31``; decimals and percentages,
    not counts or years) that no indexed chunk writes: a question resting on a figure the
    survey never gives ("which model holds the best result of 91.2%?") has no answer in
    it, whatever else it shares with it."""
    weights = ev.scorer.term_weights
    missing = []
    for match in _EXACT_FIGURE.finditer(ev.question):
        number = match.group(1) or match.group(2)
        if not weights.knows(number):
            missing.append(match.group().strip())
    return tuple(dict.fromkeys(missing))


def shares_no_term(ev: Evidence) -> bool:
    """Whether none of the question's content terms occurs anywhere in the corpus, in
    either language (a question with no content terms is left to the other rules)."""
    if not ev.terms:
        return False
    weights = ev.scorer.term_weights
    return not any(weights.knows(t) or ev.translations.get(t) for t in ev.terms)


def everyday_only(ev: Evidence, ratio: float) -> bool:
    """Whether the question is about something else that merely shares everyday words
    with the corpus: some of its words are everyday words the corpus never uses, in
    either language ("boil an egg", 红烧肉), and none of those it shares is used
    ``ratio`` times more often by the corpus than by everyday language (``long``,
    ``get``, 比较 are shared by any text). Names the corpus lacks are
    :func:`unknown_names`' business; single Chinese characters are never specific."""
    weights = ev.scorer.term_weights
    foreign = False
    for term in ev.terms:
        known = ([term] if weights.knows(term) else []) + sorted(ev.translations.get(term, ()))
        if not known:
            foreign = foreign or everyday_frequency(term) > 0
            continue
        for word in known:
            single = len(word) == 1 and CJK_CHAR.match(word)
            asked = None if word == term else term
            if not single and weights.specificity(word, asked) >= ratio:
                return False
    return foreign


RefusalReason = Literal[
    "no content", "no hits", "off topic", "unknown name", "weak support", "answer type"
]


def has_content(question: str) -> bool:
    """Whether the question asks about anything: some content term, and at least two
    letters, digits or CJK characters in all (an emoji run, ``]i[``, one letter or
    character, an invisible character or punctuation asks nothing, in either language)."""
    return sum(ch.isalnum() for ch in question) >= 2 and bool(content_terms(question))


@dataclass(frozen=True)
class Refusal:
    """Why a question is refused, and the names the corpus never mentions (if that is why)."""

    reason: RefusalReason
    missing: tuple[str, ...] = ()
    asked: AnswerType | None = None
    """The kind of answer the evidence lacks, when that is why."""


class Calibration(BaseModel):
    """The stored refusal rule and the evidence behind it."""

    signal: str
    threshold: float
    embedder: str
    retrieval_mode: str
    answer_k: int
    corpus_hash: str
    created: str
    questions: int
    answerable: int
    unanswerable: int
    refused_unanswerable: float
    false_refusals: float
    max_false_refusals: float
    rule_refused: list[str] = Field(default_factory=list)
    """Questions the policy's rules refuse whatever the signal (unknown names, no shared
    word, answer type; counted in the rates above; the threshold was chosen for the
    others)."""
    auc: dict[str, float] = Field(default_factory=dict)
    """Separation of every candidate signal (1.0: every unanswerable question scores
    below every answerable one)."""
    per_question: list[dict] = Field(default_factory=list)


class RefusalPolicy:
    """Refuse when the chosen signal is below the threshold; or whatever the signal
    (:meth:`rule`): when the question names something the corpus never mentions or shares
    no word with it (``check_vocabulary``), or asks for a figure or a name that the
    sentences an answer would quote do not hold (``check_answer_type``,
    :mod:`assistant.answer.answer_type`)."""

    def __init__(
        self,
        signal: str | None,
        threshold: float | None,
        source: str,
        check_answer_type: bool = True,
        check_vocabulary: bool = True,
        everyday_ratio: float | None = None,
    ) -> None:
        self.signal = signal
        self.threshold = threshold
        self.source = source
        """Where the rule came from (calibration file, setting, or none)."""
        self.check_answer_type = check_answer_type
        self.check_vocabulary = check_vocabulary
        self.everyday_ratio = everyday_ratio
        """Off topic when no shared word is this much more the corpus's than everyday
        language's (:func:`everyday_only`; None: not checked)."""

    @property
    def active(self) -> bool:
        return self.signal is not None and self.threshold is not None

    def value(self, ev: Evidence) -> float | None:
        return SIGNALS[self.signal](ev) if self.signal else None

    def refusal(
        self,
        ev: Evidence,
        quoted: Sequence[Unit] | None = None,
        support: float | None = None,
    ) -> Refusal | None:
        """Why ``ev`` is refused (None: answer it); ``quoted`` are the units an answer
        would quote, checked against the question's answer type when given; ``support``
        is :meth:`value` when the caller has computed it already."""
        if not has_content(ev.question):
            return Refusal("no content")
        if not ev.hits or not ev.scored:
            return Refusal("no hits")
        ruled = self.rule(ev, quoted)
        if ruled is not None and ruled.reason != "answer type":
            return ruled
        if self.active:
            value = self.value(ev) if support is None else support
            if value < self.threshold:  # type: ignore[operator]
                return Refusal("weak support")
        return ruled

    def reason(self, ev: Evidence, quoted: Sequence[Unit] | None = None) -> str | None:
        """:meth:`refusal`'s reason alone."""
        found = self.refusal(ev, quoted)
        return found.reason if found else None

    def rule(self, ev: Evidence, quoted: Sequence[Unit] | None = None) -> Refusal | None:
        """The refusals that do not depend on the calibrated signal (what calibration
        takes as given when it chooses the threshold)."""
        if self.check_vocabulary and ev.hits:
            if shares_no_term(ev):
                return Refusal("off topic")
            missing = unknown_names(ev) or unknown_figures(ev)
            if missing:
                return Refusal("unknown name", missing)
            if self.everyday_ratio and everyday_only(ev, self.everyday_ratio):
                return Refusal("off topic")
        if self.check_answer_type and quoted is not None and ev.scored:
            asked = unanswered(ev.question, quoted)
            if asked is not None:
                return Refusal("answer type", asked=asked)
        return None


def load_policy(
    path: Path,
    embedder_id: str,
    override: float | None,
    default_signal: str = "sentence_lift",
    check_answer_type: bool = True,
    check_vocabulary: bool = True,
    everyday_ratio: float | None = None,
) -> RefusalPolicy:
    """The policy from the calibration file; ``override`` replaces its threshold.

    A file calibrated with another embedder is ignored (its scores are on another
    scale) with a warning saying how to recalibrate.
    """
    calibration = read_calibration(path)
    if calibration is not None and calibration.embedder != embedder_id:
        log.warning(
            "refusal calibration %s was measured with embedder %s, not %s; ignoring it "
            f"(run `{command('calibrate-refusal')}`)",
            path,
            calibration.embedder,
            embedder_id,
        )
        calibration = None
    if calibration is not None and calibration.signal not in SIGNALS:
        log.warning(
            "refusal calibration %s uses signal %r, which this version does not compute; "
            f"ignoring it (run `{command('calibrate-refusal')}`)",
            path,
            calibration.signal,
        )
        calibration = None
    if override is not None:
        signal = calibration.signal if calibration else default_signal
        return RefusalPolicy(
            signal,
            override,
            "setting refusal_threshold",
            check_answer_type,
            check_vocabulary,
            everyday_ratio,
        )
    if calibration is None:
        log.warning(
            "no refusal calibration at %s: only questions with no hits are refused "
            f"(run `{command('calibrate-refusal')}`)",
            path,
        )
        return RefusalPolicy(
            None, None, "none", check_answer_type, check_vocabulary, everyday_ratio
        )
    return RefusalPolicy(
        calibration.signal,
        calibration.threshold,
        str(path),
        check_answer_type,
        check_vocabulary,
        everyday_ratio,
    )


def read_calibration(path: Path) -> Calibration | None:
    if not path.is_file():
        return None
    try:
        return Calibration.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable refusal calibration %s: %s", path, exc)
        return None


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """P(answerable scores above unanswerable), ties counting half (Mann-Whitney)."""
    if not positives or not negatives:
        return math.nan
    wins = 0.0
    for p in positives:
        for n in negatives:
            wins += 1.0 if p > n else 0.5 if p == n else 0.0
    return wins / (len(positives) * len(negatives))


def choose_threshold(
    answerable: Sequence[float], unanswerable: Sequence[float], max_false_refusals: float
) -> tuple[float, float, float]:
    """(threshold, share of unanswerable refused, share of answerable refused).

    Refusal is ``value < threshold``. Among thresholds that refuse at most
    ``max_false_refusals`` of the answerable questions, take the one that refuses the
    most unanswerable questions *net of* the answerable ones it also refuses (ties: the
    fewer false refusals): refusing one near miss at the price of three good answers is
    a worse product, however the budget reads. The threshold sits halfway between the
    highest refused value and the next value, for margin.
    """
    pos, neg = list(answerable), list(unanswerable)
    allowed = math.floor(max_false_refusals * len(pos) + 1e-9)
    values = sorted(set(pos) | set(neg))
    best = (0, 0, -math.inf)  # (net refused, -false refusals, threshold)
    for n, value in enumerate(values):
        threshold = (value + values[n + 1]) / 2 if n + 1 < len(values) else value + 1e-6
        false = sum(1 for p in pos if p < threshold)
        if false > allowed:
            break
        refused = sum(1 for v in neg if v < threshold)
        best = max(best, (refused - false, -false, threshold))
    threshold = best[2]
    refused = sum(1 for n in neg if n < threshold) / max(len(neg), 1)
    false = sum(1 for p in pos if p < threshold) / max(len(pos), 1)
    return threshold, refused, false


def calibrate(
    rows: Sequence[tuple[str, bool, dict[str, float]]],
    max_false_refusals: float,
    meta: dict[str, object],
    ruled: Collection[str] = (),
) -> Calibration:
    """Pick the best signal and threshold from ``(id, answerable, signals)`` rows.

    ``ruled`` are the questions :meth:`RefusalPolicy.rule` refuses whatever the signal: the
    threshold is chosen for the others, with the false refusals the check already makes
    taken out of the budget, and the reported rates count both rules."""
    answerable = [r for r in rows if r[1]]
    unanswerable = [r for r in rows if not r[1]]
    if not answerable or not unanswerable:
        raise ValueError("calibration needs both answerable and unanswerable questions")
    ruled = set(ruled)
    ruled_pos = sum(1 for r in answerable if r[0] in ruled)
    ruled_neg = sum(1 for r in unanswerable if r[0] in ruled)
    open_pos = [r for r in answerable if r[0] not in ruled]
    open_neg = [r for r in unanswerable if r[0] not in ruled]
    budget = math.floor(max_false_refusals * len(answerable) + 1e-9) - ruled_pos
    share = max(budget, 0) / len(open_pos) if open_pos else 0.0
    results = {}
    for name in SIGNALS:
        pos = [r[2][name] for r in open_pos]
        neg = [r[2][name] for r in open_neg]
        if pos and neg:
            threshold, _, _ = choose_threshold(pos, neg, share)
        else:
            threshold = -math.inf
        refused_n = ruled_neg + sum(v < threshold for v in neg)
        false_n = ruled_pos + sum(v < threshold for v in pos)
        separation = auc([r[2][name] for r in answerable], [r[2][name] for r in unanswerable])
        results[name] = (
            refused_n - false_n,
            separation,
            -false_n,
            threshold,
            refused_n / len(unanswerable),
            false_n / len(answerable),
        )
    best = max(results, key=lambda name: results[name][:3])
    _, _, _, threshold, refused, false = results[best]
    return Calibration(
        signal=best,
        threshold=round(threshold, 6) if math.isfinite(threshold) else -1e9,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        questions=len(rows),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        refused_unanswerable=round(refused, 4),
        false_refusals=round(false, 4),
        max_false_refusals=max_false_refusals,
        rule_refused=sorted(ruled),
        auc={name: round(v[1], 4) for name, v in results.items()},
        per_question=[
            {
                "id": qid,
                "answerable": ok,
                "rule_refused": qid in ruled,
                **{k: round(v, 5) for k, v in signals.items()},
            }
            for qid, ok, signals in rows
        ],
        **meta,  # type: ignore[arg-type]
    )


def write_calibration(calibration: Calibration, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(
        json.dumps(calibration.model_dump(), ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    os.replace(tmp, path)


def measure(
    pipeline, questions: Sequence[tuple[str, str, bool]]
) -> tuple[list[tuple[str, bool, dict]], list[str]]:
    """Every signal for each ``(id, question, answerable)``, from the live pipeline, and
    the ids of the questions its policy refuses whatever the signal (:meth:`RefusalPolicy.rule`)."""
    from assistant.answer.extractive import select

    rows, ruled = [], []
    for qid, text, answerable in questions:
        ev = pipeline.evidence(text)
        rows.append((qid, answerable, {name: float(fn(ev)) for name, fn in SIGNALS.items()}))
        quoted = [unit for unit, _ in select(ev.scored, pipeline.limits)]
        if pipeline.policy.rule(ev, quoted) is not None:
            ruled.append(qid)
    return rows, ruled
