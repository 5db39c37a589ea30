"""What the chat shows, as HTML: answers whose markers link to their sources, source cards
with every quoted sentence highlighted, the retrieved passages, the export payloads.

Everything shown comes from the :class:`~assistant.models.Answer`. Corpus and answer text go
through :func:`assistant.markup.render_markdown` (no raw HTML, only http(s) links, no
images); every value we put in markup ourselves goes through :func:`~assistant.markup.esc`.
Gradio sanitises chat messages on top of that (it keeps ``id``, ``class``, ``href="#…"``,
``title``, ``tabindex``, ``role``; it drops ``hidden``, ``aria-*`` and ``data-*``), but
``gr.HTML`` does not sanitise at all, so the escaping here is what keeps hostile text inert.

Ids: an answer is ``t<turn>``, its source card ``t<turn>-s<marker>``, the first mark of a
card's quoted sentence ``t<turn>-s<marker>-q<i>``. A marker is ``<a class="cite q<i>"
href="#t<turn>-s<marker>">``: the page script reads ``q<i>`` to highlight the sentence the
claim rests on (the link alone, without the script, still scrolls to the card).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from assistant.answer.units import Unit, chunk_units
from assistant.ingest.audit import mislink_note
from assistant.markup import (
    ARXIV_ABS,
    ARXIV_REF,
    arxiv_url,
    esc,
    insert_marks,
    render_markdown,
    safe_url,
    strip_private,
    wrap_marks,
    wrap_runs,
)
from assistant.models import Answer, Chunk, Citation, Hit, Paper
from assistant.prompts import phrase
from assistant.text import TABLE_RULE

MAX_AUTHORS = 3
LONG_LINE = 320
"""A paragraph longer than this (characters) is cut, in a card, to its quoted sentences and
their neighbours; the whole passage stays one click away."""
HEAD_CHARS = 300
"""How much of a passage a card shows when the citation quotes no sentence of it."""
UNSUPPORTED = "No retrieved source supports this claim"

MARKER = re.compile(r"(?<!\\)\[(\d{1,3})\](?![(:])")
_MARKER_SLOT = re.compile("\ue002(\\d+)\ue003")
_ITEM_NUMBER = re.compile(r"^\d{1,3}[.)]\s+")
_LIST_LEAD = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_FENCE = re.compile(r"^(?:```|~~~)")


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", strip_private(text)).split()).casefold()


def _authors(authors: Sequence[str]) -> str:
    names = [" ".join(a.split()) for a in authors]
    shown = ", ".join(names[:MAX_AUTHORS])
    return shown + (" et al." if len(names) > MAX_AUTHORS else "")


# -- where a citation's quotes are in its chunk ----------------------------------------------------


@dataclass
class Located:
    """A citation's quotes found in its chunk: each distinct quoted unit is one span."""

    spans: list[tuple[int, int]] = field(default_factory=list)
    """Character spans in ``chunk.text`` to highlight (list marks and table pipes excluded)."""
    units: list[Unit | None] = field(default_factory=list)
    """The unit of each span (None for a quote the chunk does not hold)."""
    of_quote: dict[int, int] = field(default_factory=dict)
    """Quote index → span index."""
    loose: dict[int, str] = field(default_factory=dict)
    """Span index → quote text, for quotes found nowhere in the chunk (shown on their own)."""


def _span(text: str, unit: Unit) -> tuple[int, int]:
    """What to highlight of a unit: a list item without its bullet or number, a table row
    inside its outer pipes (so the marks stay inside the cells)."""
    start, end = unit.start, unit.end
    if unit.kind == "item":
        lead = _LIST_LEAD.match(text[start:end])
        start += lead.end() if lead else 0
    elif unit.kind == "row":
        row = text[start:end]
        left = len(row) - len(row.lstrip())
        left += row[left:].startswith("|")
        right = len(row.rstrip())
        right -= row[:right].endswith("|") and right > left
        inner = row[left:right]
        base = start + left
        start, end = base + len(inner) - len(inner.lstrip()), base + len(inner.rstrip())
    return start, end


