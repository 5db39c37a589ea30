"""Typed records that move between the pipeline's stages.

corpus → :class:`Section`, :class:`Paper`; chunking → :class:`Chunk`;
retrieval → :class:`Hit`; answering → :class:`Answer` with :class:`Citation` s.
They are pydantic models so that the CLI's ``--json`` output, the eval runner and the
UI all serialise them the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.errors import InvalidInput
from assistant.markup import (
    ARXIV_ABS,
    ARXIV_REF,
    arxiv_url,
    bibtex_text,
    inert_markdown,
    markdown_text,
)

ARXIV_ABS_URL = ARXIV_ABS

ChunkKind = Literal["section", "abstract"]


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Link(Record):
    """A Markdown link inside a section."""

    url: str
    text: str
    arxiv_id: str | None = None


class Block(Record):
    """A top-level Markdown block of a section, as character offsets into its text.

    The chunker keeps tables and list items whole by cutting only at these
    boundaries (and at sentence ends inside paragraphs).
    """

    kind: Literal["paragraph", "table", "list", "code", "quote", "html", "rule", "other"]
    start: int
    end: int
    items: tuple[tuple[int, int], ...] = ()
    """Sub-spans that must not be cut: table rows or list items."""


class Section(Record):
    """One heading of the survey and the text up to the next heading."""

    id: str
    """Stable id: ``<source>#<number>`` or ``<source>#<slug of the heading path>``."""
    number: str | None
    """Dotted number (``17.4.1``) or Chinese ordinal (``一``) when the heading carries one."""
    title: str
    """Heading text without its number."""
    heading: str
    """Heading text as written."""
    path: tuple[str, ...]
    """Headings from the chapter down to this section, as written."""
    level: int
    source: str
    """File path relative to the corpus folder, with forward slashes."""
    line: int
    """1-based line of the heading in its source file."""
    text: str
    """Body Markdown, verbatim (tables, lists and links intact)."""
    links: tuple[Link, ...] = ()
    blocks: tuple[Block, ...] = ()

    @property
    def ref(self) -> str:
        """What eval files and citations use: the dotted number, else the id."""
        return self.number if self.number and self.number[0].isdigit() else self.id

    @property
    def label(self) -> str:
        """Human label such as ``§17.4.1 安全与伦理：深入讨论``."""
        if self.number and self.number[0].isdigit():
            return f"§{self.number} {self.title}"
        return f"§{self.heading}"

    @property
    def arxiv_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(link.arxiv_id for link in self.links if link.arxiv_id))


