"""Survey Markdown → :class:`Section` s with their links; ``abstracts.jsonl`` → :class:`Paper` s.

Parsing uses markdown-it-py's token stream (with line maps) rather than regexes over
lines, so a ``#`` inside a code fence is not a heading, tables and lists are known as
blocks, and links are read from the inline tokens. Section text is sliced verbatim from
the source so tables, lists and links stay exactly as written.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

from assistant.errors import CorpusError
from assistant.models import Block, Link, Paper, Section

log = logging.getLogger(__name__)

# --- arXiv IDs -----------------------------------------------------------------------

_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z][a-z\-]*(?:\.[A-Za-z]{2})?/\d{7}"
_ID_BODY = rf"(?P<id>{_NEW_ID}|{_OLD_ID})(?:v\d+)?"
_ARXIV_URL = re.compile(
    rf"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html|format)/{_ID_BODY}"
    r"(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)
_BARE_ID = re.compile(rf"^(?:arxiv:\s*)?{_ID_BODY}$", re.IGNORECASE)
ARXIV_MENTION = re.compile(
    rf"(?<![\w./-])(?:arxiv:\s*)?(?P<id>{_NEW_ID})(?:v\d+)?(?![\w.])", re.IGNORECASE
)
"""A new-style arXiv ID written inside running text (``arXiv:2602.00558v1``)."""


def normalize_arxiv_id(value: str) -> str | None:
    """Canonical arXiv ID from an ID, ``arXiv:`` form or abs/pdf/html URL; None otherwise.

    Versions are dropped and old-style archives lower-cased, so the result is
    idempotent: ``normalize_arxiv_id(normalize_arxiv_id(x)) == normalize_arxiv_id(x)``.

    >>> normalize_arxiv_id("https://arxiv.org/pdf/2502.10498v2.pdf")
    '2502.10498'
    >>> normalize_arxiv_id("arXiv:hep-th/9901001v1")
    'hep-th/9901001'
    """
    text = value.strip()
    match = _ARXIV_URL.match(text) or _BARE_ID.match(text)
    if not match:
        return None
    found = match.group("id")
    if "/" in found:
        archive, number = found.split("/", 1)
        if "." in archive:
            name, subject = archive.split(".", 1)
            archive = f"{name.lower()}.{subject.upper()}"
        else:
            archive = archive.lower()
        return f"{archive}/{number}"
    yymm, number = found.split(".")
    if len(number) != (5 if yymm >= "1501" else 4) or not "01" <= yymm[2:] <= "12":
        return None  # IDs have 4 digits after the dot until 2014, 5 since 2015
    return found


# --- headings --------------------------------------------------------------------------

_DOTTED = re.compile(
    r"^(?:§\s*)?(?P<num>\d{1,3}(?:\.\d{1,3})+|\d{1,3})\.?(?:\s+|(?=[^\d\s.]))(?P<title>.+)$"
)
_CN_ORDINAL = re.compile(r"^(?P<num>[一二三四五六七八九十百零〇]+)\s*[、.．:：]\s*(?P<title>.+)$")
_CN_CHAPTER = re.compile(
    r"^第\s*(?P<num>[一二三四五六七八九十百零〇\d]+)\s*[章节部分篇]\s*[、.．:：]?\s*(?P<title>.*)$"
)


def split_heading(heading: str) -> tuple[str | None, str]:
    """``17.4.1 安全与伦理`` → ``("17.4.1", "安全与伦理")``; no number → ``(None, heading)``.

    A bare integer counts as a number only up to three digits, so a heading such as
    ``2025 年的突破`` keeps its year as part of the title.
    """
    text = heading.strip()
    for pattern in (_DOTTED, _CN_CHAPTER, _CN_ORDINAL):
        match = pattern.match(text)
        if match and match.group("title").strip():
            return match.group("num"), match.group("title").strip()
    return None, text


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\u4e00-\u9fff]+", "-", text)
    return text.strip("-")[:60] or "section"


def _nesting_key(level: int, number: str | None) -> int:
    """Heading depth that also honours dotted numbers: ``### 17.4.1`` nests under ``### 17.4``."""
    parts = len(number.split(".")) if number and number[0].isdigit() else 0
    return level * 10 + parts