def _match(quote: str, units: Sequence[Unit]) -> Unit | None:
    """The unit a quote was taken from: equal text, else the unit holding it (or held by it,
    when the quote carries its lead)."""
    key = _key(quote)
    if not key:
        return None
    for unit in units:
        if key in (_key(unit.display), _key(unit.shown_with_lead())):
            return unit
    best, size = None, 0
    for unit in units:
        shown = _key(unit.display)
        holds = key in shown
        held = shown in key and 2 * len(shown) >= len(key)
        if (holds or held) and len(shown) > size:
            best, size = unit, len(shown)
    return best


def locate(chunk: Chunk | None, quotes: Sequence[str]) -> Located:
    """Each quote's span in the chunk, one span per distinct unit, in quote order."""
    found = Located()
    units = [u for u in chunk_units(chunk) if u.kind not in ("title", "byline")] if chunk else []
    by_unit: dict[int, int] = {}
    for j, quote in enumerate(quotes):
        if not quote.strip():
            continue
        unit = _match(quote, units)
        if unit is None:
            found.of_quote[j] = len(found.spans)
            found.loose[len(found.spans)] = quote
            found.spans.append((0, 0))
            found.units.append(None)
            continue
        if unit.index not in by_unit:
            by_unit[unit.index] = len(found.spans)
            found.spans.append(_span(chunk.text, unit))  # type: ignore[union-attr]
            found.units.append(unit)
        found.of_quote[j] = by_unit[unit.index]
    return found


def citation_quotes(citation: Citation) -> tuple[str, ...]:
    return citation.quotes or ((citation.quote,) if citation.quote else ())


# -- a passage as Markdown, cut to what the answer quotes ---------------------------------------


def _lines(text: str) -> list[tuple[int, int]]:
    """Line spans without their newline."""
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def _line_of(lines: Sequence[tuple[int, int]], pos: int) -> int:
    for n, (a, b) in enumerate(lines):
        if a <= pos <= b:
            return n
    return len(lines) - 1


def _is_row(text: str) -> bool:
    return text.lstrip().startswith("|")