class Paper(Record):
    """arXiv metadata of a linked paper (one line of ``abstracts.jsonl``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    title: str = ""
    authors: tuple[str, ...] = ()
    abstract: str = ""
    published: str | None = None
    categories: tuple[str, ...] = ()
    source_url: str | None = None
    status: Literal["ok", "unknown", "withdrawn"] = "ok"
    """``unknown``/``withdrawn`` records come from the fetcher and are not indexed."""

    @property
    def url(self) -> str:
        return ARXIV_ABS_URL.format(self.id)


BYLINE = "Authors: "
"""How an abstract chunk's last paragraph starts: its paper's authors
(:func:`assistant.ingest.chunking.chunk_paper`)."""


class Chunk(Record):
    """A unit of retrieval: part of one section, or one paper's title and abstract."""

    id: str
    kind: ChunkKind
    text: str
    """What is shown and quoted: a verbatim slice of the section, or title + abstract."""
    context: str = ""
    """Prepended for embedding and BM25 only (heading path, table header, citing sections)."""
    source: str
    position: int = 0
    start: int = 0
    end: int = 0
    """Character span of ``text`` inside the section's text (section chunks)."""
    section_id: str | None = None
    section: str | None = None
    """Section number (``17.4.1``) or, for unnumbered headings, the section id."""
    section_title: str | None = None
    section_path: tuple[str, ...] = ()
    arxiv_ids: tuple[str, ...] = ()
    """arXiv IDs linked from this chunk (section chunks) or the paper's own ID."""
    arxiv_id: str | None = None
    title: str | None = None
    authors: tuple[str, ...] = ()
    published: str | None = None
    cited_in: tuple[str, ...] = ()
    """Sections (refs) that link this paper (abstract chunks)."""
    anchors: tuple[str, ...] = ()
    """Anchor texts the survey uses for this paper (abstract chunks), minus mislinked ones,
    plus mislinked anchors of other links that the link audit finds describe this paper."""
    mislinked_anchors: tuple[str, ...] = ()
    """Anchors that link this paper but, per the link audit (:mod:`assistant.ingest.audit`), name
    another paper: an answer citing this chunk must not call it by them (abstract chunks)."""
    content_hash: str = ""
    """Hash of everything that is embedded; equal hashes never get embedded twice."""

    @property
    def indexed_text(self) -> str:
        """The text BM25 sees."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    @property
    def embedded_text(self) -> str:
        """The text the embedder sees: :attr:`indexed_text` without an abstract's byline.
        Names say whom a paper is by, not what it is about; in the vector they would only
        pull papers with similar names (or, in generated test corpora, identical ones)
        together."""
        text = self.indexed_text
        if self.kind == "abstract":
            head, sep, tail = text.rpartition(f"\n\n{BYLINE}")
            if sep and "\n" not in tail:
                return head
        return text

    @property
    def label(self) -> str:
        if self.kind == "abstract":
            return f"arXiv:{self.arxiv_id} — {self.title}"
        if self.section and self.section[0].isdigit():
            return f"§{self.section} {self.section_title}"
        return f"§{self.section_title}"

    @property
    def url(self) -> str | None:
        return ARXIV_ABS_URL.format(self.arxiv_id) if self.arxiv_id else None


class Hit(BaseModel):
    """A retrieved chunk with its fused score and where it came from."""

    model_config = ConfigDict(extra="forbid")

    chunk: Chunk
    score: float
    rank: int = 0
    retrievers: dict[str, int] = Field(default_factory=dict)
    """Retriever name → 1-based rank at which it found this chunk."""
    retriever_scores: dict[str, float] = Field(default_factory=dict)

    def to_json(self) -> dict:
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "chunk_id": c.id,
            "kind": c.kind,
            "section": c.section,
            "section_title": c.section_title,
            "source": c.source,
            "arxiv_ids": list(c.arxiv_ids),
            "arxiv_id": c.arxiv_id,
            "title": c.title,
            "retrievers": self.retrievers,
            "text": c.text,
        }


class Citation(BaseModel):
    """One numbered marker of an answer and the chunk it points at."""

    marker: int
    kind: Literal["section", "arxiv"]
    chunk_id: str
    section: str | None = None
    section_title: str | None = None
    arxiv_id: str | None = None
    title: str | None = None
    authors: tuple[str, ...] = ()
    url: str | None = None
    linked_arxiv_ids: tuple[str, ...] = ()
    """arXiv IDs the cited section chunk links to (so a paper it names has its ID)."""
    quote: str = ""
    """The sentence of the chunk that best supports the claim."""
    quotes: tuple[str, ...] = ()
    """Every sentence of the chunk the answer rests on, in answer order (``quote`` first); a
    source card highlights each of them."""
    flagged: str | None = None
    """Set when the link audit found the survey's anchor text does not match this paper."""

    @property
    def label(self) -> str:
        if self.kind == "arxiv":
            return f"arXiv:{self.arxiv_id} — {self.title}"
        if self.section and self.section[0].isdigit():
            return f"§{self.section} {self.section_title}"
        return f"§{self.section_title}"

    def to_markdown(self) -> str:
        """The reference as a line of Markdown: ``§17.4 主要挑战``, or the arXiv ID linked to
        its page, the title and the first authors."""
        if self.kind != "arxiv":
            return markdown_text(self.label)
        ident = f"arXiv:{self.arxiv_id or ''}"
        url = arxiv_url(self.arxiv_id)
        line = f"[{ident}]({url})" if url else markdown_text(ident)
        if self.title:
            line += f" — {markdown_text(self.title)}"
        if self.authors:
            names = ", ".join(self.authors[:3]) + (" et al." if len(self.authors) > 3 else "")
            line += f". {markdown_text(names)}"
        return line

    def to_json(self) -> dict:
        return {
            "marker": self.marker,
            "kind": self.kind,
            "section": self.section,
            "section_title": self.section_title,
            "arxiv_id": self.arxiv_id,
            "title": self.title,
            "url": self.url,
            "chunk_id": self.chunk_id,
            "quote": self.quote,
            "quotes": list(self.quotes),
            "linked_arxiv_ids": list(self.linked_arxiv_ids),
            "flagged": self.flagged,
        }


