"""A stand-in for :class:`assistant.api.Assistant` that speaks the UI's protocol.

It returns real :class:`Answer`/:class:`Citation`/:class:`Hit` models, either scripted
(hostile text, errors, flagged links) or made from a real assistant's retrieval, and
records what the UI passed (history, k, mode) so tests can check it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

from assistant.answer.probe import probe_backend
from assistant.models import Answer, Chunk, Citation, Hit
from assistant.settings import Settings


def section_hit(
    chunk_id: str, section: str, title: str, text: str, rank: int = 1, arxiv_ids=()
) -> Hit:
    chunk = Chunk(
        id=chunk_id,
        kind="section",
        text=text,
        source="survey.md",
        section_id=f"survey.md#{section}",
        section=section,
        section_title=title,
        arxiv_ids=tuple(arxiv_ids),
    )
    return Hit(chunk=chunk, score=1.0 / rank, rank=rank, retrievers={"dense": rank})


def paper_hit(
    arxiv_id: str, title: str, abstract: str, authors=(), rank: int = 1, mislinked=()
) -> Hit:
    chunk = Chunk(
        id=f"arxiv:{arxiv_id}",
        kind="abstract",
        text=f"{title}\n\n{abstract}",
        source="abstracts.jsonl",
        arxiv_id=arxiv_id,
        arxiv_ids=(arxiv_id,),
        title=title,
        authors=tuple(authors),
        mislinked_anchors=tuple(mislinked),
    )
    return Hit(chunk=chunk, score=1.0 / rank, rank=rank, retrievers={"bm25": rank})


def cite(marker: int, hit: Hit, quote: str, flagged: str | None = None) -> Citation:
    c = hit.chunk
    if c.kind == "abstract":
        return Citation(
            marker=marker,
            kind="arxiv",
            chunk_id=c.id,
            arxiv_id=c.arxiv_id,
            title=c.title,
            authors=c.authors,
            url=c.url,
            quote=quote,
            flagged=flagged,
        )
    return Citation(
        marker=marker,
        kind="section",
        chunk_id=c.id,
        section=c.section,
        section_title=c.section_title,
        quote=quote,
        flagged=flagged,
    )


def retrieval_answerer(real) -> Callable[..., Answer]:
    """Answers quoting the first sentence of each of the top three hits of ``real``."""

    def answer(question: str, history, k, mode) -> Answer:
        hits = real.retrieve(question, k=k, mode=mode)
        citations, lines = [], []
        for n, hit in enumerate(hits[:3], start=1):
            text = hit.chunk.text.strip()
            quote = text.split("。")[0].split("\n")[0][:120] or text[:120]
            citations.append(cite(n, hit, quote))
            lines.append(f"{quote} [{n}]")
        return Answer(
            question=question,
            text="\n".join(lines),
            citations=citations,
            hits=hits,
            grounded=1.0,
            timings={"retrieve": 12.0, "total": 15.0},
        )

    return answer


@dataclass
class FakeAssistant:
    answerer: Callable[..., Answer]
    settings: Settings = field(default_factory=Settings)
    delay: float = 0.0
    """Seconds to sleep between deltas (a slow LLM)."""
    sections_list: list = field(default_factory=list)
    manifest: dict | None = None
    calls: list[dict] = field(default_factory=list)
    builds: list[bool] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def over(cls, real, **kw) -> FakeAssistant:
        """Answers made from ``real``'s retrieval, with its settings, sections and index."""
        return cls(
            retrieval_answerer(real),
            settings=real.settings,
            sections_list=real.sections(),
            manifest=real.info()["manifest"],
            **kw,
        )

    def stream(self, question, history=None, k=None, mode=None) -> Iterator[str | Answer]:
        with self._lock:
            self.calls.append({"question": question, "history": history, "k": k, "mode": mode})
        answer = self.answerer(question, history, k, mode)
        for word in answer.text.split(" "):
            if self.delay:
                time.sleep(self.delay)
            yield word + " "
        yield answer

    def ask(self, question, history=None, k=None, mode=None) -> Answer:
        *_, answer = self.stream(question, history, k=k, mode=mode)
        return answer

    def info(self) -> dict[str, object]:
        return {"llm_backend": self.settings.llm_backend, "manifest": self.manifest}

    def backend_status(self):
        return probe_backend(self.settings)

    def sections(self) -> list:
        return self.sections_list

    def build_index(self, rebuild: bool = False, progress: bool = True):
        self.builds.append(rebuild)
        return SimpleNamespace(unchanged=False, embedded=3, reused=5, removed=0)
