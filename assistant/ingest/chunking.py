"""Sections and papers → :class:`Chunk` s.

Why not llama-index's ``SentenceSplitter``: it re-joins text with normalised
whitespace (so chunks no longer map back to exact offsets for quoting), does not know
Markdown tables, and counts tokens with tiktoken rather than the embedder's tokenizer.
Here a chunk is always a verbatim slice of one section, cut only at sentence ends
(。！？； and English sentence ends), list items or table rows, and sized with the
embedder's own token counter, which is passed in.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable

from assistant.ingest.audit import LinkCheck, LinkChecker, SectionLinks
from assistant.ingest.corpus import Corpus
from assistant.models import BYLINE, Chunk, Paper, Section
from assistant.text import sentence_spans, trim_span

TokenCounter = Callable[[str], int]

PATH_SEPARATOR = " › "


def _hash(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def _units(section: Section) -> list[tuple[int, int, int]]:
    """Uncuttable spans ``(start, end, table_block_index or -1)`` that tile the section text.

    Table rows and list items are units; paragraphs split into sentences. Gaps between
    blocks (blank lines) are absorbed into the preceding unit so the tiling is exact.
    """
    text = section.text
    raw: list[tuple[int, int, int]] = []
    cursor = 0
    for index, block in enumerate(section.blocks):
        if block.start > cursor:
            raw.extend((a, b, -1) for a, b in sentence_spans(text, cursor, block.start))
        start = max(block.start, cursor)
        if block.kind == "table" and block.items:
            pieces = [(max(a, start), b) for a, b in block.items if b > start]
            tag = index
        elif block.kind == "list" and block.items:
            pieces = [(max(a, start), b) for a, b in block.items if b > start]
            tag = -1
        elif block.kind in ("code", "html"):
            pieces = [(start, block.end)]
            tag = -1
        else:
            pieces = sentence_spans(text, start, block.end)
            tag = -1
        if pieces and pieces[0][0] > start:
            pieces.insert(0, (start, pieces[0][0]))
        if pieces and pieces[-1][1] < block.end:
            pieces.append((pieces[-1][1], block.end))
        raw.extend((a, b, tag) for a, b in pieces if b > a)
        cursor = max(cursor, block.end)
    if cursor < len(text):
        raw.extend((a, b, -1) for a, b in sentence_spans(text, cursor, len(text)))
    tiled: list[tuple[int, int, int]] = []
    for n, (a, _b, tag) in enumerate(raw):
        nxt = raw[n + 1][0] if n + 1 < len(raw) else len(text)
        start = 0 if n == 0 else a
        if nxt > start:
            tiled.append((start, nxt, tag))
    return tiled


def _split_long(
    text: str, start: int, end: int, tag: int, count: TokenCounter, limit: int
) -> list[tuple[int, int, int]]:
    """Cut a unit that alone exceeds ``limit`` into the longest pieces that fit.

    Only used for a single sentence or table row longer than a whole chunk; cuts
    prefer whitespace and punctuation.
    """
    pieces: list[tuple[int, int, int]] = []
    while start < end:
        if count(text[start:end]) <= limit:
            pieces.append((start, end, tag))
            break
        lo, hi = start + 1, end
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[start:mid]) <= limit:
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        for back in range(cut, max(start + (cut - start) // 2, start + 1) - 1, -1):
            if text[back - 1] in " \t\n，,、|：:":
                cut = back
                break
        pieces.append((start, cut, tag))
        start = cut
    return pieces


def chunk_section(
    section: Section, count_tokens: TokenCounter, max_tokens: int, overlap_tokens: int
) -> list[Chunk]:
    """Pack a section's units into chunks of at most ``max_tokens`` with a small overlap.

    Overlap repeats whole trailing units (never half a sentence or row) worth at most
    ``overlap_tokens``. A chunk that starts inside a table carries the table's header
    row in its ``context`` so each piece still reads as a table.
    """
    text = section.text
    if not text.strip():
        return []
    units: list[tuple[int, int, int]] = []
    for a, b, tag in _units(section):
        units.extend(_split_long(text, a, b, tag, count_tokens, max_tokens))
    sizes = [count_tokens(text[a:b]) for a, b, _ in units]

    groups: list[list[int]] = []
    current: list[int] = []
    used = 0
    for n, size in enumerate(sizes):
        if current and used + size > max_tokens:
            groups.append(current)
            carry: list[int] = []
            carried = 0
            for m in reversed(current):
                if carried + sizes[m] > overlap_tokens or carried + sizes[m] + size > max_tokens:
                    break
                carry.insert(0, m)
                carried += sizes[m]
            current, used = carry, carried
        current.append(n)
        used += size
    if current:
        groups.append(current)

    path = PATH_SEPARATOR.join(section.path)
    chunks: list[Chunk] = []
    for position, group in enumerate(groups):
        start, end = trim_span(text, units[group[0]][0], units[group[-1]][1])
        if start >= end:
            continue
        context = path
        tag = units[group[0]][2]
        if tag >= 0 and units[group[0]][0] > section.blocks[tag].items[0][0]:
            header = section.blocks[tag].items[0]
            context = f"{path}\n{text[header[0] : header[1]].strip()}"
        body = text[start:end]
        linked = tuple(
            dict.fromkeys(
                link.arxiv_id for link in section.links if link.arxiv_id and link.url in body
            )
        )
        chunks.append(
            Chunk(
                id=_hash(section.source, section.id, str(position)),
                kind="section",
                text=body,
                context=context,
                source=section.source,
                position=position,
                start=start,
                end=end,
                section_id=section.id,
                section=section.ref,
                section_title=section.title,
                section_path=section.path,
                arxiv_ids=linked,
                content_hash=_hash(context, body),
            )
        )
    return chunks


def chunk_paper(
    paper: Paper,
    cited_in: Iterable[str] = (),
    anchors: Iterable[str] = (),
    mislinked: Iterable[str] = (),
) -> Chunk:
    """One chunk per paper: its title, abstract and authors (last, so that the names
    weigh little in its embedding but "who wrote X" can be answered and quoted), tagged
    with the sections citing it.

    ``mislinked`` anchors (the link audit's mismatches) are kept apart from ``anchors`` so
    that nothing downstream names the paper after them.
    """
    body = "\n\n".join(part for part in (paper.title, paper.abstract) if part).strip()
    byline = f"{BYLINE}{', '.join(paper.authors)}" if paper.authors else ""
    text = f"{body}\n\n{byline}" if body and byline else body or byline
    wrong = tuple(dict.fromkeys(a for a in mislinked if a))
    anchors = tuple(dict.fromkeys(a for a in anchors if a and a not in wrong))
    context = f"arXiv:{paper.id}"
    return Chunk(
        id=_hash("arxiv", paper.id),
        kind="abstract",
        text=text,
        context=context,
        source=f"arxiv:{paper.id}",
        arxiv_ids=(paper.id,),
        arxiv_id=paper.id,
        title=paper.title,
        authors=paper.authors,
        published=paper.published,
        cited_in=tuple(dict.fromkeys(cited_in)),
        anchors=anchors,
        mislinked_anchors=wrong,
        content_hash=_hash(context, body),  # what is embedded: not the byline
    )


def chunk_corpus(
    corpus: Corpus,
    count_tokens: TokenCounter,
    max_tokens: int,
    overlap_tokens: int,
) -> list[Chunk]:
    """All section chunks in reading order, then one chunk per indexable paper."""
    chunks: list[Chunk] = []
    for section in corpus.sections:
        chunks.extend(chunk_section(section, count_tokens, max_tokens, overlap_tokens))
    if not corpus.papers:
        return chunks
    checks = LinkChecker(corpus.papers).check(SectionLinks.of(s) for s in corpus.sections)
    return chunks + paper_chunks(indexable(corpus.papers), checks)


def indexable(papers: Iterable[Paper]) -> list[Paper]:
    """The papers that become chunks: fetched, with a title or an abstract."""
    return [p for p in papers if p.status == "ok" and (p.title or p.abstract)]


def paper_chunks(papers: Iterable[Paper], checks: Iterable[LinkCheck]) -> list[Chunk]:
    """One chunk per paper of ``papers``, tagged with the sections linking it and their
    anchors, and with the link audit's mislinked and suggested anchors.

    Made from the link checks (one per survey link, in reading order, each naming its
    section and anchor) rather than the sections' links, so that a build reads only the
    checks its stored parts already hold."""
    cited: dict[str, list[str]] = defaultdict(list)
    anchors: dict[str, list[str]] = defaultdict(list)
    mislinked: dict[str, list[str]] = defaultdict(list)
    suggested: dict[str, list[str]] = defaultdict(list)
    for check in checks:
        cited[check.arxiv_id].append(check.section)
        anchors[check.arxiv_id].append(check.anchor)
        if check.verdict == "mismatch":
            mislinked[check.arxiv_id].append(check.anchor)
            if check.suggested:
                suggested[check.suggested].append(check.anchor)
    for paper_id, named in suggested.items():
        anchors[paper_id].extend(named)
    return [
        chunk_paper(
            paper, cited.get(paper.id, ()), anchors.get(paper.id, ()), mislinked.get(paper.id, ())
        )
        for paper in papers
    ]