class ChatTurn(BaseModel):
    """One message of a conversation, as the chat UI and ``ask(history=…)`` pass it."""

    role: Literal["user", "assistant"]
    content: str


HistoryLike = Sequence[ChatTurn | dict | tuple[str, str]]


def normalize_history(history: HistoryLike | None) -> list[ChatTurn]:
    """Turns from ``ChatTurn`` s, ``{"role", "content"}`` dicts or (user, assistant) pairs."""
    turns: list[ChatTurn] = []
    for item in history or ():
        if isinstance(item, ChatTurn):
            turns.append(item)
        elif isinstance(item, dict):
            try:
                turns.append(ChatTurn.model_validate(item))
            except ValueError as exc:
                raise InvalidInput(f"bad history turn {item!r}: {exc}") from exc
        elif isinstance(item, tuple | list) and len(item) == 2:
            user, reply = item
            if user:
                turns.append(ChatTurn(role="user", content=str(user)))
            if reply:
                turns.append(ChatTurn(role="assistant", content=str(reply)))
        else:
            raise InvalidInput(
                "history must be a list of {'role', 'content'} turns or (user, assistant) pairs"
            )
    return [t for t in turns if t.content.strip()]


class Repair(BaseModel):
    """A claim whose citation the check moved: re-pointed to the source that supports it, or
    added where the claim had none."""

    claim: str
    before: int | None = None
    """The marker the claim carried, as the model wrote it: numbered after the sources it
    was shown, ``Answer.hits`` (None: it had none)."""
    after: int
    """The marker it carries now (numbered after ``Answer.citations``)."""


class Answer(BaseModel):
    """What :meth:`assistant.Assistant.ask` returns."""

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    hits: list[Hit] = Field(default_factory=list)
    backend: str = "none"
    refused: bool = False
    grounded: float = 0.0
    """Share of the answer's claims that a cited source supports (an LLM answer: see
    :mod:`assistant.answer.claims`; a quoted one: sentences carrying a valid marker)."""
    unsupported: list[str] = Field(default_factory=list)
    """Claims no cited source supports, shown flagged, never as supported: an LLM's claims
    the claim check found no support for (:mod:`assistant.answer.claims`), or sentences of
    a quoted answer without a valid marker."""
    repaired: list[Repair] = Field(default_factory=list)
    """Citations the check moved or added."""
    error: str | None = None
    """One-line error when the configured LLM failed and the extractive answer was used."""
    fallback: bool = False
    """True when ``text`` is the extractive answer standing in for the LLM's: it failed
    (``error``), or its reply was not presented (``replaced``)."""
    replaced: str | None = None
    """The LLM's reply when it was not presented: no claim of it was supported by the
    sources, or it said the survey does not cover a question the sources answer. Its
    claims are in ``unsupported``; ``text`` is the extractive answer."""
    notice: str | None = None
    """The fixed note ``text`` carries about how it was made (no LLM configured; the LLM
    failed): the chat shows it once, not under every answer, and exports leave it out."""
    support: float | None = None
    """How far the question's support clears the refusal threshold (refused below 0)."""
    refusal_reason: str | None = None
    """Why it was refused: ``no content`` (the question asks about nothing: emoji,
    punctuation, one letter), ``no hits``, ``off topic`` (shares only everyday words with
    the corpus), ``weak support`` (clears no threshold derived from the corpus) or ``answer
    type`` (asked for a figure or a date that no quotable sentence gives)."""
    standalone_question: str | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    """Milliseconds per stage (retrieve, generate, check, total)."""

    @property
    def body(self) -> str:
        """``text`` without the fixed :attr:`notice`."""
        text = self.text.replace(self.notice, "", 1) if self.notice else self.text
        return text.strip()

    def to_markdown(self) -> str:
        """The question, the answer and its numbered references, as Markdown to paste into
        notes. Nothing in it is active (no HTML, only http(s) links, no images); claims
        flagged as unsupported are listed after the answer."""
        parts = [f"**{markdown_text(self.question)}**", inert_markdown(self.body)]
        if self.unsupported:
            flagged = "; ".join(f"“{markdown_text(c)}”" for c in self.unsupported)
            parts.append(f"> ⚠ Not supported by the retrieved sources: {flagged}")
        if self.citations:
            parts.append("**References**")
            parts += [f"[{c.marker}] {c.to_markdown()}" for c in self.citations]
        return "\n\n".join(parts) + "\n"

    def cited_papers(self, papers: Mapping[str, Paper] | None = None) -> list[Paper]:
        """The papers the answer cites (arXiv citations in marker order, then arXiv IDs its
        text names), with the metadata of ``papers`` (the abstracts file) where it has them,
        else what the citation and the retrieved abstract carry."""
        papers = papers or {}
        ids = [c.arxiv_id for c in self.citations if c.kind == "arxiv" and c.arxiv_id]
        ids += [re.sub(r"v\d+$", "", m[1]) for m in ARXIV_REF.finditer(self.body)]
        found = []
        for arxiv_id in dict.fromkeys(i for i in ids if arxiv_url(i)):
            paper = papers.get(arxiv_id)
            if paper is None:
                chunk = next(
                    (
                        h.chunk
                        for h in self.hits
                        if h.chunk.arxiv_id == arxiv_id and h.chunk.kind == "abstract"
                    ),
                    None,
                )
                citation = next((c for c in self.citations if c.arxiv_id == arxiv_id), None)
                paper = Paper(
                    id=arxiv_id,
                    title=(citation and citation.title) or (chunk and chunk.title) or "",
                    authors=(citation and citation.authors) or (chunk and chunk.authors) or (),
                    published=chunk.published if chunk else None,
                )
            found.append(paper)
        return found

    def bibtex(self, papers: Mapping[str, Paper] | None = None) -> str:
        """A BibTeX entry for each paper the answer cites (:meth:`cited_papers`): title,
        authors, year, ``eprint``, ``archivePrefix = {arXiv}``, primary class, url; empty
        when it cites none."""
        taken: set[str] = set()
        return "\n\n".join(bibtex_entry(p, taken) for p in self.cited_papers(papers))

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "grounded": round(self.grounded, 4),
            "backend": self.backend,
            "error": self.error,
            "fallback": self.fallback,
            "notice": self.notice,
            "replaced": self.replaced,
            "support": None if self.support is None else round(self.support, 5),
            "refusal_reason": self.refusal_reason,
            "unsupported": self.unsupported,
            "repaired": [r.model_dump() for r in self.repaired],
            "standalone_question": self.standalone_question,
            "citations": [c.to_json() for c in self.citations],
            "hits": [h.to_json() for h in self.hits],
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
        }