def _fences(text: str, lines: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """First and last line of each fenced code block."""
    blocks, opened = [], None
    for n, (a, b) in enumerate(lines):
        if _FENCE.match(text[a:b].lstrip()):
            if opened is None:
                opened = n
            else:
                blocks.append((opened, n))
                opened = None
    return blocks


def _carried_header(chunk: Chunk) -> str | None:
    """The header row of a table this chunk starts inside of, from its context."""
    carried = [line.strip() for line in chunk.context.strip().splitlines()]
    while carried and TABLE_RULE.match(carried[-1]):
        carried.pop()
    if not carried or not carried[-1].startswith("|"):
        return None
    cells = carried[-1].strip("|").count("|") + 1
    return f"{carried[-1]}\n|{'---|' * cells}\n"


@dataclass
class _Excerpt:
    """Markdown assembled from pieces of the chunk, with the highlight spans moved along."""

    chunk: Chunk
    spans: Sequence[tuple[int, int]]
    text: str = ""
    moved: dict[int, tuple[int, int]] = field(default_factory=dict)

    def source(self, a: int, b: int) -> None:
        for n, (s, e) in enumerate(self.spans):
            if e > s and s < b and e > a:
                start = len(self.text) + max(s, a) - a
                end = len(self.text) + min(e, b) - a
                old = self.moved.get(n)
                self.moved[n] = (old[0], end) if old else (start, end)
        self.text += self.chunk.text[a:b]

    def literal(self, text: str) -> None:
        self.text += text

    def marked(self) -> str:
        return insert_marks(self.text, [self.moved.get(n, (0, 0)) for n in range(len(self.spans))])


def _trim_line(ex: _Excerpt, a: int, b: int, units: Sequence[Unit], quoted: set[int]) -> bool:
    """A long paragraph line cut to its quoted sentences and their neighbours; whether
    anything was left out."""
    inside = [u for u in units if a <= u.start < b]
    keep: set[int] = set()
    for n, unit in enumerate(inside):
        if unit.index in quoted:
            keep.update(m for m in (n - 1, n, n + 1) if 0 <= m < len(inside))
    if len(keep) == len(inside):
        ex.source(a, b)
        return False
    previous = None
    for n in sorted(keep):
        unit = inside[n]
        if previous is None:
            ex.literal("… " if n > 0 else "")
        elif n != previous + 1:
            ex.literal(" … ")
        else:
            ex.source(inside[previous].end, unit.start)  # the space between two sentences
        ex.source(unit.start, unit.end)
        previous = n
    if previous is not None and previous < len(inside) - 1:
        ex.literal(" …")
    return True


def passage_markdown(
    chunk: Chunk, spans: Sequence[tuple[int, int]], units: Sequence[Unit | None], whole: bool
) -> tuple[str, bool]:
    """The chunk as Markdown with ``spans`` marked, and whether anything was left out.

    ``whole`` gives every line (an abstract without its title and byline, which the card's
    head shows). Otherwise: the lines holding a highlighted span, the line introducing each
    (a bold heading, a lead ending in a colon), whole tables around a quoted row, long
    paragraphs cut to the quoted sentences and their neighbours, ``…`` where lines were
    skipped; with nothing highlighted, the passage's first few lines.
    """
    text = chunk.text
    lines = _lines(text)
    all_units = chunk_units(chunk)
    hidden = {_line_of(lines, u.start) for u in all_units if u.kind in ("title", "byline")}
    shown = [n for n, (a, b) in enumerate(lines) if n not in hidden and text[a:b].strip()]
    quoted = {u.index for u in units if u is not None}
    if whole:
        keep = set(shown)
    elif quoted:
        keep = {_line_of(lines, s) for (s, e), u in zip(spans, units, strict=True) if u and e > s}
        for unit in units:
            if unit is not None and unit.lead is not None:
                keep.add(_line_of(lines, all_units[unit.lead].start))
        for n in list(keep):  # a quoted row keeps its whole table
            if _is_row(text[slice(*lines[n])]):
                for step in (-1, 1):
                    m = n + step
                    while 0 <= m < len(lines) and _is_row(text[slice(*lines[m])]):
                        keep.add(m)
                        m += step
        for first, last in _fences(text, lines):  # a quoted code line keeps its block
            if any(first <= n <= last for n in keep):
                keep.update(range(first, last + 1))
    else:
        keep, size = set(), 0
        for n in shown:
            if size >= HEAD_CHARS:
                break
            keep.add(n)
            size += lines[n][1] - lines[n][0]
    keep &= set(shown)

    ex = _Excerpt(chunk, spans)
    kept = sorted(keep)
    visible = set(shown)
    cut = bool(kept) and (kept[0] != shown[0] or kept[-1] != shown[-1])
    for i, n in enumerate(kept):
        a, b = lines[n]
        line = text[a:b]
        fresh = i == 0 or any(m in visible for m in range(kept[i - 1] + 1, n))
        if i and fresh:
            cut = True
            ex.literal("\n\n…\n\n")
        elif i:
            ex.literal("\n" * (n - kept[i - 1]))  # blank lines between kept ones stay
        if fresh:
            a += len(line) - len(line.lstrip())  # no indented code block out of a nested item
        following = text[slice(*lines[n + 1])].strip() if n + 1 < len(lines) else ""
        if n == shown[0] and _is_row(line) and not TABLE_RULE.match(following):
            ex.literal(_carried_header(chunk) or "")  # the chunk starts inside a table
        if not whole and b - a > LONG_LINE and not _is_row(line) and not _LIST_LEAD.match(line):
            cut = _trim_line(ex, a, b, all_units, quoted) or cut
        else:
            ex.source(a, b)
    return ex.marked(), cut


def _marker(anchor: str | None) -> Callable[[int, str], str]:
    """How a highlighted span is wrapped: a ``<mark class="quote q<i>">`` per text run, the
    first with an id under ``anchor``."""

    def wrap(span: int, fragment: str) -> str:
        def open_tag(first: bool) -> str:
            ident = f' id="{esc(anchor)}-q{span}"' if anchor and first else ""
            return f'<mark class="quote q{span}"{ident}>'

        return wrap_runs(fragment, open_tag, "</mark>")

    return wrap


def passage_html(
    chunk: Chunk,
    located: Located | None = None,
    anchor: str | None = None,
    whole: bool = False,
) -> tuple[str, bool]:
    """The chunk rendered (lists as lists, tables as tables) with the located quotes
    highlighted; marks get ids under ``anchor``. Returns the HTML and whether it was cut."""
    located = located or Located()
    markdown, cut = passage_markdown(chunk, located.spans, located.units, whole)
    return wrap_marks(render_markdown(markdown), _marker(anchor)), cut


def loose_html(located: Located, anchor: str | None) -> str:
    """Quotes the chunk does not hold, each shown on its own, highlighted."""
    wrap = _marker(anchor)
    return "".join(
        f'<p class="loose">{wrap(span, esc(" ".join(quote.split())))}</p>'
        for span, quote in sorted(located.loose.items())
    )


# -- answers ------------------------------------------------------------------------------------


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def best_quote(claim: str, quotes: Sequence[str]) -> int:
    """Which of a citation's quotes a claim rests on: the one the claim holds (the extractive
    answer quotes it), else the one sharing the most character pairs with it."""
    claim_key = _key(MARKER.sub("", claim))
    best, score = 0, -1.0
    for j, quote in enumerate(quotes):
        key = _key(_ITEM_NUMBER.sub("", quote))
        if key and key in claim_key:
            value = 2.0 + len(key) / (len(claim_key) + 1)
        else:
            a, b = _bigrams(claim_key), _bigrams(key)
            value = 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0
        if value > score:
            best, score = j, value
    return best


def _claims(text: str) -> list[str]:
    """For each marker of ``text``, the claim it closes: the text since the previous marker
    or line start (markers in a row share one)."""
    claims, last, previous = [], 0, ""
    for match in MARKER.finditer(text):
        start = max(last, text.rfind("\n", 0, match.start()) + 1)
        claim = text[start : match.start()].strip()
        claims.append(claim or previous)
        previous = claims[-1]
        last = match.end()
    return claims


def _claim_span(body: str, claim: str, taken: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    for candidate in (claim, MARKER.sub("", claim)):
        candidate = _LIST_LEAD.sub("", candidate.strip()).strip()
        at = body.find(candidate) if candidate else -1
        if at >= 0 and all(at >= e or at + len(candidate) <= s for s, e in taken):
            return at, at + len(candidate)
    return None


@dataclass
class Rendered:
    """An answer body as HTML and the unsupported claims it could not mark in place."""

    html: str
    unplaced: list[str]


def body_html(
    text: str,
    citations: Sequence[Citation] = (),
    located: Mapping[int, Located] | None = None,
    anchor: str | None = None,
    unsupported: Sequence[str] = (),
) -> Rendered:
    """Answer Markdown as HTML: each marker ``[n]`` of a citation a link to its card
    (``#<anchor>-s<n>``) titled with the source's label, unsupported claims marked, arXiv
    mentions linked. Markers without a citation stay text."""
    body = strip_private(text)
    spans: list[tuple[int, int]] = []
    unplaced = []
    for claim in unsupported:
        span = _claim_span(body, claim, spans)
        if span is None:
            unplaced.append(claim)
        else:
            spans.append(span)
    order = sorted(range(len(spans)), key=lambda i: spans[i])
    marked = insert_marks(body, [spans[i] for i in order])
    by_marker = {c.marker: c for c in citations}
    claims = _claims(marked)
    links: list[str] = []

    def slot(match: re.Match[str]) -> str:
        n = len(links)
        citation = by_marker.get(int(match[1]))
        if citation is None:
            links.append(esc(match[0]))
        else:
            quote = best_quote(claims[n], citation_quotes(citation))
            span = (located or {}).get(citation.marker, Located()).of_quote.get(quote, 0)
            href = f' href="#{esc(anchor)}-s{citation.marker}"' if anchor else ""
            links.append(
                f'<a class="cite q{span}"{href} title="{esc(citation.label)}">{citation.marker}</a>'
            )
        return f"\ue002{n}\ue003"

    marked = MARKER.sub(slot, marked)
    marked = ARXIV_REF.sub(lambda m: f"[arXiv:{m[1]}]({ARXIV_ABS.format(m[1])})", marked)

    def flag(_i: int, fragment: str) -> str:
        runs = wrap_runs(fragment, lambda _first: '<span class="unsupported">', "</span>")
        return f'{runs}<span class="unsupported-tag" title="{UNSUPPORTED}">unsupported</span>'

    rendered = wrap_marks(render_markdown(marked), flag)
    rendered = _MARKER_SLOT.sub(lambda m: links[int(m[1])], rendered)
    return Rendered(strip_private(rendered), unplaced)


# -- sources ------------------------------------------------------------------------------------


def audit_note(citation: Citation, hit: Hit | None) -> str | None:
    """Why the link audit doubts this source's arXiv link, if it does: the answer
    pipeline's :attr:`Citation.flagged`, else the audit's note on the cited chunk."""
    if citation.flagged:
        return " ".join(citation.flagged.split())
    return mislink_note(hit.chunk) if hit else None


def source_head(citation: Citation) -> str:
    if citation.kind == "arxiv":
        ident = esc(f"arXiv:{citation.arxiv_id or ''}")
        url = safe_url(citation.url) or arxiv_url(citation.arxiv_id)
        if url and arxiv_url(citation.arxiv_id):
            ident = f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{ident}</a>'
        title = esc(citation.title or "")
        head = f'<span class="ident">{ident}</span> <span class="title">{title}</span>'
        if citation.authors:
            head += f' <span class="authors">{esc(_authors(citation.authors))}</span>'
        return head
    number = citation.section or ""
    ident = f"§{number}" if number[:1].isdigit() else "§"
    return (
        f'<span class="ident">{esc(ident)}</span> '
        f'<span class="title">{esc(citation.section_title or number)}</span>'
    )


def source_html(
    citation: Citation, hit: Hit | None, located: Located, anchor: str | None = None
) -> str:
    """One source card: marker badge, section or paper, the passage cut to what the answer
    quotes (every quoted sentence highlighted), the whole passage on demand."""
    card = f"{anchor}-s{citation.marker}" if anchor else None
    note = audit_note(citation, hit)
    flag = f'<span class="flag">⚠ link audit: {esc(note)}</span>' if note else ""
    body = ""
    if hit is not None:
        excerpt, cut = passage_html(hit.chunk, located, card)
        body = f'<div class="excerpt">{excerpt}{loose_html(located, card)}</div>'
        if cut:
            whole, _ = passage_html(hit.chunk, located, None, whole=True)
            body += (
                '<details class="whole"><summary>Whole passage</summary>'
                f'<div class="passage">{whole}</div></details>'
            )
    elif located.loose:
        body = f'<div class="excerpt">{loose_html(located, card)}</div>'
    ident = f' id="{esc(card)}" tabindex="-1"' if card else ""
    return (
        f'<div class="src src-{esc(citation.kind)}"{ident}>'
        f'<span class="marker">{int(citation.marker)}</span><div class="src-body">'
        f'<div class="src-head">{source_head(citation)}{flag}</div>{body}</div></div>'
    )


def locate_all(answer: Answer) -> dict[int, Located]:
    hits = {h.chunk.id: h for h in answer.hits}
    return {
        c.marker: locate(hits[c.chunk_id].chunk if c.chunk_id in hits else None, citation_quotes(c))
        for c in answer.citations
    }


def sources_html(answer: Answer, located: Mapping[int, Located], anchor: str | None) -> str:
    if not answer.citations:
        return ""
    hits = {h.chunk.id: h for h in answer.hits}
    cards = "".join(
        source_html(c, hits.get(c.chunk_id), located[c.marker], anchor) for c in answer.citations
    )
    return f'<div class="sources"><div class="sources-label">Sources</div>{cards}</div>'


# -- the whole message ----------------------------------------------------------------------------


def _ms(timings: Mapping[str, float]) -> dict[str, float]:
    """Stage → milliseconds, whether keys are ``total`` or ``total_ms``."""
    return {k.removesuffix("_ms"): v for k, v in timings.items()}


def footer_html(answer: Answer) -> str:
    """Backend, grounding and total time in small print; stage timings on hover."""
    parts = ["extractive" if answer.backend == "none" else answer.backend]
    if answer.refused:
        parts.append("not covered by the survey")
    elif answer.citations:
        parts.append(f"grounded {answer.grounded:.0%}")
    if answer.unsupported:
        n = len(answer.unsupported)
        parts.append(f"{n} unsupported claim{'s' if n > 1 else ''}")
    timings = _ms(answer.timings)
    total = timings.get("total")
    if total is not None:
        parts.append(f"{total / 1000:.1f} s" if total >= 1000 else f"{total:.0f} ms")
    detail = " · ".join(f"{k} {v:.0f} ms" for k, v in timings.items() if k != "total")
    return f'<div class="meta" title="{esc(detail)}">{esc(" · ".join(parts))}</div>'


def warn_line(text: str) -> str:
    """A one-line warning (cut with an ellipsis on screen; the whole text on hover)."""
    line = " ".join(text.split())
    return f'<div class="warn" title="{esc(line)}">⚠ {esc(line)}</div>'


def _payload(text: str) -> str:
    """Text kept in the page for the copy buttons, newlines and all, inside one HTML line."""
    return esc(text).replace("\n", "&#10;")


def tools_html(answer: Answer, anchor: str, papers: Mapping[str, Paper] | None) -> str:
    """Buttons that copy the answer as Markdown with its references, and as BibTeX."""
    markdown = answer.to_markdown()
    bibtex = answer.bibtex(papers)
    buttons = (
        f'<button type="button" class="copy-export" id="{anchor}-md-copy" '
        'title="Copy the answer and its numbered references as Markdown">Copy as Markdown</button>'
    )
    payloads = f'<pre class="export" id="{anchor}-md">{_payload(markdown)}</pre>'
    if bibtex:
        count = len(re.findall(r"^@", bibtex, re.MULTILINE))
        buttons += (
            f'<button type="button" class="copy-export" id="{anchor}-bib-copy" '
            f'title="Copy a BibTeX entry for each cited paper">Copy BibTeX ({count})</button>'
        )
        payloads += f'<pre class="export" id="{anchor}-bib">{_payload(bibtex)}</pre>'
    status = f'<span class="copied" id="{anchor}-status" role="status"></span>'
    return f'<div class="tools">{buttons}{status}</div>{payloads}'


def answer_body(answer: Answer) -> str:
    """The answer's text without its fixed notice (the page shows that on its own)."""
    return answer.body


def standing_notice(answer: Answer) -> bool:
    """Whether the answer's notice says the same under every answer (no LLM configured):
    the page shows it once. Others (the model's reply was replaced by quotes) concern this
    answer and show above it; an LLM failure's notice gives way to its warning line."""
    return bool(answer.notice) and answer.notice in (phrase("no_llm", "zh"), phrase("no_llm", "en"))


def answer_html(
    answer: Answer,
    turn: int,
    show_notice: bool = True,
    papers: Mapping[str, Paper] | None = None,
) -> str:
    """The chat message for a finished answer: warning or notice, text, sources, the standing
    notice (when asked for), copy buttons, small print."""
    anchor = f"t{int(turn)}"
    located = locate_all(answer)
    body = body_html(answer_body(answer), answer.citations, located, anchor, answer.unsupported)
    blocks = []
    if answer.error:
        error = " ".join(answer.error.split())
        lead = "Showing quoted passages instead — " if answer.fallback else ""
        blocks.append(warn_line(f"{lead}{error}"))
    elif answer.notice and not standing_notice(answer):
        blocks.append(f'<div class="notice">⚠ {esc(answer.notice)}</div>')
    blocks.append(f'<div class="answer-body">{body.html}</div>')
    if body.unplaced:
        items = "".join(f"<li>{esc(' '.join(c.split()))}</li>" for c in body.unplaced)
        blocks.append(
            f'<div class="unsupported-list"><span class="unsupported-tag">unsupported</span> '
            f"{UNSUPPORTED.lower().replace('this claim', 'these claims')}:<ul>{items}</ul></div>"
        )
    blocks.append(sources_html(answer, located, anchor))
    if show_notice and standing_notice(answer) and not answer.error:
        blocks.append(f'<div class="note">{esc(answer.notice)}</div>')
    if not answer.refused:
        blocks.append(tools_html(answer, anchor, papers))
    blocks.append(footer_html(answer))
    return f'<div class="answer" id="{anchor}">{"".join(blocks)}</div>'


def partial_html(text: str) -> str:
    """A streaming answer so far, with a caret: Markdown rendered as it comes, markers as
    plain badges (they link to their sources once the answer is complete and checked: an
    LLM's numbers are the retrieval order until then)."""
    body = MARKER.sub(lambda m: f"\ue002{m[1]}\ue003", strip_private(text))
    body = _MARKER_SLOT.sub(r'<span class="cite">\1</span>', render_markdown(body))
    caret = '<span class="caret">▍</span>'
    return f'<div class="answer partial"><div class="answer-body">{body}{caret}</div></div>'


def question_html(text: str) -> str:
    return render_markdown(strip_private(text))


# -- the retrieved passages ----------------------------------------------------------------------


_WHOLE_PASSAGES: dict[Chunk, str] = {}
_WHOLE_PASSAGES_MAX = 4096


def whole_passage_html(chunk: Chunk) -> str:
    """A whole passage, nothing highlighted: rendered once per chunk text (the retrieved
    passages panel shows the same chunks again and again; their Markdown rendering was the
    largest part of a chat request's rendering)."""
    html = _WHOLE_PASSAGES.get(chunk)  # keyed by every field (chunks are frozen)
    if html is None:
        if len(_WHOLE_PASSAGES) >= _WHOLE_PASSAGES_MAX:
            _WHOLE_PASSAGES.clear()
        html = _WHOLE_PASSAGES[chunk] = passage_html(chunk, whole=True)[0]
    return html


def hits_html(hits: Sequence[Hit]) -> str:
    """What retrieval found for the latest question: label, score, retrievers and the whole
    passage rendered."""
    if not hits:
        return '<p class="muted">Nothing retrieved yet.</p>'
    rows = []
    for hit in hits:
        chunk = hit.chunk
        found = ", ".join(f"{esc(name)} #{int(rank)}" for name, rank in hit.retrievers.items())
        passage = whole_passage_html(chunk)
        rows.append(
            f'<div class="hit"><div class="hit-head"><b>{int(hit.rank)}.</b> '
            f'{esc(chunk.label)} <span class="muted">score {hit.score:.4f} · {found}</span>'
            f'</div><div class="passage">{passage}</div></div>'
        )
    return "".join(rows)
