"""A stand-in for :class:`assistant.interfaces.api.Assistant` that speaks the UI's protocol.

It returns real :class:`Answer`/:class:`Citation`/:class:`Hit` models with scripted
content the real pipeline would not produce on demand (hostile text, a stalled LLM,
unexpected exceptions), and records what the UI passed (history, k, mode).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

from assistant.answer.citations import make_citation
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
    """The pipeline's citation of ``hit``, optionally flagged by the link audit."""
    return make_citation(marker, hit, quote).model_copy(update={"flagged": flagged})


@dataclass
class FakeAssistant:
    answerer: Callable[..., Answer]
    settings: Settings = field(default_factory=Settings)
    delay: float = 0.0
    """Seconds to sleep between deltas (a slow LLM)."""
    sections_list: list = field(default_factory=list)
    manifest: dict | None = None
    paper_records: dict = field(default_factory=dict)
    """arXiv ID → :class:`Paper`, what :meth:`papers` gives the BibTeX export."""
    calls: list[dict] = field(default_factory=list)
    builds: list[bool] = field(default_factory=list)
    prepared: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stream(self, question, history=None, k=None, mode=None) -> Iterator[str | Answer]:
        with self._lock:
            self.calls.append({"question": question, "history": history, "k": k, "mode": mode})
        answer = self.answerer(question, history, k, mode)
        for word in answer.text.split(" "):
            if self.delay:
                time.sleep(self.delay)
            yield word + " "
        yield answer

    def info(self) -> dict[str, object]:
        return {"llm_backend": self.settings.llm_backend, "manifest": self.manifest}

    def backend_status(self):
        return probe_backend(self.settings)

    def sections(self) -> list:
        return self.sections_list

    def papers(self) -> dict:
        return self.paper_records

    def build_index(self, rebuild: bool = False, progress: bool = True):
        self.builds.append(rebuild)
        return SimpleNamespace(unchanged=False, embedded=3, reused=5, removed=0)

    def prepare_answers(self, progress: bool = False) -> int:
        self.prepared += 1
        return 0


CHALLENGES = "\n".join(f"{n}. **挑战{n}**：第 {n} 个问题的说明" for n in range(1, 11))
"""A numbered list like §17.4's, ten items long."""


def networld_answer(**overrides) -> Answer:
    """An answer citing a section (two quoted sentences) and a paper, as the pipeline makes
    them; ``overrides`` replace its fields."""
    sec = section_hit(
        "s1",
        "17.4.2",
        "多智能体世界模型：新兴趋势",
        "现有世界模型几乎全部采用单智能体视角。NetWorld 在无线网络中引入多智能体 RL + 世界模型。",
    )
    paper = paper_hit(
        "2602.00558",
        "NetWorld: Communication-Based Diffusion World Model",
        "We propose NetWorld, a communication-based diffusion world model.",
        authors=["A One", "B Two", "C Three", "D Four"],
        rank=2,
    )
    section_cite = cite(1, sec, "NetWorld 在无线网络中引入多智能体 RL + 世界模型。")
    section_cite = section_cite.model_copy(
        update={"quotes": (section_cite.quote, "现有世界模型几乎全部采用单智能体视角。")}
    )
    base = {
        "question": "NetWorld?",
        "text": "现有模型是单智能体的 [1]。NetWorld 引入多智能体 RL [1]，是扩散世界模型 [2]。",
        "citations": [
            section_cite,
            cite(
                2, paper, "a communication-based diffusion world model", flagged="anchor mismatch"
            ),
        ],
        "hits": [sec, paper],
        "grounded": 1.0,
        "timings": {"retrieve": 30.0, "total": 42.0},
    }
    base.update(overrides)
    return Answer(**base)
