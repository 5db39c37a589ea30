"""Fitting a retrieval setting across corpora, checked leave-one-corpus-out.

A weight fitted on the questions of one chapter fits that chapter. So a setting that has
to be fitted on questions at all (``bm25_weight``, the weight of BM25's evidence against
dense in hybrid fusion) is chosen on every chapter but one, and judged on the one left
out, once per chapter: what a new survey can expect is the held-out figure, not the
fitted one.

Objective of a candidate value on a set of training chapters: the mean of hit@5 and
MRR@10 (hybrid), half from each training chapter indexed alone (their mean) and half from
the training chapters' questions asked on the union index (the whole survey, which is what
users index). Ties go to the first value listed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from assistant.errors import InvalidInput
from assistant.evaluation.retrieval import EvalQuestion, QuestionResult, RetrievalEvaluator
from assistant.evaluation.union import UNION, set_of
from assistant.search.retrieval import Retriever
from assistant.settings import Settings

FITTABLE = ("bm25_weight", "rrf_k", "candidate_k")
"""Retrieval settings the fit can vary (each is read when a retriever is built)."""
MODE = "hybrid"


def parse_grid(text: str) -> tuple[str, list[float]]:
    """``bm25_weight=0.8,1,1.2`` → ``("bm25_weight", [0.8, 1.0, 1.2])``."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or name not in FITTABLE:
        raise InvalidInput(f"--fit wants SETTING=V1,V2,… with SETTING one of {', '.join(FITTABLE)}")
    try:
        grid = [float(v) for v in values.split(",") if v.strip()]
    except ValueError as exc:
        raise InvalidInput(f"--fit values must be numbers: {values!r}") from exc
    if len(grid) < 2:
        raise InvalidInput("--fit needs at least two values to choose from")
    return name, grid


class Fold(BaseModel):
    held_out: str
    chosen: float
    alone: dict[str, float]
    """hit@5 and mrr@10 of the held-out chapter indexed alone, with the chosen value."""
    union: dict[str, float]
    """The same for its questions on the union index."""
    halves: dict[str, dict[str, float]] = Field(default_factory=dict)
    """dense and bm25 alone on the held-out chapter (for "never below its better half")."""


class FitReport(BaseModel):
    setting: str
    grid: list[float]
    chosen_on_all: float
    """The value every corpus together picks (what the default should be)."""
    folds: list[Fold]
    held_out_union: dict[str, dict[str, float]]
    """Union questions, each answered with its own fold's value: all, zh, en."""
    by_value: dict[str, dict[str, float]]
    """Fitted (not held-out) figures of each value: union and mean of the chapters alone."""

    def to_text(self) -> str:
        lines = [
            f"{self.setting}: chosen leave-one-corpus-out from {self.grid}; "
            f"on all corpora together: {self.chosen_on_all:g}",
            "",
            f"{'held out':<10} {'value':>6}  {'alone hit@5/MRR':>16}  {'dense':>11}  "
            f"{'bm25':>11}  {'on union':>11}",
        ]
        for f in self.folds:
            d, b = f.halves.get("dense", {}), f.halves.get("bm25", {})
            lines.append(
                f"{f.held_out:<10} {f.chosen:>6g}  {f.alone['hit@5']:>7.3f}/{f.alone['mrr@10']:.3f}"
                f"  {d.get('hit@5', 0):.3f}/{d.get('mrr@10', 0):.3f}"
                f"  {b.get('hit@5', 0):.3f}/{b.get('mrr@10', 0):.3f}"
                f"  {f.union['hit@5']:.3f}/{f.union['mrr@10']:.3f}"
            )
        lines.append("")
        for lang, m in self.held_out_union.items():
            lines.append(
                f"held-out union ({lang}, n={int(m['n'])}): "
                f"hit@5 {m['hit@5']:.3f}, MRR@10 {m['mrr@10']:.3f}"
            )
        lines += ["", "fitted figures per value (union; mean of chapters alone):"]
        for value, m in self.by_value.items():
            lines.append(
                f"  {value:>6}  union {m['union_hit@5']:.3f}/{m['union_mrr@10']:.3f}  "
                f"alone {m['alone_hit@5']:.3f}/{m['alone_mrr@10']:.3f}"
            )
        return "\n".join(lines)


def _mean(rows: Sequence[QuestionResult], metric: str) -> float:
    return float(np.mean([r.metrics[metric] for r in rows])) if rows else 0.0