# --- Markdown parsing ---------------------------------------------------------------------


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"linkify": True}).enable(["table", "linkify", "strikethrough"])
    return md.use(front_matter_plugin)


_MD = _markdown()


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "image":
            parts.append(child.content or child.attrGet("alt") or "")
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts).strip()


def _inline_links(token: Token) -> list[Link]:
    links: list[Link] = []
    href: str | None = None
    text: list[str] = []
    for child in token.children or []:
        if child.type == "link_open":
            href, text = str(child.attrGet("href") or ""), []
        elif child.type == "link_close" and href is not None:
            anchor = "".join(text).strip()
            links.append(Link(url=href, text=anchor, arxiv_id=normalize_arxiv_id(href)))
            href = None
        elif href is not None and child.type in ("text", "code_inline"):
            text.append(child.content)
        elif href is not None and child.type == "image":
            text.append(child.content or "")
    return links


_BLOCK_KINDS = {
    "paragraph_open": "paragraph",
    "table_open": "table",
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "fence": "code",
    "code_block": "code",
    "blockquote_open": "quote",
    "html_block": "html",
    "hr": "rule",
}


@dataclass
class _Heading:
    level: int
    line: int  # 0-based line of the heading
    end: int  # 0-based line after the heading
    text: str
    links: list[Link]


@dataclass
class _RawBlock:
    kind: str
    lines: tuple[int, int]
    items: list[tuple[int, int]] = field(default_factory=list)


def _is_item(kind: str, tok: Token) -> bool:
    """A table row or a top-level list item: the spans a chunk must not cut."""
    if kind == "table":
        return tok.type == "tr_open"
    return kind == "list" and tok.type == "list_item_open" and tok.level == 1


_HEADING_ATTRS = re.compile(r"\s*\{[#.][^{}]*\}\s*$")
"""A VitePress/markdown-it-attrs custom anchor or class after a heading (``{#intro}``)."""


def _scan(tokens: list[Token]) -> tuple[list[_Heading], list[_RawBlock], list[tuple[int, Link]]]:
    """One pass over the token stream: headings, top-level blocks, links with their line."""
    headings: list[_Heading] = []
    blocks: list[_RawBlock] = []
    links: list[tuple[int, Link]] = []
    open_block: _RawBlock | None = None
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.map:
            inline = tokens[i + 1]
            headings.append(
                _Heading(
                    level=int(tok.tag[1:]),
                    line=tok.map[0],
                    end=tok.map[1],
                    text=_HEADING_ATTRS.sub("", _inline_text(inline)).strip(),
                    links=_inline_links(inline),
                )
            )
            continue
        if tok.level == 0 and tok.type in _BLOCK_KINDS and tok.map:
            open_block = _RawBlock(_BLOCK_KINDS[tok.type], (tok.map[0], tok.map[1]))
            blocks.append(open_block)
        elif open_block is not None and tok.map and _is_item(open_block.kind, tok):
            open_block.items.append((tok.map[0], tok.map[1]))
        if tok.type == "inline" and tok.map and not (i and tokens[i - 1].type == "heading_open"):
            links.extend((tok.map[0], link) for link in _inline_links(tok))
    return headings, blocks, links


def _table_items(rows: list[tuple[int, int]], span: tuple[int, int]) -> list[tuple[int, int]]:
    """Rows as line spans; the header and its ``|---|`` separator form the first item."""
    if not rows:
        return []
    items = [(span[0], rows[1][0] if len(rows) > 1 else span[1])]
    items.extend(rows[1:])
    return items


