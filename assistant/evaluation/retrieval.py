"""Retrieval evaluation over a question file: metrics per mode, language and gold kind.

Shaped like sentence-transformers' ``evaluation/`` package: an evaluator is a plain
object built from the questions, and calling it on something that retrieves returns a
report. The metric formulas are llama-index's (``HitRate``, ``MRR``, ``NDCG``,
``Recall`` from ``RetrieverEvaluator``); what is product-specific, and so written
here, is relevance: a hit counts when its *section number* is in the question's gold
``sections`` or it is the abstract of a paper in ``arxiv``, so hits are first mapped to
those keys and de-duplicated (two chunks of one section are one result).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Literal, Protocol

import numpy as np
from llama_index.core.evaluation.retrieval.metrics import MRR, NDCG, HitRate, Recall
from pydantic import BaseModel, Field, ValidationError

from assistant.errors import InvalidInput
from assistant.models import Chunk, Hit
from assistant.settings import RetrievalMode
from assistant.text import detect_language

log = logging.getLogger(__name__)

GoldKind = Literal["section", "abstract"]
"""``section``: only survey sections are gold; ``abstract``: a linked paper is gold too."""

HIT_AT = (1, 3, 5)
RECALL_AT = 5
MIN_K = max(*HIT_AT, RECALL_AT)
MISS_SHOWN = 3
"""How many of the hits that came instead a miss lists."""


class EvalQuestion(BaseModel):
    """One line of a question file (``eval/questions.jsonl``)."""

    id: str
    question: str
    lang: str | None = None
    """``zh`` or ``en``; detected from the question when absent."""
    sections: list[str] = Field(default_factory=list)
    """Gold section refs: dotted numbers, or section ids for unnumbered headings."""
    arxiv: list[str] = Field(default_factory=list)
    answerable: bool = True
    expect: list[str] = Field(default_factory=list)
    """Strings a correct answer contains (used by answer evaluation, not here)."""
    tags: list[str] = Field(default_factory=list)
    chapter: str | None = None
    """Folder of the corpus its gold sections are in (the union test bed, where section
    numbers repeat across chapters); None: a section of that number in any file."""

    @property
    def language(self) -> str:
        return self.lang or detect_language(self.question)

    @property
    def gold(self) -> list[str]:
        """Relevance keys, as :func:`relevance_key` produces them for hits."""
        where = f"{self.chapter}/" if self.chapter else ""
        return [f"§{where}{s}" for s in self.sections] + [f"arXiv:{a}" for a in self.arxiv]

    def is_relevant(self, chunk: Chunk) -> bool:
        """A chunk of a gold section (in :attr:`chapter`), or a gold paper's abstract."""
        return relevance_key(chunk, self.chapter is not None) in self.gold

    @property
    def kind(self) -> GoldKind:
        """Reported split: questions with a gold paper are ``abstract`` questions."""
        return "abstract" if self.arxiv else "section"


