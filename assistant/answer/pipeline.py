"""question (+ history) → condense → retrieve → refuse? → generate or extract → check.

The order is the product's contract: a follow-up is made standalone before retrieval
(LLM backends only); a weak match is refused before any LLM call; every answer, from
any backend, goes through the same citation check; an LLM failure yields its one-line
error plus the extractive answer, marked as such, never a silent switch of backend.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from assistant.answer.citations import check_citations
from assistant.answer.claims import check_claims
from assistant.answer.context import context_hits
from assistant.answer.extractive import (
    ExtractiveLimits,
    extractive_body,
    quotes,
    select,
)
from assistant.answer.lists import whole_list
from assistant.answer.llm import ChatBackend, create_backend
from assistant.answer.refusal import (
    Evidence,
    ProbeVectors,
    Refusal,
    RefusalPolicy,
    derivation_key,
    derive,
    has_content,
)
from assistant.answer.scoring import ScoringWeights, UnitScorer
from assistant.answer.units import Unit
from assistant.errors import LLMError
from assistant.indexing.embeddings.npz_cache import TextVectors
from assistant.models import (
    Answer,
    ChatTurn,
    Chunk,
    HistoryLike,
    Hit,
    RefusalThreshold,
    normalize_history,
)
from assistant.prompts import (
    ANSWER_KINDS,
    answer_messages,
    condense_messages,
    phrase,
    says_not_covered,
)
from assistant.search.retrieval import source_key
from assistant.text import detect_language, validate_question

if TYPE_CHECKING:
    from assistant.indexing.embeddings import Embedder
    from assistant.indexing.store import LoadedIndex
    from assistant.settings import RetrievalMode, Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

_EVIDENCE_SETTINGS = set(
    """retrieval_mode fusion bm25_weight candidate_k rrf_k rerank_model answer_k
    cross_lingual_terms sentence_lexical_weight sentence_rank_weight sentence_chunk_weight
    sentence_stats_sample""".split()
)
"""Settings that shape a question's evidence, and so the derived refusal threshold."""


def refusal_text(refused: Refusal, language: str) -> str:
    """What the user reads instead of an answer: the reason, in the question's language."""
    if refused.reason == "no content":
        return phrase("refusal_no_content", language)
    if refused.reason == "answer type":
        kind = ANSWER_KINDS[refused.asked or "figure"]
        return phrase("refusal_answer_type", language, what=kind.get(language, kind["en"]))
    return phrase("refusal", language)


class Searcher(Protocol):
    """What the answer stage needs from the stages below it: settings, the loaded index, the
    embedder and retrieval. :class:`~assistant.interfaces.api.Assistant` is one."""

    settings: Settings

    @property
    def embedder(self) -> Embedder: ...

    @property
    def index(self) -> LoadedIndex: ...

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        mode: RetrievalMode | None = None,
        timings: dict[str, float] | None = None,
    ) -> list[Hit]: ...

    def record_refusal(self, threshold: RefusalThreshold) -> None: ...


def _once(build: Callable[[AnswerPipeline], T]) -> T:
    """A component built on first use, once even when threads ask for it together."""

    def get(self: AnswerPipeline) -> T:
        if build.__name__ not in self._built:
            with self._lock:
                if build.__name__ not in self._built:
                    self._built[build.__name__] = build(self)
        return self._built[build.__name__]  # type: ignore[return-value]

    return property(get, doc=build.__doc__)  # type: ignore[return-value]