def parse_markdown(text: str, source: str) -> list[Section]:
    """Split one Markdown document into sections, one per heading.

    Text before the first heading (front matter excluded) becomes a section titled
    after the file. Headings without a number get an id from their heading path, made
    unique with a ``-2`` suffix when two siblings share a title.
    """
    tokens = _MD.parse(text)
    lines = text.splitlines(keepends=True)
    headings, blocks, links = _scan(tokens)
    body_start = next((t.map[1] for t in tokens if t.type == "front_matter" and t.map), 0)

    spans: list[tuple[_Heading | None, int, int]] = []
    first = headings[0].line if headings else len(lines)
    if any(line.strip() for line in lines[body_start:first]):
        spans.append((None, body_start, first))
    for n, heading in enumerate(headings):
        stop = headings[n + 1].line if n + 1 < len(headings) else len(lines)
        spans.append((heading, heading.end, stop))

    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    used_ids: dict[str, int] = {}
    stem = Path(source).stem
    for heading, start, stop in spans:
        if heading is None:
            number, title, written, level, line = None, stem, stem, 0, body_start + 1
        else:
            number, title = split_heading(heading.text)
            written, level, line = heading.text, heading.level, heading.line + 1
        key = _nesting_key(level, number)
        while stack and stack[-1][0] >= key:
            stack.pop()
        path = (*(h for _, h in stack), written)
        stack.append((key, written))

        if number and number[0].isdigit():
            base = f"{source}#{number}"
        else:
            base = f"{source}#{'/'.join(_slug(p) for p in path)}"
        used_ids[base] = used_ids.get(base, 0) + 1
        section_id = base if used_ids[base] == 1 else f"{base}-{used_ids[base]}"

        body, section_blocks = _body(lines, start, stop, blocks)
        section_links = tuple(link for ln, link in links if start <= ln < stop)
        sections.append(
            Section(
                id=section_id,
                number=number,
                title=title,
                heading=written,
                path=path,
                level=level,
                source=source,
                line=line,
                text=body,
                links=section_links,
                blocks=section_blocks,
            )
        )
    return sections


def _body(
    lines: list[str], start: int, stop: int, blocks: list[_RawBlock]
) -> tuple[str, tuple[Block, ...]]:
    """Verbatim text of lines [start, stop) without surrounding blank lines, and its blocks."""
    while start < stop and not lines[start].strip():
        start += 1
    while stop > start and not lines[stop - 1].strip():
        stop -= 1
    offsets = [0]
    for line in lines[start:stop]:
        offsets.append(offsets[-1] + len(line))
    body = "".join(lines[start:stop]).rstrip("\r\n")

    def char(line_no: int) -> int:
        return min(offsets[max(0, min(line_no, stop) - start)], len(body))

    result: list[Block] = []
    for raw in blocks:
        if raw.lines[0] < start or raw.lines[0] >= stop:
            continue
        items = _table_items(raw.items, raw.lines) if raw.kind == "table" else raw.items
        result.append(
            Block(
                kind=raw.kind,  # type: ignore[arg-type]
                start=char(raw.lines[0]),
                end=char(raw.lines[1]),
                items=tuple((char(a), char(b)) for a, b in items),
            )
        )
    return body, tuple(result)


# --- abstracts ------------------------------------------------------------------------------


def load_papers(path: Path) -> tuple[list[Paper], list[str]]:
    """Read ``abstracts.jsonl``; malformed lines are reported as ``file:line: why`` and skipped."""
    papers: dict[str, Paper] = {}
    problems: list[str] = []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"cannot read abstracts file {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path} is not UTF-8 text (byte {exc.start}); re-save it as UTF-8"
        ) from exc
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            arxiv_id = normalize_arxiv_id(str(record.get("id", "")))
            if not arxiv_id:
                raise ValueError(f"missing or invalid arXiv id {record.get('id')!r}")
            paper = Paper.model_validate({**record, "id": arxiv_id})
        except (ValueError, TypeError) as exc:
            message = str(exc).splitlines()[0]
            problems.append(f"{where}: skipped malformed line ({message})")
            log.warning("%s: skipped malformed line (%s)", where, message)
            continue
        if arxiv_id in papers:
            problems.append(f"{where}: duplicate record for {arxiv_id}; the later one wins")
        papers[arxiv_id] = paper
    return list(papers.values()), problems


# --- the corpus as a whole ---------------------------------------------------------------------


