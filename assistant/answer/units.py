"""Chunks → quotable units: sentences, list items and table rows, as exact spans.

A unit is what an extractive answer quotes and what a citation's ``quote`` holds. Its
``text`` is a verbatim slice of the chunk (so a quote can always be found again in the
source); ``display`` is the same content made readable outside Markdown: links become
``anchor (arXiv:ID)`` so a quoted claim still names the paper it cites, emphasis marks
go, and a table row is paired with its header (``时间段: 2024 · 估计论文数量: ~80 篇``)
because a bare row of cells means nothing on its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import accumulate

from assistant.ingest.corpus import normalize_arxiv_id
from assistant.models import BYLINE, Chunk
from assistant.text import CJK_CHAR, MD_LINK, TABLE_RULE, names_in, sentence_spans, trim_span

LINK_MARK = re.compile(r"\(arXiv:[^)]*\)")
"""How a rendered unit marks the paper a link points to (``anchor (arXiv:ID)``)."""
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_FOOTNOTE = re.compile(r"^\[\^[^\]]+\]:\s*|\[\^[^\]]+\]")
_GO_ON = ("；", ";", "，", ",")
"""How a unit ends when the next one goes on with the same sentence."""
_FENCE = re.compile(r"^(?:```|~~~)")
_CONTAINER = re.compile(r"^:::")
"""VitePress custom containers (``::: tip 提示`` … ``:::``): their markers are not text."""
_EMPHASIS = re.compile(r"(\*\*|__|`)")
_LIST_LEAD = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_BULLET = re.compile(r"^\s*[-*+]\s+")
_LATEX = re.compile(r"\\(?:textit|emph|textbf|mathrm|text)\{([^}]*)\}")
_BOLD_LINE = re.compile(r"^(?:\*\*[^*\n]+\*\*|__[^_\n]+__)\s*[:：]?$")
"""A line that is all bold: a pseudo-heading (``**趋势一：从像素生成到物理理解**``)."""
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|et al|vs|cf|approx|Fig|Eq|Sec|No)\.|\b[A-Z]\.)\s*$")
"""A span ending like this did not end a sentence (``constraint (e.g. goal …``)."""


@dataclass(frozen=True)
class Unit:
    """One quotable piece of a chunk."""

    chunk_id: str
    index: int
    """Position among the chunk's units (reading order)."""
    start: int
    end: int
    """Character span of ``text`` in ``chunk.text``."""
    text: str
    display: str
    kind: str
    """``sentence``, ``item`` (of a list), ``row`` (of a table), ``code`` (a line of a code
    block), ``lead`` (a line ending in a colon, introducing what follows), ``heading`` (a bold
    line over its paragraph), ``title`` (a paper's) or ``byline`` (its authors)."""
    linked: tuple[str, ...] = ()
    """arXiv IDs the unit links to."""
    context: str = ""
    """Heading or paper title, prepended when the unit is embedded or matched."""
    lead: int | None = None
    """Index of the lead or heading unit that introduces this one (``短期（2026–2027）：``
    for its list items)."""
    lead_display: str = ""
    """That lead's text when it is a bold heading line: part of what the unit means
    (which period, which trend), so the unit is matched and shown with it."""
    before: str = ""
    """The clause this one continues (the previous unit of the same line, when it ended
    in a semicolon or comma): whom "只需 50 小时…" is about was said there."""
    opening: str = ""
    """The paragraph's first sentence, for a later one that names nothing itself: whom
    "死亡率为 18.4%" is about, the paragraph said at its start."""
    cells: tuple[tuple[str, str], ...] = ()
    """A table row's (header, value) pairs as displayed (none without a header), so that
    readers of a column need not parse ``display`` back."""

    @property
    def about(self) -> str:
        """Lower-cased text naming what the unit is about: the clause it continues, its
        paragraph's opening, its context (heading, paper title, lead) and itself."""
        return f"{self.before} {self.opening} {self.scoring_text}".lower()

    def about_any(self, names: Sequence[str]) -> bool:
        """Whether :attr:`about` holds one of ``names`` (lower-cased), or no names are
        given: a figure, a license or a maker counts only in a unit about what the
        question names."""
        return not names or any(mentions(self.about, name) for name in names)

    @property
    def scoring_text(self) -> str:
        context = " › ".join(part for part in (self.context, self.lead_display) if part)
        return f"{context}: {self.display}" if context else self.display

    def shown_with_lead(self) -> str:
        """``display`` preceded by its lead, for quoting it out of its list."""
        if not self.lead_display:
            return self.display
        if self.lead_display.endswith((":", "：")):
            return f"{self.lead_display} {self.display}"
        joiner = "：" if CJK_CHAR.search(self.lead_display[-1:]) else ": "
        return f"{self.lead_display}{joiner}{self.display}"


@lru_cache(maxsize=4096)
def _word(name: str) -> re.Pattern:
    stem = name[:-1] if name.endswith("s") and len(name) > 3 else name
    return re.compile(r"(?<![a-z0-9])" + re.escape(stem) + r"s?(?![a-z0-9])")


def mentions(text: str, name: str) -> bool:
    """Whether lower-cased ``text`` holds ``name`` as a word of its own, in the singular
    or plural (``kl`` is not in "weakly", ``gpt-4`` not in "gpt-4o"; ``vlas`` is in "vla")."""
    return bool(_word(name).search(text))


def render_inline(text: str) -> tuple[str, tuple[str, ...]]:
    """Markdown inline → plain text; arXiv links become ``anchor (arXiv:ID)``."""
    linked: list[str] = []

    def link(match: re.Match) -> str:
        arxiv_id = normalize_arxiv_id(match.group(2))
        if arxiv_id:
            linked.append(arxiv_id)
            return f"{match.group(1)} (arXiv:{arxiv_id})"
        return match.group(1)

    out = _IMAGE.sub(" ", text)
    out = _HTML_TAG.sub(" ", out)
    out = _FOOTNOTE.sub("", out)
    out = MD_LINK.sub(link, out)
    out = _LATEX.sub(r"\1", out)
    out = _EMPHASIS.sub("", out)
    return " ".join(out.split()), tuple(dict.fromkeys(linked))


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _table_header(chunk: Chunk, lines: list[str], at: int) -> list[str] | None:
    """Header cells of the table whose row is ``lines[at]``: the row above the ``|---|``
    rule, or, in a chunk that starts inside a table, the row its context carries."""
    for n in range(at, 0, -1):
        if TABLE_RULE.match(lines[n].strip()):
            return _cells(lines[n - 1])
        if not lines[n].lstrip().startswith("|"):
            break
    carried = [line.strip() for line in (chunk.context or "").strip().splitlines()]
    while carried and TABLE_RULE.match(carried[-1]):
        carried.pop()
    if carried and carried[-1].startswith("|"):
        return _cells(carried[-1])
    return None


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def whole_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans, rejoined where a period only ended an abbreviation."""
    spans: list[tuple[int, int]] = []
    for a, b in sentence_spans(text, start, end):
        if spans and _ABBREVIATION.search(text[spans[-1][0] : spans[-1][1]]):
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return spans


def quotable_units(chunk: Chunk) -> list[Unit]:
    """The units an answer may quote: all but a paper's byline, whose names would match any
    question naming a person (a question asking who wrote it reads it)."""
    return [unit for unit in chunk_units(chunk) if unit.kind != "byline"]


@lru_cache(maxsize=4096)
def chunk_units(chunk: Chunk) -> tuple[Unit, ...]:
    """The chunk's units in reading order (cached: chunks are immutable)."""
    text = chunk.text
    context = (chunk.title or "") if chunk.kind == "abstract" else (chunk.section_title or "")
    units: list[Unit] = []
    lines = text.splitlines(keepends=True)
    ends = list(accumulate(map(len, lines)))
    line_spans = [(end - len(line), end) for line, end in zip(lines, ends, strict=True)]

    scope: Unit | None = None  # the lead or heading introducing the next units
    bold = False  # whether that is a bold heading line
    content = False  # whether a unit followed it yet: a blank line after content ends it

    def add(
        start: int,
        end: int,
        kind: str,
        display: str | None = None,
        where: str = "",
        cells: tuple[tuple[str, str], ...] = (),
    ) -> Unit | None:
        start, end = trim_span(text, start, end)
        raw = text[start:end]
        if not _has_words(raw):
            return None
        shown, linked = render_inline(_BULLET.sub("", raw) if display is None else display)
        if not _has_words(shown):
            return None  # an image, an HTML tag: nothing to quote
        if kind in ("sentence", "item", "heading") and shown.rstrip().endswith((":", "：")):
            kind = "lead"
        introduced = scope is not None and (scope.kind == "heading" or kind in ("item", "row"))
        unit = Unit(
            chunk_id=chunk.id,
            index=len(units),
            start=start,
            end=end,
            text=raw,
            display=shown,
            kind=kind,
            linked=linked,
            context=f"{context} › {where}" if where and context else (where or context),
            lead=scope.index if introduced and scope else None,
            lead_display=scope.display if introduced and scope and bold else "",
            cells=tuple((render_inline(h)[0], render_inline(c)[0]) for h, c in cells),
        )
        units.append(unit)
        return unit

    def opens(unit: Unit | None, heading_line: bool = False) -> None:
        nonlocal scope, bold, content
        if unit is None:
            return
        if unit.kind in ("lead", "heading"):
            scope, bold, content = unit, heading_line, False
        else:
            content = True

    code: str | None = None  # inside a fenced code block: its language ("" if none)
    for n, (a, b) in enumerate(line_spans):
        line = lines[n].strip()
        if _FENCE.match(line):
            code = None if code is not None else line.lstrip("`~").strip()
            continue
        if code is not None:
            if line:  # each line a unit, quoted as written, matched with the block's language
                opens(add(a, b, "code", line, where=code))
            continue
        if _CONTAINER.match(line):
            continue
        if not line:
            if content:
                scope = None
            continue
        if line[0] in "!<" and not _has_words(render_inline(line)[0]):
            continue  # only images or HTML tags
        if chunk.kind == "abstract" and n == 0:
            add(a, b, "title")
            continue
        if chunk.kind == "abstract" and line.startswith(BYLINE):
            add(a, b, "byline")
            continue
        if line.startswith("|"):
            if TABLE_RULE.match(line):
                continue
            following = lines[n + 1].strip() if n + 1 < len(lines) else ""
            if TABLE_RULE.match(following):
                continue  # the header row: shown with every row instead
            header = _table_header(chunk, lines, n)
            row = _cells(line)
            fits = header is not None and len(header) == len(row)
            pairs = tuple(zip(header, row, strict=True)) if fits else ()
            shown = " · ".join(f"{h}: {c}" for h, c in pairs) if pairs else " · ".join(row)
            opens(add(a, b, "row", shown, cells=pairs))
            continue
        if _LIST_LEAD.match(lines[n]):
            opens(add(a, b, "item"))
            continue
        if _BOLD_LINE.match(line):
            scope = None
            opens(add(a, b, "heading"), heading_line=True)
            continue
        previous: Unit | None = None  # the line's last unit
        first: Unit | None = None  # the line's first unit
        for s, e in whole_sentences(text, a, b):
            unit = add(s, e, "sentence")
            if unit is not None:
                if previous is not None and previous.display.endswith(_GO_ON):
                    units[-1] = unit = replace(unit, before=previous.display)
                if first is not None and not names_in(unit.display):
                    units[-1] = unit = replace(unit, opening=first.display)
                first = first or unit
                previous = unit
            opens(unit)
    return tuple(units)