def load_questions(path: Path) -> list[EvalQuestion]:
    """Questions from a JSONL file; :class:`InvalidInput` names the first bad line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(
            f"cannot read the question file {path} ({exc.strerror or exc}); "
            "pass --questions FILE (JSONL, one question per line)"
        ) from exc
    questions: list[EvalQuestion] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            questions.append(EvalQuestion.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as exc:
            first = str(exc).splitlines()[0]
            raise InvalidInput(f"{path}:{number} is not a valid question ({first})") from exc
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise InvalidInput(f"{path}: question id {dup!r} appears more than once")
    if not any(q.answerable and q.gold for q in questions):
        raise InvalidInput(f"{path} has no answerable question with gold sections or arxiv")
    return questions


def relevance_key(chunk: Chunk, chapters: bool = False) -> str:
    """``§<section ref>`` for section chunks, ``arXiv:<id>`` for abstracts.

    With ``chapters``, a section's key names the folder of its file too
    (``§heldout8/11.2.1``), so that equal numbers in two chapters are two results.
    """
    if chunk.kind == "abstract":
        return f"arXiv:{chunk.arxiv_id}"
    ref = chunk.section or chunk.section_id
    if chapters:
        folder = f"{PurePosixPath(chunk.source).parent.as_posix()}/"
        return f"§{ref}" if ref.startswith(folder) else f"§{folder}{ref}"
    return f"§{ref}"


def ranked_keys(hits: Iterable[Hit], chapters: bool = False) -> list[str]:
    """Relevance keys of ``hits`` in rank order, each once (its best rank)."""
    return list(dict.fromkeys(relevance_key(h.chunk, chapters) for h in hits))


_HIT = HitRate()
_MRR = MRR()
_NDCG = NDCG()
_RECALL = Recall()


def question_metrics(gold: Sequence[str], keys: Sequence[str], k: int) -> dict[str, float]:
    """hit@1/3/5, MRR@k, nDCG@k (binary gains) and recall@5 of one ranked key list.

    ``keys`` must be de-duplicated (:func:`ranked_keys`). llama-index's nDCG divides by
    the ideal DCG of *all* gold keys, which is nDCG@k as long as a question has at most
    ``k`` of them (``k`` is at least 5 here).
    """
    if not gold:
        raise ValueError("a question without gold keys has no retrieval metrics")

    def score(metric, cut: int) -> float:
        top = list(keys[:cut])
        return metric.compute(expected_ids=list(gold), retrieved_ids=top).score if top else 0.0

    out = {f"hit@{n}": score(_HIT, n) for n in HIT_AT}
    out[f"mrr@{k}"] = score(_MRR, k)
    out[f"ndcg@{k}"] = score(_NDCG, k)
    out[f"recall@{RECALL_AT}"] = score(_RECALL, RECALL_AT)
    return out


# --- report models --------------------------------------------------------------------------


class QuestionResult(BaseModel):
    """How one question fared in one mode."""

    id: str
    mode: str
    lang: str
    kind: GoldKind
    question: str
    gold: list[str]
    ranks: list[int]
    """1-based ranks (within k, after de-duplication) of the relevant results."""
    hit_sections: list[str]
    """What was retrieved, in rank order: ``§17.4`` or ``arXiv:2502.10498``."""
    metrics: dict[str, float]
    latency_ms: float
    """Retrieval time without the query embedding."""
    embed_ms: float

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "mode": self.mode,
            "lang": self.lang,
            "kind": self.kind,
            "gold": self.gold,
            "ranks": self.ranks,
            "hit_sections": self.hit_sections,
            "latency_ms": round(self.latency_ms, 3),
            "embed_ms": round(self.embed_ms, 3),
        }


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def summarize(results: Sequence[QuestionResult]) -> dict[str, float]:
    """Mean metrics and latency percentiles over ``results`` (one mode)."""
    if not results:
        return {"n": 0}
    names = list(results[0].metrics)
    out: dict[str, float] = {"n": len(results)}
    for name in names:
        out[name] = round(float(np.mean([r.metrics[name] for r in results])), 4)
    latency = [r.latency_ms for r in results]
    embed = [r.embed_ms for r in results]
    out["p50_ms"] = round(_percentile(latency, 50), 2)
    out["p95_ms"] = round(_percentile(latency, 95), 2)
    out["embed_p50_ms"] = round(_percentile(embed, 50), 2)
    out["embed_p95_ms"] = round(_percentile(embed, 95), 2)
    return out


class RetrievalReport(BaseModel):
    """Everything one evaluation run measured."""

    k: int
    modes: list[str]
    questions_file: str | None = None
    questions: int = 0
    """Questions in the file (answerable or not)."""
    results: list[QuestionResult] = Field(default_factory=list)
    created_at: str = Field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )
    meta: dict[str, object] = Field(default_factory=dict)
    """Corpus, index and settings the run used."""

    def for_mode(self, mode: str) -> list[QuestionResult]:
        return [r for r in self.results if r.mode == mode]

    def summary(self, mode: str) -> dict:
        """The ``modes.<mode>`` object of the JSON output."""
        rows = self.for_mode(mode)
        out: dict = summarize(rows)
        for field, split in (("by_language", "lang"), ("by_kind", "kind")):
            groups: dict[str, list[QuestionResult]] = {}
            for row in rows:
                groups.setdefault(getattr(row, split), []).append(row)
            out[field] = {name: summarize(group) for name, group in sorted(groups.items())}
        return out

    def misses(self, mode: str, cut: int = HIT_AT[-1]) -> list[QuestionResult]:
        """Questions of ``mode`` with no relevant result in the top ``cut``."""
        return [r for r in self.for_mode(mode) if not any(rank <= cut for rank in r.ranks)]

    def to_json(self) -> dict:
        return {
            "k": self.k,
            "created_at": self.created_at,
            "questions_file": self.questions_file,
            "questions": self.questions,
            "meta": self.meta,
            "modes": {mode: self.summary(mode) for mode in self.modes},
            "per_question": [r.to_json() for r in self.results],
        }

    def to_text(self) -> str:
        return format_report(self)


# --- the evaluator --------------------------------------------------------------------------


class Retrieves(Protocol):
    """Anything with :meth:`assistant.Assistant.retrieve`'s signature."""

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        mode: RetrievalMode | None = None,
        timings: dict[str, float] | None = None,
    ) -> list[Hit]: ...


