"""How well the claim check (:mod:`assistant.answer.claims`) judges claims, on labelled replies.

``eval/claims/`` holds LLM replies whose claims were labelled by hand, each with the
sources that support it (none: unsupported) and one line of reason:

- ``transcript-labels.jsonl`` labels the replies a real small model gave to the project's
  own prompts (``qwen2.5-coder-1.5b-q4.jsonl``, recorded with the exact request); their
  markers are re-pointed from the chunks the model was shown to wherever those chunks
  rank now;
- ``cases.jsonl`` holds written replies in small models' habits (wrong figure, wrong row,
  wrong source, no marker, marker at line start, English over a Chinese source, lists),
  citing sources as ``{§17.3}`` or ``{arXiv:2511.16333}``, resolved against the retrieved
  hits.

Each reply is checked against the hits retrieved for its question. A claim counts as
correctly supported when the check shows it supported by a source its label lists;
precision is over the claims the check shows as supported, recall over those the labels
support.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from assistant.answer.citations import MARKER, split_claims
from assistant.answer.claims import Verdict, check_claims
from assistant.errors import InvalidInput
from assistant.evaluation.answers import holds_expected
from assistant.evaluation.retrieval import EvalQuestion
from assistant.models import Chunk, Hit
from assistant.prompts import defuse

if TYPE_CHECKING:
    from assistant.interfaces.api import Assistant

TRANSCRIPT_LABELS = "transcript-labels.jsonl"
CASES = "cases.jsonl"
_RECORDED_SOURCE = re.compile(
    r'<source marker="\[(\d+)\]" from="[^"]*">\n(.*?)\n</source>', re.DOTALL
)
_PLACEHOLDER = re.compile(r"\{(§[\d.]+|arXiv:[\d.]+)\}")


class LabelledClaim(BaseModel):
    claim: str
    support: list[str]
    """Sources (``§17.3``, ``arXiv:2511.16333``) whose units support it; empty: none does."""
    reason: str
    kind: str = ""


class LabelledReply(BaseModel):
    id: str
    question: str
    reply: str
    """With markers numbered after ``hits``."""
    hits: list[Hit]
    """The sources the reply was written from: for a recorded reply, the chunks the
    model was shown, in that order; for a written one, those retrieved now."""
    claims: list[LabelledClaim]
    transcript: bool = False


class ClaimResult(BaseModel):
    case: str
    claim: str
    kind: str
    expected: list[str]
    shown: str | None
    """The source the check shows it supported by (None: flagged unsupported)."""
    status: str
    correct: bool
    reason: str


class ClaimMetrics(BaseModel):
    claims: int
    labelled_supported: int
    shown_supported: int
    correct_supported: int
    precision: float | None
    recall: float | None
    accuracy: float
    results: list[ClaimResult] = Field(default_factory=list)

    def table(self) -> list[tuple[str, str]]:
        def fmt(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.3f}"

        return [
            ("labelled claims (supported / all)", f"{self.labelled_supported} / {self.claims}"),
            ("shown as supported", str(self.shown_supported)),
            ("precision (shown supported, by a labelled source)", fmt(self.precision)),
            ("recall (labelled supported, shown so)", fmt(self.recall)),
            ("accuracy (every verdict)", fmt(self.accuracy)),
        ]

    def to_text(self) -> str:
        rows = self.table()
        width = max(len(name) for name, _ in rows)
        lines = ["claim check:", *(f"  {name:<{width}}  {value}" for name, value in rows)]
        wrong = [r for r in self.results if not r.correct]
        if wrong:
            lines.append("  mistakes:")
            for r in wrong:
                lines.append(
                    f"    {r.case}: {r.claim[:70]!r} shown {r.shown or 'unsupported'}, "
                    f"labelled {', '.join(r.expected) or 'unsupported'} ({r.reason})"
                )
        return "\n".join(lines)


def source_ref(chunk: Chunk) -> str:
    """How labels name a source: ``§17.3`` or ``arXiv:2511.16333``."""
    return f"arXiv:{chunk.arxiv_id}" if chunk.kind == "abstract" else f"§{chunk.section}"


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[\"'“”‘’「」]", "", text)
    return "".join(text.split()).casefold()


def _read(path: Path) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    out = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path}:{n}: not JSON ({exc.msg})") from exc
    return out


def recorded_chunks(request: dict, chunks: Sequence[Chunk]) -> list[Chunk]:
    """The sources a recorded request showed the model, in order, found again among
    today's ``chunks`` by their text (a source the index no longer holds is an error: the
    recording no longer applies)."""
    by_text = {defuse(c.text): c for c in chunks}
    found = []
    for n, (_, body) in enumerate(_RECORDED_SOURCE.findall(request["messages"][-1]["content"]), 1):
        chunk = by_text.get(body)
        if chunk is None:
            raise InvalidInput(f"recorded source {n} ({body[:40]!r}…) is not in the index")
        found.append(chunk)
    return found


def remap(reply: str, shown: Sequence[Chunk], hits: Sequence[Hit]) -> str:
    """A recorded reply with its markers re-pointed from the sources the model was shown
    to where the same chunks rank in ``hits`` (retrieval may have changed since; a source
    no longer retrieved becomes a marker pointing at nothing, which the check drops)."""
    now = {hit.chunk.id: n for n, hit in enumerate(hits, 1)}
    missing = len(hits) + 1

    def rewrite(match: re.Match) -> str:
        numbers = [int(x) for x in re.findall(r"\d+", match.group(1))]
        return "".join(
            f"[{now.get(shown[x - 1].id, missing) if 0 < x <= len(shown) else missing}]"
            for x in numbers
        )

    return MARKER.sub(rewrite, reply)


def transcripts(folder: Path) -> list[dict]:
    """The recorded exchanges in ``folder`` (every ``*.jsonl`` but the label files)."""
    return [
        row
        for path in sorted(folder.glob("*.jsonl"))
        if path.name not in (TRANSCRIPT_LABELS, CASES)
        for row in _read(path)
    ]


def resolve(reply: str, hits: Sequence[Hit]) -> str:
    """``{§17.3}`` / ``{arXiv:ID}`` → the marker of the first hit from that source."""

    def marker(match: re.Match) -> str:
        ref = match.group(1)
        for n, hit in enumerate(hits, 1):
            if source_ref(hit.chunk) == ref:
                return f"[{n}]"
        raise InvalidInput(f"the reply cites {ref}, which is not among the retrieved sources")

    return _PLACEHOLDER.sub(marker, reply)


def load_cases(
    folder: Path, chunks: Sequence[Chunk], hits_for: Callable[[str], list[Hit]]
) -> list[LabelledReply]:
    """Every labelled reply in ``folder`` with the hits of its question
    (``hits_for(question)``): a recorded one with its markers re-pointed from the sources
    it was written from (found among ``chunks``) to those hits."""
    cases: list[LabelledReply] = []
    labels = {row["id"]: row for row in _read(folder / TRANSCRIPT_LABELS)}
    for row in transcripts(folder):
        label = labels.get(row.get("question_id"))
        if label is not None:
            hits = hits_for(row["question"])
            shown = recorded_chunks(row["request"], chunks)
            cases.append(
                LabelledReply(
                    id=row["question_id"],
                    question=row["question"],
                    reply=remap(row["reply"], shown, hits),
                    hits=hits,
                    claims=label["claims"],
                    transcript=True,
                )
            )
    for row in _read(folder / CASES):
        hits = hits_for(row["question"])
        cases.append(
            LabelledReply(
                id=row["id"],
                question=row["question"],
                reply=resolve(row["reply"], hits),
                hits=hits,
                claims=row["claims"],
            )
        )
    return cases


def judge(
    case: LabelledReply, verdicts: Sequence[Verdict], hits: Sequence[Hit]
) -> list[ClaimResult]:
    """Each labelled claim of ``case`` against the check's verdict on it."""
    by_text = {_key(v.claim.text): v for v in verdicts}
    out = []
    for label in case.claims:
        verdict = by_text.get(_key(label.claim))
        if verdict is None:
            found = "; ".join(v.claim.text for v in verdicts)
            raise InvalidInput(
                f"{case.id}: the check found no claim {label.claim!r} (it found: {found})"
            )
        shown = source_ref(hits[verdict.after - 1].chunk) if verdict.after else None
        correct = shown in label.support if shown else not label.support
        out.append(
            ClaimResult(
                case=case.id,
                claim=label.claim,
                kind=label.kind or ("transcript" if case.transcript else ""),
                expected=label.support,
                shown=shown,
                status=verdict.status,
                correct=correct,
                reason=label.reason,
            )
        )
    return out


