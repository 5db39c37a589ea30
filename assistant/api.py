"""The Python API: :class:`Assistant`. The CLI and the chat UI are thin shells over it.

Example::

    from assistant import Assistant

    a = Assistant.from_settings()            # or Assistant(corpus_dir="docs", index_dir="idx")
    a.build_index()                          # idempotent and incremental
    for hit in a.retrieve("哪些工作把3D几何理解引入世界模型？", k=5):
        print(hit.rank, hit.chunk.label, round(hit.score, 3))
    vectors = a.embed(["any text"])          # the configured embedder, shape (1, dim)

Heavy parts (the embedder, the loaded index) are created on first use and shared;
all public methods are safe to call from many threads.
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from .chunking import chunk_corpus
from .corpus import Corpus, corpus_fingerprint, load_corpus
from .embeddings import Embedder, create_embedder
from .errors import AssistantError, InvalidInput
from .models import Hit, Manifest
from .retrieval import MODES, Retriever
from .settings import RetrievalMode, Settings
from .store import BuildReport, IndexStore, LoadedIndex

log = logging.getLogger(__name__)


class SectionSummary(BaseModel):
    """One row of ``python -m assistant sections``."""

    section: str
    title: str
    path: list[str]
    source: str
    chunks: int
    arxiv_ids: list[str]

    def to_json(self) -> dict:
        return self.model_dump()


def validate_question(question: object, max_chars: int) -> str:
    """The question, stripped; :class:`InvalidInput` if it is empty, too long or binary."""
    if not isinstance(question, str):
        raise InvalidInput(f"the question must be text, got {type(question).__name__}")
    text = question.strip()
    if not text:
        raise InvalidInput("the question is empty")
    if len(text) > max_chars:
        raise InvalidInput(f"the question is {len(text)} characters long; the limit is {max_chars}")
    bad = [ch for ch in text if unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t\r"]
    if bad:
        raise InvalidInput(f"the question contains control characters (e.g. {bad[0]!r})")
    return text


class Assistant:
    """Question answering over one survey corpus and its index."""

    def __init__(self, settings: Settings | None = None, **overrides: object) -> None:
        if settings is None:
            settings = Settings(**overrides)  # type: ignore[arg-type]
        elif overrides:
            settings = settings.model_copy(update=overrides)
            settings = Settings.model_validate(settings.model_dump())
        self.settings = settings
        self.store = IndexStore(settings)
        self._lock = threading.RLock()
        self._embedder: Embedder | None = None
        self._index: LoadedIndex | None = None
        self._retriever: Retriever | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: object) -> Assistant:
        """An assistant configured from ``settings`` (default: env vars and assistant.toml)."""
        return cls(settings, **overrides)

    # -- components ----------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    self._embedder = create_embedder(self.settings)
        return self._embedder

    def load_corpus(self) -> Corpus:
        """Parse the configured corpus folder and abstracts file."""
        return load_corpus(
            self.settings.corpus_dir, self.settings.abstracts_file, self.settings.corpus_exclude
        )

    @property
    def index(self) -> LoadedIndex:
        """The loaded, checked index (loads on first use)."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = self.store.load(self.embedder.id, self.embedder.dim)
        return self._index

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            with self._lock:
                if self._retriever is None:
                    self._retriever = Retriever(self.index, self.embedder, self.settings)
        return self._retriever

    # -- public API ------------------------------------------------------------------------------

    def build_index(self, rebuild: bool = False, progress: bool = True) -> BuildReport:
        """Index the corpus: new or changed chunks are embedded, removed ones dropped.

        >>> report = Assistant.from_settings().build_index()   # doctest: +SKIP
        >>> report.embedded, report.reused                      # doctest: +SKIP
        (0, 18)
        """
        if not rebuild:
            # An unchanged corpus is recognised from raw bytes, before parsing any Markdown.
            start = time.perf_counter()
            fingerprint = corpus_fingerprint(
                self.settings.corpus_dir, self.settings.abstracts_file, self.settings.corpus_exclude
            )
            current = self.store.up_to_date(fingerprint, self.embedder)
            if current is not None:
                return BuildReport(
                    manifest=current,
                    unchanged=True,
                    seconds={"check": time.perf_counter() - start},
                )
        start = time.perf_counter()
        corpus = self.load_corpus()
        parse_seconds = time.perf_counter() - start
        for problem in corpus.problems:
            log.warning(problem)
        with self._lock:
            report = self.store.build(corpus, self.embedder, rebuild=rebuild, progress=progress)
            report.seconds = {"parse": parse_seconds, **report.seconds}
            if not report.unchanged:
                self._index = None
                self._retriever = None
        return report

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        mode: RetrievalMode | None = None,
        timings: dict[str, float] | None = None,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``question`` (``mode``: dense, bm25 or hybrid).

        >>> hits = Assistant.from_settings().retrieve("§17.4.2 讲了什么？", k=3)  # doctest: +SKIP
        >>> hits[0].chunk.section                                                # doctest: +SKIP
        '17.4.2'
        """
        text = validate_question(question, self.settings.max_question_chars)
        if mode is not None and mode not in MODES:
            raise InvalidInput(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        return self.retriever.retrieve(text, k=k, mode=mode, timings=timings)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the configured embedder; shape ``(len(texts), dim)``."""
        if isinstance(texts, str):
            raise InvalidInput("embed() takes a list of texts, not one string")
        return self.embedder.embed_documents(list(texts))

    def manifest(self) -> Manifest | None:
        """The active index manifest, or None when nothing is built."""
        return self.store.read_manifest()

    def sections(self) -> list[SectionSummary]:
        """Every section of the corpus with its chunk count and linked arXiv IDs."""
        corpus = self.load_corpus()
        try:
            chunks = self.index.chunks
        except AssistantError:
            chunks = chunk_corpus(
                corpus,
                self.embedder.count_tokens,
                min(self.settings.chunk_max_tokens, self.embedder.max_tokens),
                self.settings.chunk_overlap_tokens,
            )
        counts: dict[str, int] = {}
        for chunk in chunks:
            if chunk.section_id:
                counts[chunk.section_id] = counts.get(chunk.section_id, 0) + 1
        return [
            SectionSummary(
                section=s.ref,
                title=s.title,
                path=list(s.path),
                source=s.source,
                chunks=counts.get(s.id, 0),
                arxiv_ids=list(s.arxiv_ids),
            )
            for s in corpus.sections
        ]

    def info(self) -> dict[str, object]:
        """Manifest, counts and embedder, for ``python -m assistant info`` and the UI."""
        manifest = self.manifest()
        facts: dict[str, object] = {
            "corpus_dir": str(self.settings.corpus_dir),
            "abstracts_file": str(self.settings.abstracts_file)
            if self.settings.abstracts_file
            else None,
            "index_dir": str(Path(self.settings.index_dir)),
            "chroma": self.settings.chroma_url or "persistent (local)",
            "embedder": self.settings.embedder,
            "retrieval_mode": self.settings.retrieval_mode,
            "llm_backend": self.settings.llm_backend,
            "manifest": manifest.model_dump() if manifest else None,
        }
        return facts
