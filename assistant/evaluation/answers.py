"""Answer-level evaluation: are citations relevant, are unanswerable questions refused?

``AnswerEvaluator(questions)(assistant)`` asks every question and measures:

- citation precision: cited chunks that are relevant (a section chunk of a gold section,
  or the abstract of a gold paper), over answers to answerable questions;
- citation recall: answerable questions whose answer cites a gold section or paper;
- refusal accuracy on unanswerable questions and false-refusal rate on answerable ones;
- language match: answers in the question's language (meaningful for LLM backends; the
  extractive answer quotes the sources in their own language);
- mean ``grounded``; and the share of answers containing an expected string (``expect``:
  the figure or name the answer must give; any one of them, and all of them), in the
  answer's text and in what the user is shown (the text and its citations' quotes);
- for LLM answers, claim by claim (:mod:`assistant.answer.claims`): claim-level citation
  precision (supported claims whose citation is a gold source), unsupported claims,
  repaired markers, and replies replaced by the extractive answer.
"""

from __future__ import annotations

import json
import logging
import re
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from assistant.answer.citations import MARKER, split_claims
from assistant.evaluation.retrieval import EvalQuestion, relevance_key
from assistant.models import Answer
from assistant.text import detect_language

if TYPE_CHECKING:
    from assistant.interfaces.api import Assistant

log = logging.getLogger(__name__)


def normal_text(text: str) -> str:
    """How expected strings are compared: NFKC, case-folded, dashes unified, no spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[‐‑‒–—―]", "-", text)
    return "".join(text.split())


def shown_text(answer: Answer) -> str:
    """What the user reads: the answer and the quotes shown with its citations."""
    quotes = [q for c in answer.citations for q in (c.quotes or (c.quote,)) if q]
    return "\n".join([answer.text, *quotes])


def holds_expected(answer: Answer, expected: Sequence[str]) -> bool:
    shown = normal_text(MARKER.sub("", shown_text(answer)))
    return not answer.refused and any(normal_text(e) in shown for e in expected)


class QuestionResult(BaseModel):
    id: str
    answerable: bool
    tags: list[str] = Field(default_factory=list)
    refused: bool
    cited: list[str]
    """Cited chunks as ``§section`` or ``arXiv:ID``."""
    relevant_citations: int
    cites_gold: bool
    expect_any: bool | None
    expect_all: bool | None
    language_match: bool | None
    grounded: float
    claims: bool
    expect_shown: bool | None = None
    """An expected string in the answer or the quotes shown with its citations."""
    llm_claims: int = 0
    """Claims of the LLM's reply (0 for quoted answers)."""
    supported_claims: int = 0
    gold_claims: int = 0
    """Supported claims whose citation is a gold section or paper."""
    unsupported_claims: int = 0
    repaired_markers: int = 0
    replaced: bool = False
    error: str | None
    support: float | None
    seconds: float
    answer: str


class AnswerMetrics(BaseModel):
    backend: str
    questions: int
    answerable: int
    unanswerable: int
    citation_precision: float | None
    citation_recall: float | None
    refusal_accuracy: float | None
    false_refusal_rate: float | None
    language_match: float | None
    mean_grounded: float | None
    expect_any: float | None
    expect_all: float | None
    expect_shown: float | None = None
    claims: int = 0
    claim_citation_precision: float | None = None
    unsupported_claims: float | None = None
    """Share of the LLM's claims no retrieved source supports."""
    repaired_markers: int = 0
    replaced_answers: int = 0
    errors: int
    seconds_per_question: float
    results: list[QuestionResult] = Field(default_factory=list)

    def to_json(self) -> dict:
        """Metrics and per-question results, for ``eval --answers --json``."""
        return self.model_dump()

    def to_text(self) -> str:
        rows = self.table()
        width = max(len(name) for name, _ in rows)
        return "answers:\n" + "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)

    def table(self) -> list[tuple[str, str]]:
        """Rows for a human report: (metric, value)."""

        def fmt(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.3f}"

        return [
            ("backend", self.backend),
            ("questions (answerable / unanswerable)", f"{self.answerable} / {self.unanswerable}"),
            ("citation precision", fmt(self.citation_precision)),
            ("citation recall", fmt(self.citation_recall)),
            ("refusal accuracy (unanswerable)", fmt(self.refusal_accuracy)),
            ("false-refusal rate (answerable)", fmt(self.false_refusal_rate)),
            ("expected string present (any)", fmt(self.expect_any)),
            ("expected strings present (all)", fmt(self.expect_all)),
            ("expected string shown (answer + quotes)", fmt(self.expect_shown)),
            ("language match", fmt(self.language_match)),
            ("mean grounded", fmt(self.mean_grounded)),
            ("LLM claims", str(self.claims)),
            ("claim-level citation precision", fmt(self.claim_citation_precision)),
            ("unsupported claims (share)", fmt(self.unsupported_claims)),
            ("repaired markers", str(self.repaired_markers)),
            ("replies replaced by the quoted answer", str(self.replaced_answers)),
            ("LLM errors", str(self.errors)),
            ("seconds per question", f"{self.seconds_per_question:.2f}"),
        ]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


