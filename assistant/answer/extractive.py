"""The answer without an LLM: the sentences of the top hits that best answer the question.

Sentences (list items, table rows with their header) are ranked by
:class:`~assistant.answer.scoring.UnitScorer`; the best one and those within a small
margin of it are kept, from at most a couple of chunks (each extra chunk is one more
citation that could be off-topic), without repeats (chunks overlap), and shown grouped
by source in reading order. A line that introduces a list (``中期（2027–2030）：``)
brings the items it introduces, since the answer is in them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ..models import Hit
from ..prompts import phrase
from ..text import sentences
from .scoring import ScoredUnit
from .units import Unit, following_items

_ITEM_NUMBER = re.compile(r"^\d{1,3}[.)]\s+")


@dataclass(frozen=True)
class ExtractiveLimits:
    max_sentences: int = 3
    max_sources: int = 2
    margin: float = 0.0


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def select(scored: Sequence[ScoredUnit], limits: ExtractiveLimits) -> list[tuple[Unit, Hit]]:
    """The units to quote, grouped by hit (best hit first) and in reading order.

    The best sentence picks the main source, which then gives its best sentences; other
    sources only add a sentence scoring within ``margin`` of the best, since each extra
    source is one more citation that may be off-topic.
    """
    if not scored:
        return []
    best = scored[0]
    chosen: list[tuple[Unit, Hit]] = []
    seen: set[str] = set()
    sources: list[str] = [best.hit.chunk.id]

    def take(unit: Unit, hit: Hit) -> None:
        key = _key(unit.display)
        if key in seen or len(chosen) >= limits.max_sentences:
            return
        seen.add(key)
        chosen.append((unit, hit))
        if unit.kind == "lead":
            for follower in following_items(hit.chunk, unit, limits.max_sentences):
                take(follower, hit)

    for item in scored:
        chunk_id = item.hit.chunk.id
        if chunk_id == best.hit.chunk.id:
            take(item.unit, item.hit)
        elif item.score >= best.score - limits.margin and (
            chunk_id in sources or len(sources) < limits.max_sources
        ):
            if chunk_id not in sources:
                sources.append(chunk_id)
            take(item.unit, item.hit)
        if len(chosen) >= limits.max_sentences:
            break
    order = {cid: n for n, cid in enumerate(sources)}
    chosen.sort(key=lambda pair: (order[pair[1].chunk.id], pair[0].index))
    return chosen


def _with_markers(display: str, marker: str) -> str:
    """A marker after every sentence of the quoted unit, so each one is grounded."""
    number = _ITEM_NUMBER.match(display)
    prefix = number.group() if number else ""
    parts = sentences(display[len(prefix) :])
    if len(parts) <= 1:
        return f"{display} {marker}"
    return prefix + " ".join(f"{p} {marker}" for p in parts)


def best_quotes(scored: Sequence[ScoredUnit], chosen: Sequence[tuple[Unit, Hit]]) -> dict[str, str]:
    """For each quoted chunk, its chosen sentence that scored best: the citation's quote."""
    picked = {id(unit) for unit, _ in chosen}
    quotes: dict[str, str] = {}
    for item in scored:
        if id(item.unit) in picked:
            quotes.setdefault(item.hit.chunk.id, item.unit.display)
    return quotes


def extractive_body(chosen: Sequence[tuple[Unit, Hit]], hits: Sequence[Hit], language: str) -> str:
    """The answer body, each quote followed by its source's number in ``hits``."""
    position = {hit.chunk.id: n for n, hit in enumerate(hits, 1)}
    lines = [phrase("extractive_lead", language)]
    for unit, hit in chosen:
        lines.append(f"- {_with_markers(unit.display, f'[{position[hit.chunk.id]}]')}")
    return "\n".join(lines)
