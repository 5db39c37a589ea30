"""The answer without an LLM: the sentences of the top hits that best answer the question.

Units ranked by :class:`~assistant.answer.scoring.UnitScorer`: the best one picks the
source whose best sentences are quoted, without repeats (chunks overlap), by source in
reading order; a list item is shown with the line that introduces it (``中期（2027–2030）：
…``): which period, which trend, is part of the answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

from assistant.answer.scoring import ScoredUnit
from assistant.answer.units import Unit
from assistant.models import Hit
from assistant.prompts import phrase
from assistant.text import sentences

_ITEM_NUMBER = re.compile(r"^\d{1,3}[.)]\s+")


@dataclass(frozen=True)
class ExtractiveLimits:
    max_sentences: int = 3
    max_sources: int = 2
    margin: float = 0.0


def select(scored: Sequence[ScoredUnit], limits: ExtractiveLimits) -> list[tuple[Unit, Hit]]:
    """The units to quote, by hit (best first) in reading order: the best unit's source
    gives its best sentences (never a lead line alone, nor a title: the citation shows it);
    a second source only near the top: the abstract of a paper the best unit links or names
    (not for a table extreme), or any source within ``margin`` of the best."""
    candidates = [s for s in scored if s.unit.kind != "lead"]
    if not candidates:
        return []
    best = candidates[0]
    main = best.hit.chunk.id
    quotable = [s for s in candidates if s.unit.kind != "title"]
    top = quotable[: 2 * limits.max_sentences]
    near = {id(item) for item in top}
    near_sources = {item.hit.chunk.id for item in top}
    chosen: list[tuple[Unit, Hit]] = []
    seen: set[str] = set()

    def take(source: str, only_near: bool) -> None:
        taken = 0
        for item in quotable:
            if item.hit.chunk.id != source or taken >= limits.max_sentences:
                continue
            if only_near and taken and id(item) not in near:
                break
            key = "".join(unicodedata.normalize("NFKC", item.unit.display).split()).casefold()
            if key not in seen:
                seen.add(key)
                chosen.append((item.unit, item.hit))
                taken += 1

    take(main, only_near=False)
    sources = [main]
    for item in candidates[1:]:
        chunk = item.hit.chunk
        if len(sources) >= limits.max_sources:
            break
        if chunk.id in sources:
            continue
        linked = (
            chunk.kind == "abstract"
            and not best.extreme
            and (
                chunk.arxiv_id in best.unit.linked
                or any(anchor in best.unit.display for anchor in chunk.anchors)
            )
        )
        if (linked and chunk.id in near_sources) or item.score >= best.score - limits.margin:
            sources.append(chunk.id)
            take(chunk.id, only_near=True)
    # reading order within a source, but a byline (chosen only when asked who wrote it) first
    chosen.sort(
        key=lambda pair: (sources.index(pair[1].chunk.id), pair[0].kind != "byline", pair[0].index)
    )
    return chosen


def _with_markers(display: str, marker: str) -> str:
    """A marker after every sentence of the quoted unit, so each one is grounded."""
    parts = sentences(display)
    if len(parts) <= 1:
        return f"{display} {marker}"
    return " ".join(f"{p} {marker}" for p in parts)


def _item(unit: Unit) -> Unit:
    """A numbered list item without its number: under the answer's own bullet, ``- 4. …``
    renders as a one-item list numbered 4 (the source card shows it in its list)."""
    number = _ITEM_NUMBER.match(unit.display) if unit.kind == "item" else None
    return replace(unit, display=unit.display[number.end() :]) if number else unit


def quotes(
    scored: Sequence[ScoredUnit], chosen: Sequence[tuple[Unit, Hit]]
) -> dict[str, tuple[str, ...]]:
    """For each quoted chunk, every sentence the answer quotes from it: the best-scoring
    first (the citation's ``quote``), then in answer order (its ``quotes``, which its
    source card highlights)."""
    picked = {id(unit) for unit, _ in chosen}
    out: dict[str, tuple[str, ...]] = {}
    for item in scored:
        if id(item.unit) in picked:
            out.setdefault(item.hit.chunk.id, (item.unit.display,))
    for unit, hit in chosen:
        have = out.setdefault(hit.chunk.id, ())
        if unit.display not in have:
            out[hit.chunk.id] = (*have, unit.display)
    return out


def extractive_body(chosen: Sequence[tuple[Unit, Hit]], hits: Sequence[Hit], language: str) -> str:
    """The answer body, each quote followed by its source's number in ``hits``: an
    abstract's under the paper's title and ID (its sentences say "we"), others under their
    lead line unless it is quoted itself, one copy of it for the quotes that share it."""
    position = {hit.chunk.id: n for n, hit in enumerate(hits, 1)}
    quoted = {(unit.chunk_id, unit.index) for unit, _ in chosen}
    lines = [phrase("extractive_lead", language)]
    headed: set[str] = set()
    for quoted_unit, hit in chosen:
        unit = _item(quoted_unit)
        marker = f"[{position[hit.chunk.id]}]"
        chunk = hit.chunk
        indent = ""
        if chunk.kind == "abstract" and chunk.title:
            indent = "  "
            if chunk.id not in headed:
                headed.add(chunk.id)
                lines.append(f"- {chunk.title} (arXiv:{chunk.arxiv_id}):")
        if not unit.lead_display or (unit.chunk_id, unit.lead) in quoted:
            lines.append(f"{indent}- {_with_markers(unit.display, marker)}")
            continue
        group = [u for u, _ in chosen if (u.chunk_id, u.lead) == (unit.chunk_id, unit.lead)]
        if len(group) == 1:
            lines.append(f"{indent}- {_with_markers(unit.shown_with_lead(), marker)}")
            continue
        if quoted_unit is group[0]:
            lead = unit.lead_display
            shown = lead if lead.endswith((":", "：")) else _with_markers(lead, marker)
            lines.append(f"{indent}- {shown}")
        lines.append(f"{indent}  - {_with_markers(unit.display, marker)}")
    return "\n".join(lines)
