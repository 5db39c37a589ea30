"""The Python API: :class:`Assistant`. The CLI and the chat UI are thin shells over it.

Example::

    from assistant import Assistant

    a = Assistant.from_settings()            # or Assistant(corpus_dir="docs", index_dir="idx")
    a.build_index()                          # idempotent and incremental
    for hit in a.retrieve("哪些工作把3D几何理解引入世界模型？", k=5):
        print(hit.rank, hit.chunk.label, round(hit.score, 3))
    vectors = a.embed(["any text"])          # the configured embedder, shape (1, dim)
    answer = a.ask("FLARE 在真实 GR-1 上的成功率是多少？")
    print(answer.text)                       # quotes or an LLM answer, with [1] markers
    for c in answer.citations:
        print(c.marker, c.label, c.url or "")

Heavy parts (the embedder, the loaded index) are created on first use and shared;
all public methods are safe to call from many threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from assistant import logs
from assistant.answer.probe import BackendStatus, probe_backend
from assistant.errors import ArxivError, AssistantError, InvalidInput
from assistant.indexing.embeddings import Embedder, create_embedder
from assistant.indexing.store import BuildReport, IndexStore, LoadedIndex
from assistant.ingest.arxiv import FetchReport, fetch_abstracts, linked_ids
from assistant.ingest.audit import AuditReport, LinkCheck, LinkChecker, audit_corpus
from assistant.ingest.chunking import chunk_corpus
from assistant.ingest.corpus import (
    Corpus,
    load_corpus,
    load_papers,
    normalize_arxiv_id,
)
from assistant.ingest.survey import SurveyCopy, add_survey_files
from assistant.invocation import command
from assistant.models import Answer, Hit, Manifest, Paper, RefusalThreshold
from assistant.search.retrieval import MODES, Retriever
from assistant.settings import RetrievalMode, Settings
from assistant.text import validate_question

if TYPE_CHECKING:
    from assistant.answer.pipeline import AnswerPipeline
    from assistant.models import HistoryLike

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


class SurveyReport(BaseModel):
    """What :meth:`Assistant.add_survey` did, and what the survey holds."""

    copied: SurveyCopy
    chapters: int
    """Files of the survey that hold at least one section."""
    sections: int
    numbered_sections: int
    links: int
    """arXiv links in the survey."""
    papers: list[str]
    """Distinct arXiv IDs it links, in reading order."""
    fetched: FetchReport | None = None
    """None with ``abstracts=False`` or when fetching failed."""
    fetch_error: str | None = None
    missing: list[str] = Field(default_factory=list)
    """Linked IDs without a usable abstract after the fetch."""
    mismatches: list[LinkCheck] = Field(default_factory=list)
    """Survey links whose anchor text does not describe the linked paper."""
    chunks: int = 0
    embedded: int = 0
    seconds: dict[str, float] = Field(default_factory=dict)

    def to_json(self) -> dict:
        return self.model_dump()


def _answer_fields(answer: Answer) -> dict[str, object]:
    """What a request log records about an answer: no text, only its shape and timings."""
    return {
        "backend": answer.backend,
        "refused": answer.refused,
        "citations": len(answer.citations),
        "grounded": round(answer.grounded, 3),
        "llm_error": bool(answer.error),
        **{key: round(value, 1) for key, value in answer.timings.items()},
    }


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
        self._answers: AnswerPipeline | None = None
        self._papers: tuple[tuple[str, int], dict[str, Paper]] | None = None

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

    @property
    def answers(self) -> AnswerPipeline:
        """The answer pipeline (backend, sentence scorer, refusal policy), built on first use."""
        if self._answers is None:
            with self._lock:
                if self._answers is None:
                    from assistant.answer import AnswerPipeline

                    self._answers = AnswerPipeline(self)
        return self._answers

    # -- public API ------------------------------------------------------------------------------

    def build_index(
        self, rebuild: bool = False, progress: bool = True, warn_links: bool = True
    ) -> BuildReport:
        """Index the corpus: new or changed chunks are embedded, removed ones dropped.
        Mislinked survey links are logged as a warning unless the caller reports them
        itself (``warn_links=False``).

        >>> report = Assistant.from_settings().build_index()   # doctest: +SKIP
        >>> report.embedded, report.reused                      # doctest: +SKIP
        (0, 18)
        """
        with self._lock:
            report = self.store.build(self.embedder, rebuild=rebuild, progress=progress)
            if not report.unchanged:
                self._index = None
                self._retriever = None
                self._answers = None
        if warn_links and report.link_mismatches:
            log.warning(
                "%d survey link(s) point at a paper their anchor does not describe; "
                f"see `{command('audit-links')}`",
                report.link_mismatches,
            )
        return report

    def update(
        self, rebuild: bool = False, progress: bool = False, warn_links: bool = True
    ) -> BuildReport:
        """What ``index`` does: build the index, then embed the sentences answers quote
        (:meth:`prepare_answers`). ``report.seconds`` gains ``sentences`` and ``total``
        (loading the embedder included): the time the user waited."""
        start = time.perf_counter()
        report = self.build_index(rebuild=rebuild, progress=progress, warn_links=warn_links)
        log.info("preparing the sentences answers quote (once per index)")
        prepared = time.perf_counter()
        self.prepare_answers(progress=progress)
        end = time.perf_counter()
        report.seconds = {**report.seconds, "sentences": end - prepared, "total": end - start}
        return report

    def add_survey(
        self,
        source: str,
        abstracts: bool = True,
        name: str | None = None,
        progress: bool = False,
    ) -> SurveyReport:
        """Bring a whole survey in and index it: copy its Markdown into the corpus folder
        (``source``: a GitHub repository URL, a .tar.gz/.zip URL or file, or a folder; see
        :mod:`assistant.ingest.survey`), fetch the abstracts of the papers it links (unless
        ``abstracts`` is false), audit the links and :meth:`update` the index.

        Offline, or with the arXiv API down, the survey is still indexed; the report's
        ``fetch_error`` says why and ``missing`` lists the papers without an abstract.
        """
        copied = add_survey_files(source, self.settings, name=name, progress=progress)
        fetched, error = None, None
        if abstracts:
            try:
                fetched = self.fetch_abstracts(progress=progress)
            except ArxivError as exc:
                error = str(exc)
                log.info("abstracts not fetched: %s", exc)  # the report says so
        if self.settings.abstracts_file is None and self.abstracts_path().is_file():
            self.settings.abstracts_file = self.abstracts_path()  # batches saved before a failure
        build = self.update(progress=progress, warn_links=False)  # the report lists them
        corpus = self.load_corpus()
        name = Path(copied.target).name
        sources = {f"{name}/{rel}" for rel in copied.files} | set(copied.duplicates.values())
        sections = [s for s in corpus.sections if s.source in sources]
        linked = list(dict.fromkeys(i for s in sections for i in s.arxiv_ids))
        audit = audit_corpus(corpus)
        return SurveyReport(
            copied=copied,
            chapters=len({s.source for s in sections}),
            sections=len(sections),
            numbered_sections=sum(1 for s in sections if s.number and s.number[0].isdigit()),
            links=sum(1 for s in sections for link in s.links if link.arxiv_id),
            papers=linked,
            fetched=fetched,
            fetch_error=error,
            missing=[m.arxiv_id for m in audit.missing if m.arxiv_id in set(linked)],
            mismatches=[c for c in audit.mismatches if c.source in sources],
            chunks=build.manifest.chunks,
            embedded=build.embedded,
            seconds=build.seconds,
        )

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
        timings = {} if timings is None else timings
        with logs.request("retrieve", text, k=k, mode=mode or self.settings.retrieval_mode) as done:
            hits = self.retriever.retrieve(text, k=k, mode=mode, timings=timings)
            done.update(hits=len(hits), **{key: round(v, 1) for key, v in timings.items()})
        return hits

    def ask(
        self,
        question: str,
        history: HistoryLike | None = None,
        *,
        k: int | None = None,
        mode: RetrievalMode | None = None,
    ) -> Answer:
        """A cited answer, or a refusal when the survey does not cover the question.

        ``history`` holds earlier turns (``{"role", "content"}`` dicts or (user,
        assistant) pairs); with an LLM backend a follow-up is rewritten into a
        standalone question before retrieval.

        >>> answer = Assistant.from_settings().ask("2024 年大约有多少篇论文？")  # doctest: +SKIP
        >>> answer.citations[0].label                                          # doctest: +SKIP
        '§17.1 研究爆发的量化观察'
        """
        with logs.request("ask", str(question), backend=self.settings.llm_backend) as done:
            answer = self.answers.ask(question, history, k=k, mode=mode)
            done.update(_answer_fields(answer))
        return answer

    def stream(
        self,
        question: str,
        history: HistoryLike | None = None,
        *,
        k: int | None = None,
        mode: RetrievalMode | None = None,
    ) -> Iterator[str | Answer]:
        """Like :meth:`ask`, yielding text deltas as they come and then the final
        :class:`Answer`, whose text replaces the deltas (markers are renumbered, bogus
        ones removed, and a failed LLM's partial text is replaced by the fallback).

        ``k`` and ``mode`` override ``answer_k`` and ``retrieval_mode`` for this question
        (the chat UI's side panel)."""
        with logs.request("stream", str(question), backend=self.settings.llm_backend) as done:
            for item in self.answers.stream(question, history, k=k, mode=mode):
                if isinstance(item, Answer):
                    done.update(_answer_fields(item))
                yield item

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the configured embedder; shape ``(len(texts), dim)``."""
        if isinstance(texts, str):
            raise InvalidInput("embed() takes a list of texts, not one string")
        return self.embedder.embed_documents(list(texts))

    def record_refusal(self, threshold: RefusalThreshold) -> None:
        """Keep the refusal threshold derived from this corpus in the manifest (a read-only
        or busy index keeps it in memory: it is derived again, identically, next time)."""
        index = self.index
        index.manifest = index.manifest.model_copy(update={"refusal": threshold})
        try:
            self.store.record_refusal(index.manifest)
        except (AssistantError, OSError) as exc:
            log.warning("could not record the refusal threshold in the manifest: %s", exc)

    def prepare_answers(self, progress: bool = False) -> int:
        """Embed, now rather than on the first questions, the sentence statistics sample
        answers are scored against and every quotable sentence of the corpus (up to
        ``prepare_sentences_max``; cached beside the index, a no-op once done), so that
        no question waits for sentences to be embedded; and derive the refusal threshold
        from the corpus (stored in the manifest; a no-op once done). Returns how many sentences were
        embedded now besides the statistics sample (0 when the sample already held all)."""
        scorer = self.answers.scorer
        _ = scorer.stats
        embedded = scorer.prepare(self.settings.prepare_sentences_max, progress=progress)
        self.answers.refusal_threshold()
        return embedded

    def audit(self) -> AuditReport:
        """Check every arXiv link of the survey against the linked paper's real title.

        When the index was built from the corpus as it is now, the checks its build stored
        are assembled (seconds at 100k chunks, against a minute and more to parse and check
        everything again); otherwise the corpus is audited afresh.

        >>> [m.arxiv_id for m in Assistant.from_settings().audit().mismatches]  # doctest: +SKIP
        ['2601.14354']
        """
        stored = self.store.link_checks()
        if stored is None:
            return audit_corpus(self.load_corpus())
        corpus_hash, checks = stored
        papers: list[Paper] = []
        if self.settings.abstracts_file is not None:
            papers, problems = load_papers(Path(self.settings.abstracts_file))
            for problem in problems:
                log.warning(problem)
        return LinkChecker(papers).report(checks, corpus_hash)

    def abstracts_path(self) -> Path:
        """The abstracts file fetch-abstracts merges into (created when absent)."""
        return Path(self.settings.abstracts_file or self.settings.corpus_dir / "abstracts.jsonl")

    def fetch_abstracts(
        self,
        ids: Sequence[str] | None = None,
        refresh: bool = False,
        dry_run: bool = False,
        progress: bool = False,
    ) -> FetchReport:
        """Fetch arXiv metadata for every linked ID (or ``ids``) the abstracts file lacks.

        ``refresh`` re-fetches IDs that already have a record (an ok record is never
        replaced by an unknown one); ``dry_run`` reports what would be fetched without
        touching the network or the file.
        """
        if ids is None:
            wanted = linked_ids(
                load_corpus(self.settings.corpus_dir, None, self.settings.corpus_exclude)
            )
        else:
            wanted = []
            for raw in ids:
                arxiv_id = normalize_arxiv_id(raw)
                if arxiv_id is None:
                    raise InvalidInput(f"{raw!r} is not an arXiv ID or arXiv URL")
                wanted.append(arxiv_id)
            wanted = list(dict.fromkeys(wanted))
        path = self.abstracts_path()
        report = fetch_abstracts(
            wanted, path, self.settings, refresh=refresh, dry_run=dry_run, progress=progress
        )
        if report.written and self.settings.abstracts_file is None:
            self.settings.abstracts_file = path
        return report

    def papers(self) -> dict[str, Paper]:
        """arXiv metadata by ID from the abstracts file, what BibTeX exports are made of
        (read again when the file changes; empty without one)."""
        path = self.settings.abstracts_file
        if path is None or not Path(path).is_file():
            return {}
        stamp = (str(path), Path(path).stat().st_mtime_ns)
        with self._lock:
            if self._papers is None or self._papers[0] != stamp:
                found, _problems = load_papers(Path(path))
                self._papers = (stamp, {p.id: p for p in found if p.status == "ok"})
            return self._papers[1]

    def backend_status(self) -> BackendStatus:
        """Whether the configured LLM server answers (it lists models; no tokens spent)."""
        return probe_backend(self.settings)

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
            "refusal": self._refusal_facts(manifest),
        }
        return facts

    def _refusal_facts(self, manifest: Manifest | None) -> dict[str, object]:
        """The refusal threshold in force and where it comes from."""
        fixed = self.settings.refusal_threshold
        if fixed is not None:
            fixed_pairs = {q: {"zh": fixed, "en": fixed} for q in ("zh", "en")}
            return {"thresholds": fixed_pairs, "source": "setting refusal_threshold"}
        if manifest is None or manifest.refusal is None:
            return {"thresholds": None, "source": f"not derived yet (`{command('index')}`)"}
        return {
            "thresholds": manifest.refusal.thresholds,
            "source": "derived from the corpus at index time",
            "derivation": manifest.refusal.model_dump(),
        }