def summarise(results: Sequence[ClaimResult]) -> ClaimMetrics:
    labelled = [r for r in results if r.expected]
    shown = [r for r in results if r.shown]
    right = [r for r in shown if r.correct]
    return ClaimMetrics(
        claims=len(results),
        labelled_supported=len(labelled),
        shown_supported=len(shown),
        correct_supported=len(right),
        precision=len(right) / len(shown) if shown else None,
        recall=len(right) / len(labelled) if labelled else None,
        accuracy=sum(r.correct for r in results) / len(results) if results else 0.0,
        results=list(results),
    )


def evaluate_claims(assistant: Assistant, folder: Path) -> ClaimMetrics:
    """Check every labelled reply in ``folder`` against the sources it was written from
    (and their sibling chunks, as the answer pipeline does)."""
    pipeline = assistant.answers
    results: list[ClaimResult] = []
    cases = load_cases(folder, assistant.index.chunks, lambda q: pipeline.evidence(q).hits)
    for case in cases:
        extra = pipeline.with_siblings(case.hits)[len(case.hits) :]
        checked = check_claims(case.reply, case.question, case.hits, pipeline.scorer, extra)
        results.extend(judge(case, checked.verdicts, checked.hits))
    return summarise(results)


# --- replaying recorded replies -------------------------------------------------------------