def _both(rows: Sequence[QuestionResult]) -> dict[str, float]:
    return {"hit@5": _mean(rows, "hit@5"), "mrr@10": _mean(rows, "mrr@10"), "n": len(rows)}


class LeaveOneCorpusOut:
    """Chooses ``setting`` from ``grid`` once per held-out chapter; see the module doc.

    Called with the union retriever's parts and each chapter's (``UnionBed.assistant``
    and ``UnionBed.alone()``), it builds one retriever per value over the loaded
    indexes, so nothing is re-indexed.
    """

    def __init__(self, questions: Sequence[EvalQuestion], setting: str, grid: Sequence[float]):
        if setting not in FITTABLE:
            raise InvalidInput(f"cannot fit {setting!r}; one of {', '.join(FITTABLE)}")
        self.questions = [q for q in questions if q.answerable and q.gold]
        self.sets = list(dict.fromkeys(set_of(q.id) for q in self.questions))
        if len(self.sets) < 2:
            raise InvalidInput("leave-one-corpus-out needs at least two question sets")
        self.setting = setting
        self.grid = list(grid)

    def _retriever(self, assistant, value: float | None) -> Retriever:
        settings: Settings = assistant.settings
        if value is not None:
            kind = type(getattr(settings, self.setting))
            settings = settings.model_copy(update={self.setting: kind(value)})
        return Retriever(assistant.index, assistant.embedder, settings)

    def _own(self, name: str) -> list[EvalQuestion]:
        return [
            q.model_copy(update={"chapter": None}) for q in self.questions if set_of(q.id) == name
        ]

    def _run(self, assistant, value, questions, modes) -> list[QuestionResult]:
        retriever = self._retriever(assistant, value)
        return RetrievalEvaluator(questions, modes, k=10, warmup=0)(retriever).results

    def __call__(self, union, alone: dict) -> FitReport:
        missing = [s for s in self.sets if s not in alone]
        if missing:
            raise InvalidInput(f"no chapter index for {', '.join(missing)}")
        runs: dict[float, dict[str, list[QuestionResult]]] = {}
        for value in self.grid:
            runs[value] = {UNION: self._run(union, value, self.questions, [MODE])}
            for name in self.sets:
                runs[value][name] = self._run(alone[name], value, self._own(name), [MODE])
        halves = {
            name: self._run(alone[name], None, self._own(name), ["dense", "bm25"])
            for name in self.sets
        }

        def quality(rows: Sequence[QuestionResult]) -> float:
            return _mean(rows, "hit@5") + _mean(rows, "mrr@10")

        def objective(value: float, train: Sequence[str]) -> float:
            chapters = float(np.mean([quality(runs[value][s]) for s in train]))
            whole = quality([r for r in runs[value][UNION] if set_of(r.id) in train])
            return 0.5 * chapters + 0.5 * whole

        folds: list[Fold] = []
        held: list[QuestionResult] = []
        for name in self.sets:
            train = [s for s in self.sets if s != name]
            chosen = max(self.grid, key=lambda v: objective(v, train))
            own_union = [r for r in runs[chosen][UNION] if set_of(r.id) == name]
            held += own_union
            folds.append(
                Fold(
                    held_out=name,
                    chosen=chosen,
                    alone=_both(runs[chosen][name]),
                    union=_both(own_union),
                    halves={
                        mode: _both([r for r in halves[name] if r.mode == mode])
                        for mode in ("dense", "bm25")
                    },
                )
            )
        by_value = {}
        for value in self.grid:
            chapters = [runs[value][s] for s in self.sets]
            by_value[f"{value:g}"] = {
                "union_hit@5": _mean(runs[value][UNION], "hit@5"),
                "union_mrr@10": _mean(runs[value][UNION], "mrr@10"),
                "alone_hit@5": float(np.mean([_mean(c, "hit@5") for c in chapters])),
                "alone_mrr@10": float(np.mean([_mean(c, "mrr@10") for c in chapters])),
            }
        return FitReport(
            setting=self.setting,
            grid=self.grid,
            chosen_on_all=max(self.grid, key=lambda v: objective(v, self.sets)),
            folds=folds,
            held_out_union={
                "all": _both(held),
                **{lang: _both([r for r in held if r.lang == lang]) for lang in ("zh", "en")},
            },
            by_value=by_value,
        )
