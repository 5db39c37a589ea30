"""Small hand-made chunks and hits for answer-stage unit tests."""

from __future__ import annotations

from assistant.answer.scoring import ScoringWeights, UnitScorer
from assistant.indexing.embeddings.hashing import HashEmbedder
from assistant.models import Chunk, Hit

TABLE = """| 时间段 | 估计论文数量 |
|--------|------------|
| 2023 | ~40 篇 |
| 2024 | ~80 篇 |

从 2024 年起，论文呈指数级增长。2025 年仅前两个月即产出超过 50 篇相关论文。"""

LINKS = """- [NetWorld](https://arxiv.org/abs/2602.00558) 在无线网络中引入多智能体 RL + 世界模型
- 自动驾驶领域的 V2X 需要多车辆共享世界模型"""


def section(cid: str, number: str, title: str, text: str, links: tuple[str, ...] = ()) -> Chunk:
    return Chunk(
        id=cid,
        kind="section",
        text=text,
        source="trends.md",
        section_id=f"trends.md#{number}",
        section=number,
        section_title=title,
        arxiv_ids=links,
    )


def abstract(cid: str, arxiv_id: str, title: str, text: str) -> Chunk:
    return Chunk(
        id=cid,
        kind="abstract",
        text=f"{title}\n\n{text}",
        source=f"arxiv:{arxiv_id}",
        arxiv_id=arxiv_id,
        arxiv_ids=(arxiv_id,),
        title=title,
    )


def hits_of(*chunks: Chunk) -> list[Hit]:
    return [Hit(chunk=c, score=1.0 / n, rank=n) for n, c in enumerate(chunks, 1)]


def sample_hits() -> list[Hit]:
    return hits_of(
        section("c1", "17.1", "研究爆发的量化观察", TABLE),
        section("c2", "17.4.2", "多智能体世界模型", LINKS, ("2602.00558",)),
        abstract(
            "c3",
            "2602.00558",
            "NetWorld: Communication-Based Diffusion World Model",
            "We propose NetWorld. It adopts the DTDE paradigm.",
        ),
    )


def hash_scorer(hits: list[Hit]) -> UnitScorer:
    """A scorer over ``hits`` with the meaning-free hash embedder (fast, deterministic)."""
    return UnitScorer([h.chunk for h in hits], HashEmbedder(64), ScoringWeights())