class RetrievalEvaluator:
    """Runs every answerable question through each mode and scores the ranked results.

    >>> evaluator = RetrievalEvaluator(load_questions(path), ["hybrid"], k=10)  # doctest: +SKIP
    >>> evaluator(assistant).summary("hybrid")["hit@5"]                        # doctest: +SKIP
    """

    name = "retrieval"

    def __init__(
        self,
        questions: Sequence[EvalQuestion],
        modes: Sequence[RetrievalMode] = ("hybrid",),
        k: int = 10,
        questions_file: str | None = None,
        warmup: int = 1,
    ) -> None:
        if not isinstance(k, int) or not MIN_K <= k <= 100:
            raise InvalidInput(f"k must be an integer from {MIN_K} to 100, got {k!r}")
        self.all_questions = list(questions)
        self.questions = [q for q in questions if q.answerable and q.gold]
        if not self.questions:
            raise InvalidInput("no answerable question with gold sections or arxiv to evaluate")
        self.modes = list(modes)
        self.k = k
        self.questions_file = questions_file
        self.warmup = warmup

    def __call__(
        self, retriever: Retrieves, progress: Callable[[str], None] | None = None
    ) -> RetrievalReport:
        report = RetrievalReport(
            k=self.k,
            modes=self.modes,
            questions_file=self.questions_file,
            questions=len(self.all_questions),
        )
        for mode in self.modes:
            for question in self.questions[: self.warmup]:
                retriever.retrieve(question.question, k=self.k, mode=mode)
            for question in self.questions:
                report.results.append(self._one(retriever, question, mode))
            if progress:
                progress(mode)
        return report

    def _one(self, retriever: Retrieves, question: EvalQuestion, mode: str) -> QuestionResult:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        hits = retriever.retrieve(question.question, k=self.k, mode=mode, timings=timings)
        total = (time.perf_counter() - t0) * 1000
        embed = timings.get("embed_ms", 0.0)
        keys = ranked_keys(hits, question.chapter is not None)[: self.k]
        gold = question.gold
        return QuestionResult(
            id=question.id,
            mode=mode,
            lang=question.language,
            kind=question.kind,
            question=question.question,
            gold=gold,
            ranks=[n for n, key in enumerate(keys, 1) if key in gold],
            hit_sections=keys,
            metrics=question_metrics(gold, keys, self.k),
            latency_ms=max(0.0, total - embed),
            embed_ms=embed,
        )


# --- output ---------------------------------------------------------------------------------


def _table(report: RetrievalReport) -> list[str]:
    k = report.k
    names = [*(f"hit@{n}" for n in HIT_AT), f"mrr@{k}", f"ndcg@{k}", f"recall@{RECALL_AT}"]
    head = f"{'mode':<7} {'split':<9} {'n':>3}  " + "  ".join(f"{n:>8}" for n in names)
    head += f"  {'p50 ms':>7}  {'p95 ms':>7}"
    lines = [head, "-" * len(head)]
    for mode in report.modes:
        summary = report.summary(mode)
        rows = [("all", summary)]
        rows += [(f"lang {name}", s) for name, s in summary["by_language"].items()]
        rows += [(name, s) for name, s in summary["by_kind"].items()]
        for n, (label, s) in enumerate(rows):
            cells = "  ".join(f"{s.get(name, 0.0):>8.3f}" for name in names)
            lines.append(
                f"{mode if n == 0 else '':<7} {label:<9} {s['n']:>3}  {cells}"
                f"  {s['p50_ms']:>7.1f}  {s['p95_ms']:>7.1f}"
            )
    return lines


def format_report(report: RetrievalReport, misses_for: Sequence[str] | None = None) -> str:
    """The human-readable report: tables, embedding share and the misses."""
    n = len(report.for_mode(report.modes[0])) if report.modes else 0
    lines = [
        f"retrieval: {n} answerable of {report.questions} questions "
        f"({report.questions_file or 'in memory'}), k={report.k}",
        "split: lang = question language; section = gold is survey sections only, "
        "abstract = a linked paper is gold too",
        "latency: per query, warm, excluding the query embedding",
        "",
        *_table(report),
        "",
    ]
    for mode in report.modes:
        s = report.summary(mode)
        if s.get("embed_p50_ms"):
            lines.append(
                f"{mode}: query embedding p50 {s['embed_p50_ms']:.1f} ms, "
                f"p95 {s['embed_p95_ms']:.1f} ms (not in the table)"
            )
    for mode in misses_for if misses_for is not None else report.modes:
        missed = report.misses(mode)
        lines.append("")
        lines.append(f"{mode}: {len(missed)} missed (no relevant result in the top {HIT_AT[-1]})")
        for r in missed:
            came = ", ".join(r.hit_sections[:MISS_SHOWN]) or "nothing"
            lines.append(f"  {r.id} [{', '.join(r.gold)}] {r.question}")
            lines.append(f"      got: {came}")
    return "\n".join(lines)


def save_report(
    report: RetrievalReport, folder: Path, payload: dict | None = None, kind: str = "retrieval"
) -> Path:
    """Write the run as ``<folder>/<UTC timestamp>-<kind>.json``; returns the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{stamp}-{kind}.json"
    data = payload if payload is not None else report.to_json()
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