class ReplayBackend:
    """Stands in for an LLM: answers with the reply it was given (a recorded one)."""

    name = "replay"
    label = "replay (recorded replies)"

    def __init__(self) -> None:
        self.reply = ""

    def chat(self, messages: Sequence) -> str:
        return self.reply

    def stream(self, messages: Sequence) -> Iterator[str]:
        yield self.reply


class ReplayedQuestion(BaseModel):
    id: str
    expected: list[str]
    extractive: bool
    """Whether the extractive answer (and its quotes) holds an expected string."""
    replayed: bool
    """Whether what the user is shown for the replayed reply holds one: the checked
    answer and its citations' quotes, or the extractive answer standing in for it."""
    replaced: bool
    claims: int
    unsupported: int
    repaired: int


class ReplayMetrics(BaseModel):
    questions: int
    extractive: int
    replayed: int
    replaced: int
    claims: int
    unsupported: int
    repaired: int
    results: list[ReplayedQuestion] = Field(default_factory=list)

    def table(self) -> list[tuple[str, str]]:
        return [
            ("recorded replies replayed", str(self.questions)),
            ("expected string shown: extractive answer", f"{self.extractive} / {self.questions}"),
            (
                "expected string shown: replayed reply, checked",
                f"{self.replayed} / {self.questions}",
            ),
            ("replies replaced by the extractive answer", str(self.replaced)),
            (
                "claims (unsupported / repaired markers)",
                f"{self.claims} ({self.unsupported} / {self.repaired})",
            ),
        ]

    def to_text(self) -> str:
        rows = self.table()
        width = max(len(name) for name, _ in rows)
        return "replayed replies:\n" + "\n".join(f"  {n:<{width}}  {v}" for n, v in rows)


def replay_transcripts(
    assistant: Assistant, folder: Path, questions: Sequence[EvalQuestion]
) -> ReplayMetrics:
    """Each recorded reply (to a question of ``questions`` with expected strings) run
    through the answer pipeline as if the model had just given it, and the extractive
    answer to the same question: how often what the user is shown holds an expected
    string."""
    pipeline = assistant.answers
    by_id = {q.id: q for q in questions}
    backend = ReplayBackend()
    results = []
    configured = pipeline.backend
    try:
        for row in transcripts(folder):
            question = by_id.get(row.get("question_id"))
            if question is None or not question.expect:
                continue
            pipeline.use_backend(None)
            quoted = pipeline.ask(question.question)
            ev = pipeline.evidence(question.question)
            hits = pipeline.context(ev, pipeline.choose(ev))
            backend.reply = remap(
                row["reply"], recorded_chunks(row["request"], assistant.index.chunks), hits
            )
            pipeline.use_backend(backend)  # type: ignore[arg-type]
            answer = pipeline.ask(question.question)
            results.append(
                ReplayedQuestion(
                    id=question.id,
                    expected=question.expect,
                    extractive=holds_expected(quoted, question.expect),
                    replayed=holds_expected(answer, question.expect),
                    replaced=answer.replaced is not None,
                    claims=len(split_claims(backend.reply)),
                    unsupported=len(answer.unsupported),
                    repaired=len(answer.repaired),
                )
            )
    finally:
        pipeline.use_backend(configured)
    return ReplayMetrics(
        questions=len(results),
        extractive=sum(r.extractive for r in results),
        replayed=sum(r.replayed for r in results),
        replaced=sum(r.replaced for r in results),
        claims=sum(r.claims for r in results),
        unsupported=sum(r.unsupported for r in results),
        repaired=sum(r.repaired for r in results),
        results=results,
    )