_KEY_SKIP = frozenset({"a", "an", "the", "on", "of", "in", "for", "to", "and", "towards", "toward"})


def _ascii_words(text: str) -> list[str]:
    """Runs of ASCII letters and digits in ``text``, accents dropped, lower-cased."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z0-9]+", folded)


def _year(paper: Paper) -> str:
    """The year a paper appeared: its ``published`` date, else its arXiv ID's YYMM."""
    if paper.published and paper.published[:4].isdigit():
        return paper.published[:4]
    digits = re.search(r"(?:^|/)(\d{2})\d{2}", paper.id)
    if not digits:
        return ""
    yy = int(digits[1])
    return f"{19 if yy >= 91 else 20}{yy:02d}"


def _cite_key(paper: Paper, year: str, taken: set[str]) -> str:
    """A key from the first author's surname, the year and the first title word
    (``tu2025role``); ``b``, ``c``… against a collision; stable for the same metadata."""
    surname = (_ascii_words(paper.authors[0]) or [""])[-1] if paper.authors else ""
    word = next((w for w in _ascii_words(paper.title) if w not in _KEY_SKIP), "")
    key = f"{surname}{year}{word}" if surname or word else ""
    key = key if key[:1].isalpha() else f"arxiv{key or ''.join(_ascii_words(paper.id))}"
    base, n = key, 1
    while key in taken:
        n += 1
        key = f"{base}{chr(ord('a') + n - 1)}"
    taken.add(key)
    return key