class AnswerEvaluator:
    """Asks every question of a set and scores the answers.

    ``k`` is accepted for the ``eval --answers`` hook; answers read ``settings.answer_k``
    hits whatever the retrieval report's cut-off.
    """

    def __init__(self, questions: Sequence[EvalQuestion], k: int | None = None) -> None:
        self.questions = list(questions)

    def score(self, question: EvalQuestion, answer: Answer, seconds: float) -> QuestionResult:
        cited, relevant, gold_hit = [], 0, False
        by_id = {h.chunk.id: h.chunk for h in answer.hits}
        for citation in answer.citations:
            chunk = by_id.get(citation.chunk_id)
            if chunk is None:
                continue
            cited.append(relevance_key(chunk, question.chapter is not None))
            ok = question.is_relevant(chunk)
            relevant += ok
            gold_hit = gold_hit or ok
        body = MARKER.sub("", answer.text)
        expect_any = expect_all = expect_shown = None
        if question.expect and not answer.refused:
            found = [normal_text(e) in normal_text(body) for e in question.expect]
            expect_any, expect_all = any(found), all(found)
            expect_shown = holds_expected(answer, question.expect)
        elif question.expect:
            expect_any = expect_all = expect_shown = False
        language = None
        if not answer.refused and answer.backend != "none" and not answer.fallback:
            language = detect_language(body) == question.language
        supported = gold = 0
        # a quoted answer's sentences without a marker are no LLM claims
        unsupported = len(answer.unsupported) if answer.backend != "none" else 0
        if answer.backend != "none" and answer.replaced is None:
            for claim in split_claims(answer.text):
                if not claim.markers or not 0 < claim.markers[0] <= len(answer.citations):
                    continue
                supported += 1
                citation = answer.citations[claim.markers[0] - 1]
                chunk = by_id.get(citation.chunk_id)
                gold += chunk is not None and question.is_relevant(chunk)
        return QuestionResult(
            id=question.id,
            answerable=question.answerable,
            tags=question.tags,
            refused=answer.refused,
            cited=cited,
            relevant_citations=relevant,
            cites_gold=gold_hit,
            expect_any=expect_any,
            expect_all=expect_all,
            expect_shown=expect_shown,
            language_match=language,
            grounded=answer.grounded,
            claims=bool(answer.citations or answer.unsupported),
            llm_claims=supported + unsupported,
            supported_claims=supported,
            gold_claims=gold,
            unsupported_claims=unsupported,
            repaired_markers=len(answer.repaired),
            replaced=answer.replaced is not None,
            error=answer.error,
            support=answer.support,
            seconds=round(seconds, 3),
            answer=answer.text,
        )

    def __call__(self, assistant: Assistant) -> AnswerMetrics:
        results: list[QuestionResult] = []
        backend = assistant.settings.llm_backend
        for question in self.questions:
            t0 = time.perf_counter()
            answer = assistant.ask(question.question)
            results.append(self.score(question, answer, time.perf_counter() - t0))
            log.info("%s refused=%s cited=%s", question.id, answer.refused, results[-1].cited)
        return self.summarise(backend, results)

    @staticmethod
    def summarise(backend: str, results: Sequence[QuestionResult]) -> AnswerMetrics:
        answerable = [r for r in results if r.answerable]
        unanswerable = [r for r in results if not r.answerable]
        answered = [r for r in answerable if not r.refused]
        cited = sum(len(r.cited) for r in answered)
        relevant = sum(r.relevant_citations for r in answered)
        expect = [r for r in answerable if r.expect_any is not None]
        supported = sum(r.supported_claims for r in answerable)
        llm_claims = sum(r.llm_claims for r in results)
        languages = [r.language_match for r in results if r.language_match is not None]
        return AnswerMetrics(
            backend=backend,
            questions=len(results),
            answerable=len(answerable),
            unanswerable=len(unanswerable),
            citation_precision=relevant / cited if cited else None,
            citation_recall=_mean([float(r.cites_gold) for r in answerable]),
            refusal_accuracy=_mean([float(r.refused) for r in unanswerable]),
            false_refusal_rate=_mean([float(r.refused) for r in answerable]),
            language_match=_mean([float(x) for x in languages]),
            mean_grounded=_mean([r.grounded for r in results if not r.refused and r.claims]),
            expect_any=_mean([float(bool(r.expect_any)) for r in expect]),
            expect_all=_mean([float(bool(r.expect_all)) for r in expect]),
            expect_shown=_mean([float(bool(r.expect_shown)) for r in expect]),
            claims=sum(r.llm_claims for r in results),
            claim_citation_precision=(
                sum(r.gold_claims for r in answerable) / supported if supported else None
            ),
            unsupported_claims=(
                sum(r.unsupported_claims for r in results) / llm_claims if llm_claims else None
            ),
            repaired_markers=sum(r.repaired_markers for r in results),
            replaced_answers=sum(r.replaced for r in results),
            errors=sum(1 for r in results if r.error),
            seconds_per_question=_mean([r.seconds for r in results]) or 0.0,
            results=list(results),
        )


def write_report(metrics: AnswerMetrics, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(metrics.model_dump(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