class AnswerPipeline:
    """Answers questions over one :class:`Searcher` (an ``Assistant``)."""

    def __init__(self, assistant: Searcher) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self._lock = threading.RLock()
        self._built: dict[str, object] = {}

    # -- components ----------------------------------------------------------------------------

    @_once
    def scorer(self) -> UnitScorer:
        index, s = self.assistant.index, self.settings
        weights = ScoringWeights(
            s.sentence_lexical_weight,
            s.sentence_rank_weight,
            s.sentence_chunk_weight,
            stats_sample=s.sentence_stats_sample,
        )
        cache = TextVectors.file_for(Path(s.index_dir) / "answer-cache", index.manifest.embedder)
        embedder = self.assistant.embedder
        return UnitScorer(index.chunks, embedder, weights, cache_path=cache, lexicon=index.lexicon)

    @_once
    def policy(self) -> RefusalPolicy:
        s = self.settings
        policy = RefusalPolicy(
            ProbeVectors(self.assistant.embedder.cached_query),
            None,
            check_answer_type=s.refusal_answer_type,
            everyday_ratio=s.refusal_everyday_ratio,
        )
        fixed = s.refusal_threshold
        policy.thresholds = (
            {q: {"zh": fixed, "en": fixed} for q in ("zh", "en")}
            if fixed is not None
            else self.refusal_threshold(policy).thresholds
        )
        return policy

    def refusal_threshold(self, rules: RefusalPolicy | None = None) -> RefusalThreshold:
        """The threshold derived from this corpus: the manifest's when it was derived under
        the current settings, else derived now (and recorded in the manifest)."""
        rules = rules or self.policy
        used = self.settings.model_dump(mode="json", include=_EVIDENCE_SETTINGS)
        key = derivation_key({**used, "embedder": self.assistant.embedder.id})
        stored = self.assistant.index.manifest.refusal
        if stored is not None and stored.key == key:
            return stored
        derived = derive(
            self.evidence,
            lambda ev: [unit for unit, _ in self.choose(ev)],
            rules,
            self.assistant.index.chunks,
            key,
        )
        log.info("refusal thresholds %s derived in %.1fs", derived.thresholds, derived.seconds)
        self.assistant.record_refusal(derived)
        return derived

    @_once
    def backend(self) -> ChatBackend | None:
        return create_backend(self.settings)

    def use_backend(self, backend: ChatBackend | None) -> None:
        """Answer with ``backend`` instead of the configured one (None: extractive), as a
        replay of recorded replies does."""
        with self._lock:
            self._built["backend"] = backend

    @_once
    def by_source(self) -> dict[str, list[Chunk]]:
        """The index's chunks per section or paper (:func:`source_key`)."""
        sources: dict[str, list[Chunk]] = {}
        for chunk in self.assistant.index.chunks:
            sources.setdefault(source_key(chunk), []).append(chunk)
        return sources

    # -- stages --------------------------------------------------------------------------------

    def evidence(
        self,
        question: str,
        timings: dict[str, float] | None = None,
        k: int | None = None,
        mode: RetrievalMode | None = None,
    ) -> Evidence:
        """Retrieve and score sentences for ``question`` (also used to derive the refusal
        threshold); a question that asks nothing (:func:`has_content`) retrieves nothing."""
        timings = timings if timings is not None else {}
        t0 = time.perf_counter()
        hits: list[Hit] = []
        if has_content(question):
            k = k or self.settings.answer_k
            hits = self.assistant.retrieve(question, k=k, mode=mode, timings=timings)
        timings["retrieve_ms"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        scored = self.scorer.score(question, self.with_siblings(hits)) if hits else []
        timings["score_ms"] = (time.perf_counter() - t0) * 1000
        return Evidence(question, hits, scored, self.scorer)

    def with_siblings(self, hits: Sequence[Hit]) -> list[Hit]:
        """``hits`` followed by the other chunks of their sections (at most as many again):
        retrieval gives each section one place before any gets a second, so a long section
        is often represented by a chunk next to the one holding the answer."""
        have = {hit.chunk.id for hit in hits}
        extra: list[Hit] = []
        for hit in hits:
            for chunk in self.by_source.get(source_key(hit.chunk), ()):
                if chunk.id in have or len(extra) >= len(hits):
                    continue
                have.add(chunk.id)
                found = {"sibling": hit.rank}
                if "lookup" in hit.retrievers:
                    found["lookup"] = hit.retrievers["lookup"]
                rank = len(hits) + len(extra) + 1
                extra.append(Hit(chunk=chunk, score=hit.score, rank=rank, retrievers=found))
        return [*hits, *extra]

    def condense(self, backend: ChatBackend, turns: Sequence[ChatTurn], question: str) -> str:
        reply = backend.chat(condense_messages(turns, question, detect_language(question)))
        standalone = " ".join(reply.strip().strip('"“”').split())
        return standalone or question

    def context(self, ev: Evidence, chosen: Sequence[tuple[Unit, Hit]]) -> list[Hit]:
        """The sources the LLM is shown: the chunks of the best-ranked sentences within the
        backend's token budget (:mod:`assistant.answer.context`)."""
        s = self.settings
        budget = s.ollama_context_budget if s.llm_backend == "ollama" else s.openai_context_budget
        return context_hits(ev.hits, ev.scored, chosen, budget)

    def choose(self, ev: Evidence) -> list[tuple[Unit, Hit]]:
        """What the extractive answer quotes (and the answer-type check reads): the whole
        list a question about a list names, else the best sentences."""
        scorer, s = self.scorer, self.settings
        listed = whole_list(
            ev.question,
            ev.scored,
            lambda terms, text: scorer.header_match(terms, text, scorer.translations(terms)),
            s.extractive_max_list_items,
        )
        limits = ExtractiveLimits(
            s.extractive_max_sentences, s.extractive_max_sources, s.sentence_margin
        )
        return listed or select(ev.scored, limits)

    # -- public --------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        history: HistoryLike | None = None,
        k: int | None = None,
        mode: RetrievalMode | None = None,
    ) -> Answer:
        *_, answer = self.stream(question, history, k=k, mode=mode)
        return answer  # type: ignore[return-value]  # the stream ends with the Answer

    def stream(
        self,
        question: str,
        history: HistoryLike | None = None,
        k: int | None = None,
        mode: RetrievalMode | None = None,
    ) -> Iterator[str | Answer]:
        """Text deltas, then the final :class:`Answer` (whose text is authoritative)."""
        started = time.perf_counter()
        text = validate_question(question, self.settings.max_question_chars)
        turns = normalize_history(history)
        language = detect_language(text)
        backend = self.backend
        timings: dict[str, float] = {}
        error: str | None = None
        query = text
        standalone = None

        if backend is not None and turns:
            t0 = time.perf_counter()
            try:
                standalone = query = self.condense(backend, turns, text)
            except LLMError as exc:
                error = str(exc)
                log.warning("%s", error)
            timings["condense_ms"] = (time.perf_counter() - t0) * 1000

        ev = self.evidence(query, timings, k=k, mode=mode)
        support = self.policy.value(ev) if ev.scored else None
        chosen = self.choose(ev)
        refused = self.policy.refusal(ev, [unit for unit, _ in chosen], support)
        body: str | None = None
        shown = list(ev.hits)
        if refused is None and backend is not None and error is None:
            t0 = time.perf_counter()
            parts: list[str] = []
            try:
                shown = self.context(ev, chosen)
                for delta in backend.stream(answer_messages(query, language, shown)):
                    parts.append(delta)
                    yield delta
                body = "".join(parts)
            except LLMError as exc:
                error = str(exc)
                log.warning("%s", error)
                if parts:
                    yield "\n\n"
            timings["generate_ms"] = (time.perf_counter() - t0) * 1000

        if refused is not None:
            log.info("refused: %s", refused.reason)
            answer = Answer(
                question=text,
                text=refusal_text(refused, language),
                hits=list(ev.hits),
                backend=backend.name if backend else "none",
                refused=True,
                refusal_reason=refused.reason,
            )
            yield answer.text
        elif body is None:
            failed = phrase("fallback", language, error=error) if error else None
            notice = failed or phrase("no_llm", language)
            answer = self._quoted(ev, chosen, language, notice, last=failed is None)
            yield answer.text
        else:
            t0 = time.perf_counter()
            answer = self._checked(ev, chosen, shown, language, query, body, backend.name)  # type: ignore[union-attr]
            timings["check_ms"] = (time.perf_counter() - t0) * 1000
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        yield answer.model_copy(
            update={
                "question": text,
                "support": support,
                "standalone_question": standalone,
                "timings": timings,
                "error": error,
            }
        )

    def _quoted(
        self,
        ev: Evidence,
        chosen: Sequence[tuple[Unit, Hit]],
        language: str,
        notice: str,
        last: bool = False,
        **fields: object,
    ) -> Answer:
        """The extractive answer of the ``chosen`` units, sources numbered after the retrieved
        hits, with the ``notice`` saying why it stands in for the LLM's (``last``: after it,
        for want of an LLM); ``fields`` set the rest of the :class:`Answer`."""
        hits = list(ev.hits)
        for _unit, hit in chosen:
            if all(h.chunk.id != hit.chunk.id for h in hits):
                hits.append(hit)
        body = extractive_body(chosen, hits, language)
        checked = check_citations(body, hits, quotes(ev.scored, chosen))
        text = f"{checked.text}\n\n{notice}" if last else f"{notice}\n\n{checked.text}"
        return checked.answer(ev.question, text=text, fallback=not last, notice=notice, **fields)

    def _checked(
        self,
        ev: Evidence,
        chosen: Sequence[tuple[Unit, Hit]],
        shown: Sequence[Hit],
        language: str,
        query: str,
        body: str,
        backend: str,
    ) -> Answer:
        """The model's reply after the claim check (:mod:`assistant.answer.claims`), markers
        repaired, unsupported claims flagged; the quoted answer stands in for a reply with no
        supported claim, or one saying the survey does not cover what the refusal let through."""
        extra = self.with_siblings(ev.hits)
        checked = check_claims(body, query, shown, self.scorer, extra)
        if checked.supported or not chosen:
            return checked.answer(ev.question, backend=backend)
        found_nothing = not checked.claims and says_not_covered(body)
        notice = phrase("model_found_nothing" if found_nothing else "unchecked", language)
        log.info("the model's reply was replaced by the quoted answer: %s", notice)
        unsupported = checked.unsupported
        return self._quoted(
            ev, chosen, language, notice, backend=backend, unsupported=unsupported, replaced=body
        )