def bibtex_entry(paper: Paper, taken: set[str]) -> str:
    """A ``@misc`` entry for an arXiv paper, every value escaped for BibTeX."""
    year = _year(paper)
    fields = []
    if paper.title:
        fields.append(("title", f"{{{bibtex_text(paper.title)}}}"))
    if paper.authors:
        names = [bibtex_text(a) for a in paper.authors]
        fields.append(("author", " and ".join(f"{{{n}}}" if " and " in n else n for n in names)))
    if year:
        fields.append(("year", year))
    fields += [("eprint", paper.id), ("archivePrefix", "arXiv")]
    if paper.categories:
        fields.append(("primaryClass", bibtex_text(paper.categories[0])))
    fields.append(("url", ARXIV_ABS.format(paper.id)))
    body = "".join(f"  {name} = {{{value}}},\n" for name, value in fields)
    return f"@misc{{{_cite_key(paper, year, taken)},\n{body}}}"


class ProbeFigures(BaseModel):
    """How strongly one kind of probe question, in one language, matches the corpus."""

    n: int
    least: float
    median: float
    most: float


class RefusalThreshold(BaseModel):
    """The refusal threshold derived from the indexed corpus (see
    :mod:`assistant.answer.refusal`), stored in the manifest and shown by ``info``."""

    signal: str
    thresholds: dict[str, dict[str, float]]
    """Per question language (``zh``, ``en``), per language of the sentences it matches:
    refuse when the signal is below it for every sentence language."""
    method: str
    """How the thresholds follow from the figures below, in one line."""
    key: str
    """What they depend on besides the corpus (embedder, retrieval settings, probe bank,
    margin): a derivation with another key is stale and derived again."""
    margin: float
    off_topic: dict[str, ProbeFigures]
    """The signal of the bank's off-topic probes on this corpus, per ``question/sentence``
    language pair (``zh/en``: Chinese probes, English sentences)."""
    corpus: dict[str, ProbeFigures]
    """The signal of questions built from the corpus's own headings, per pair."""
    near_miss_refused: str = ""
    """Of the probes asking a detail no survey gives about a name the corpus uses most
    (its stock price, its downloads), how many the whole policy refuses (``7/10``)."""
    seconds: float = 0.0


class IndexedFile(BaseModel):
    """One corpus file's share of an index: its chunks, term counts and links, stored
    once under a key of its bytes and the chunking parameters (``files/<key>.*``)."""

    path: str
    key: str
    chunks: int
    size: int = 0
    """Bytes of the part's chunk file: what the start-up check compares (cheaper than
    counting the lines of every part at 100k chunks)."""


class Manifest(BaseModel):
    """What an index was built from and where its parts are; ``manifest.json``, and a
    copy in the build's folder."""

    version: int = 1
    build_id: str
    embedder: str
    dim: int
    chunking: dict[str, int]
    corpus_hash: str
    chunks: int
    sections: int
    abstracts: int
    built_at: str
    corpus_dir: str
    abstracts_file: str | None = None
    hnsw: dict[str, int] = Field(default_factory=dict)
    """Chroma HNSW parameters the collections were built with (``hnsw:M``, ``…_ef``)."""
    collections: dict[str, str] = Field(default_factory=dict)
    """Chunk kind → the Chroma collection holding its vectors, one row per content hash."""
    files: list[IndexedFile] = Field(default_factory=list)
    """The corpus files, in reading order (their section chunks come first, in this order)."""
    papers_key: str | None = None
    """Key of the abstracts file's stored term counts (``papers/<key>.npz``)."""
    vectors: dict[str, int] = Field(default_factory=dict)
    """Chunk kind → distinct content hashes this build uses (rows it needs)."""
    retired: dict[str, int] = Field(default_factory=dict)
    """Chunk kind → rows only the previous build uses, kept for its readers until the next
    build: queries ask for this many more neighbours and drop rows they do not know."""
    deleted: int = 0
    """Rows deleted from these collections since they were made; past a share of the live
    rows the next build writes fresh collections (HNSW keeps deleted points)."""
    previous: str | None = None
    """The build this one replaced (its files stay until the next build)."""
    collection: str | None = None
    """Index format 5 and older: the one collection of the build (deleted on upgrade)."""
    refusal: RefusalThreshold | None = None
    """The refusal threshold derived from this corpus once the index is built."""

    @field_validator("refusal", mode="before")
    @classmethod
    def _stale_refusal(cls, value: object) -> object:
        """A threshold stored in another version's form is derived again, not an error."""
        try:
            return None if value is None else RefusalThreshold.model_validate(value)
        except ValidationError:
            return None
