"""An answer's text as claims with their markers, and the citations those become.

Small models write markers in many forms (``[1, 3]``, ``【2】``, at the start of a line,
after the full stop) or none: the answer is read as lines of sentences, each claim keeping
the markers that apply to it, to be rewritten with one marker after each claim that has a
source. The extractive answer's markers are its quotes' own; an LLM's are checked
(:mod:`assistant.answer.claims`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from assistant.answer.units import whole_sentences
from assistant.models import Answer, Citation, Hit, Repair
from assistant.prompts import not_said_phrases

MARKER = re.compile(r"[\[【]\s*(\d{1,3}(?:\s*[,，、;]\s*\d{1,3})*)\s*[\]】](?!\()")
"""``[1]``, ``[1, 2]``, ``[1][2]`` (two matches), ``【3】``; not a Markdown link ``[1](…)``."""

_LEADING_MARKERS = re.compile(rf"^(?:\s*{MARKER.pattern})+\s*")
_BULLET = re.compile(r"^(\s*)((?:[-*+]|\d{1,3}[.)])\s+)?")
_END_PUNCT = re.compile(r"[。．.！!？?；;]+[\"'”’」』）)]*$")
_HEADING = re.compile(r"^\s*#{1,6}\s")


def parse_markers(text: str) -> list[int]:
    """Every marker number in ``text``, in order (repeats kept)."""
    return [int(n) for m in MARKER.finditer(text) for n in re.findall(r"\d+", m.group(1))]


def tidy(text: str) -> str:
    """No space before punctuation, no runs of spaces (indentation aside: nested lists)."""
    text = re.sub(r"[ \t]+(?=[。．.，,；;！!？?])", "", text).strip()
    return re.sub(r"(?<=\S)[ \t]{2,}", " ", text)


@dataclass(frozen=True)
class Claim:
    """One sentence or list item of an answer that states something."""

    text: str
    """As written, without its markers."""
    markers: tuple[int, ...] = ()
    """Its own markers, else its line's leading ones."""


@dataclass
class Piece:
    """A sentence of a line: a claim, or text that claims nothing (a lead-in, a heading)."""

    text: str
    end: str
    """Closing punctuation, put back after the marker."""
    claim: Claim | None
    gap: str = ""
    marked: str = ""
    """``text`` with the markers written inside it, when there are any."""

    def shown(self, marker: int | None) -> str:
        """With ``marker`` where the model put its first one (else at its end), or none."""
        if marker is None:
            return f"{self.gap}{self.text}{self.end}"
        first = MARKER.search(self.marked)
        if first is None:
            return f"{self.gap}{self.text} [{marker}]{self.end}"
        rest = MARKER.sub("", self.marked[first.end() :])
        return f"{self.gap}{tidy(f'{self.marked[: first.start()]}[{marker}]{rest}')}{self.end}"


@dataclass
class Line:
    prefix: str
    """Indentation and list bullet."""
    pieces: list[Piece] = field(default_factory=list)


def _is_claim(text: str) -> bool:
    """Lead-ins (``…：``), headings and "the survey does not say" make no claim."""
    bare = text.strip().strip("*#>- ").strip()
    if not any(ch.isalnum() for ch in bare) or bare.endswith((":", "：")):
        return False
    return not any(bare.startswith(p.rstrip("。.")) for p in not_said_phrases())


