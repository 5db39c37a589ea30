"""Typed records that move between the pipeline's stages.

corpus → :class:`Section`, :class:`Paper`; chunking → :class:`Chunk`;
retrieval → :class:`Hit`; answering → :class:`Answer` with :class:`Citation` s.
They are pydantic models so that the CLI's ``--json`` output, the eval runner and the
UI all serialise them the same way.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ARXIV_ABS_URL = "https://arxiv.org/abs/{}"

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


class Repair(BaseModel):
    """A claim whose citation the check moved: re-pointed to the source that supports it, or
    added where the claim had none."""

    claim: str
    before: int | None = None
    """The marker the claim carried (None: it had none)."""
    after: int
    """The marker it carries now."""


class Answer(BaseModel):
    """What :meth:`assistant.Assistant.ask` returns."""

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    hits: list[Hit] = Field(default_factory=list)
    backend: str = "none"
    refused: bool = False
    grounded: float = 0.0
    """Share of answer sentences that carry a valid citation."""
    ungrounded: list[str] = Field(default_factory=list)
    """Sentences flagged for having no valid citation."""
    unsupported: list[str] = Field(default_factory=list)
    """Claims no retrieved source supports (shown flagged, never as supported)."""
    repaired: list[Repair] = Field(default_factory=list)
    """Citations the check moved or added."""
    error: str | None = None
    """One-line error when the configured LLM failed and the extractive answer was used."""
    fallback: bool = False
    """True when ``text`` is the extractive answer standing in for a failed LLM."""
    notice: str | None = None
    """The fixed note ``text`` carries about how it was made (no LLM configured; the LLM
    failed): the chat shows it once, not under every answer, and exports leave it out."""
    support: float | None = None
    """Value of the refusal signal for this question (refused when below the threshold)."""
    refusal_reason: str | None = None
    """Why it was refused: ``no content`` (the question asks about nothing: emoji,
    punctuation, one letter), ``no hits``, ``unknown name`` (names something no indexed text
    mentions), ``off topic`` (shares no word with the corpus), ``weak support`` (the
    signal below the threshold) or ``answer type`` (asked for a figure or a name that no
    quotable sentence gives)."""
    standalone_question: str | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    """Milliseconds per stage (retrieve, generate, check, total)."""

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
            "support": None if self.support is None else round(self.support, 5),
            "refusal_reason": self.refusal_reason,
            "ungrounded": self.ungrounded,
            "unsupported": self.unsupported,
            "repaired": [r.model_dump() for r in self.repaired],
            "standalone_question": self.standalone_question,
            "citations": [c.to_json() for c in self.citations],
            "hits": [h.to_json() for h in self.hits],
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
        }


class Manifest(BaseModel):
    """What an index was built from; stored as JSON beside it and as collection metadata."""

    version: int = 1
    build_id: str
    collection: str
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
    """Chroma HNSW parameters the collection was built with (``hnsw:M``, ``…_ef``)."""