@dataclass
class Corpus:
    """Everything ingestion found, plus what it had to skip."""

    root: Path
    sections: list[Section]
    papers: list[Paper]
    files: list[str]
    content_hash: str
    problems: list[str] = field(default_factory=list)


def excluded(rel: str, exclude: tuple[str, ...]) -> bool:
    """Whether the corpus-relative path ``rel`` matches a ``corpus_exclude`` pattern (by its
    path or its file name)."""
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(name, pat) for pat in exclude)


def markdown_files(root: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    """Markdown files under ``root``, recursively, sorted, minus ``exclude`` glob patterns."""
    found = []
    for path in sorted(root.rglob("*.md")):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if excluded(rel, exclude):
            continue
        if path.is_file():
            found.append(path)
    return found


def corpus_files(root: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    """:func:`markdown_files`, or a :class:`CorpusError` when there are none."""
    if root.exists() and not root.is_dir():
        raise CorpusError(f"corpus folder {root} is a file; pass the folder that holds it")
    if not root.is_dir():
        raise CorpusError(f"corpus folder {root} does not exist; pass --corpus DIR")
    files = markdown_files(root, exclude)
    if not files:
        raise CorpusError(f"corpus folder {root} holds no Markdown (*.md) files")
    return files


def decode_markdown(path: Path, raw: bytes) -> str:
    """A file's text; a file that is not UTF-8 is a :class:`CorpusError` naming the fix."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path} is not UTF-8 text (invalid byte at offset {exc.start}); "
            f"convert it, e.g. `iconv -f GB18030 -t UTF-8`"
        ) from exc


def feed_file(digest: hashlib._Hash, rel: str, raw: bytes) -> None:
    """Add one Markdown file to a :attr:`Corpus.content_hash` being computed."""
    digest.update(rel.encode() + b"\0" + raw + b"\0")


def feed_abstracts(digest: hashlib._Hash, raw: bytes) -> None:
    """Add the abstracts file to a :attr:`Corpus.content_hash` being computed."""
    digest.update(b"abstracts\0" + raw)


def corpus_fingerprint(
    corpus_dir: Path, abstracts_file: Path | None = None, exclude: tuple[str, ...] = ()
) -> str | None:
    """:attr:`Corpus.content_hash` from the raw bytes alone, without parsing any Markdown.

    Lets an unchanged corpus be recognised in milliseconds; None when something cannot
    be read (the full :func:`load_corpus` then reports what is wrong).
    """
    root = Path(corpus_dir)
    digest = hashlib.sha256()
    try:
        files = markdown_files(root, exclude) if root.is_dir() else []
        if not files:
            return None
        for path in files:
            feed_file(digest, path.relative_to(root).as_posix(), path.read_bytes())
        if abstracts_file is not None:
            feed_abstracts(digest, Path(abstracts_file).read_bytes())
    except OSError:
        return None
    return digest.hexdigest()[:16]


def load_corpus(
    corpus_dir: Path, abstracts_file: Path | None = None, exclude: tuple[str, ...] = ()
) -> Corpus:
    """Parse every Markdown file under ``corpus_dir`` and the abstracts file if given.

    Raises :class:`CorpusError` for a missing/empty folder or a file that is not UTF-8:
    indexing half a corpus silently would be worse than stopping.
    """
    root = Path(corpus_dir)
    files = corpus_files(root, exclude)
    digest = hashlib.sha256()
    sections: list[Section] = []
    names: list[str] = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        raw = path.read_bytes()
        text = decode_markdown(path, raw)
        feed_file(digest, rel, raw)
        sections.extend(parse_markdown(text, rel))
        names.append(rel)
    papers: list[Paper] = []
    problems: list[str] = []
    if abstracts_file is not None:
        papers, problems = load_papers(Path(abstracts_file))
        feed_abstracts(digest, Path(abstracts_file).read_bytes())
    return Corpus(
        root=root,
        sections=sections,
        papers=papers,
        files=names,
        content_hash=digest.hexdigest()[:16],
        problems=problems,
    )