def parse_answer(text: str) -> list[Line]:
    """The answer as lines of pieces. A marker opening a line (``[1] 2024 年约 80 篇``)
    counts for each sentence of it that has none; one after a full stop
    (``…事故。 [1] 下一句``) belongs to the sentence it follows."""
    lines: list[Line] = []
    for raw in text.split("\n"):
        prefix = _BULLET.match(raw).group()  # type: ignore[union-attr]  # matches any line
        rest = raw[len(prefix) :]
        line_markers: tuple[int, ...] = ()
        if lead := _LEADING_MARKERS.match(rest):
            line_markers = tuple(parse_markers(lead.group()))
            rest = rest[lead.end() :]
            again = _BULLET.match(rest)  # "[1] - item"
            if not prefix.strip() and again and again.group(2):
                prefix += again.group()
                rest = rest[again.end() :]
        sentences: list[tuple[str, tuple[int, ...], str]] = []
        for a, b in whole_sentences(rest):
            piece = rest[a:b]
            lead = _LEADING_MARKERS.match(piece)
            if lead and sentences:
                body, own, gap = sentences[-1]
                sentences[-1] = (body, own + tuple(parse_markers(lead.group())), gap)
                piece = piece[lead.end() :]
            if piece.strip():
                spaced = sentences and (piece[:1].isspace() or sentences[-1][0][-1:].isspace())
                sentences.append((piece, tuple(parse_markers(piece)), " " if spaced else ""))
        line = Line(prefix)
        for piece, own, gap in sentences:
            marked = tidy(piece)
            stop_at = _END_PUNCT.search(tidy(MARKER.sub("", piece)))
            stop = stop_at.group() if stop_at else ""
            if stop and marked.endswith(stop):
                marked = marked[: -len(stop)].rstrip()
            core = tidy(MARKER.sub("", marked))
            claim = None
            if _is_claim(core) and not _HEADING.match(prefix + core):
                claim = Claim(core + stop, own or line_markers)
            line.pieces.append(Piece(core, stop, claim, gap, marked if own else ""))
        lines.append(line)
    return lines


def split_claims(text: str) -> list[Claim]:
    """The claims of an answer, in order, each with the markers that apply to it."""
    return [p.claim for line in parse_answer(text) for p in line.pieces if p.claim]


def make_citation(marker: int, hit: Hit, quote: str, quotes: Sequence[str] = ()) -> Citation:
    chunk = hit.chunk
    common = {"marker": marker, "chunk_id": chunk.id, "quote": quote, "quotes": tuple(quotes)}
    if chunk.kind == "abstract":
        return Citation(
            kind="arxiv",
            arxiv_id=chunk.arxiv_id,
            title=chunk.title,
            authors=chunk.authors,
            url=chunk.url,
            **common,
        )
    return Citation(
        kind="section",
        section=chunk.section,
        section_title=chunk.section_title,
        linked_arxiv_ids=chunk.arxiv_ids,
        **common,
    )


@dataclass
class Checked:
    """An answer with its markers renumbered ``[1]``, ``[2]``… in order of first use."""

    text: str
    hits: list[Hit]
    """The sources its markers count."""
    citations: list[Citation] = field(default_factory=list)
    grounded: float = 0.0
    """Share of its claims that have a source."""
    unsupported: list[str] = field(default_factory=list)
    repaired: list[Repair] = field(default_factory=list)
    claims: int = 0
    verdicts: list = field(default_factory=list)
    """The claim check's (:class:`~assistant.answer.claims.Verdict`), when it ran."""

    @property
    def supported(self) -> int:
        return self.claims - len(self.unsupported)

    def answer(self, question: str, **fields: object) -> Answer:
        """As the :class:`Answer` to ``question``; ``fields`` set the rest."""
        return Answer(
            question=question,
            text=self.text,
            citations=self.citations,
            hits=self.hits,
            grounded=self.grounded,
            unsupported=self.unsupported,
            repaired=self.repaired,
        ).model_copy(update=fields)


def check_citations(text: str, hits: Sequence[Hit], quotes: Mapping[str, Sequence[str]]) -> Checked:
    """The extractive answer (markers numbered after ``hits``) renumbered in order of first
    use; ``quotes``: per chunk id, the sentences it quotes there, the best first."""
    order: list[int] = []

    def rewrite(match: re.Match) -> str:
        kept = []
        for n in parse_markers(match.group()):
            if 1 <= n <= len(hits):
                order.extend([] if n in order else [n])
                kept.append(order.index(n) + 1)
        return "".join(f"[{k}]" for k in dict.fromkeys(kept))

    cleaned = tidy(MARKER.sub(rewrite, text))
    claims = split_claims(cleaned)
    citations = []
    for new, source in enumerate(order, 1):
        said = quotes[hits[source - 1].chunk.id]
        citations.append(make_citation(new, hits[source - 1], said[0], said))
    return Checked(
        text=cleaned,
        hits=list(hits),
        citations=citations,
        grounded=sum(bool(c.markers) for c in claims) / len(claims) if claims else 0.0,
        unsupported=[c.text for c in claims if not c.markers],
        claims=len(claims),
    )
