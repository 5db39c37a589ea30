"""Lists answered whole: "Which challenges does the survey list?" gets every item.

Sentence ranking would quote a few of its items. A question for the members of a set
(哪些, 分别是什么, "which … does the survey list"), not one of them (第四项), is answered from
the list (items under one lead line, bold headings of one section, rows of one table) whose
title holds most of what it asks about, or whose length is the number it asks for. The
patterns are how questions ask for a list, in either language, not anything about a corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.answer.answer_type import COUNT_WORDS, asked_count, expectation
from assistant.answer.rules import on
from assistant.answer.scoring import ScoredUnit, content_terms
from assistant.answer.units import Unit, chunk_units
from assistant.models import Chunk, Hit
from assistant.search.retrieval import source_key

_COUNT = r"(\d{1,2}|" + COUNT_WORDS + "|[二两三四五六七八九十])"
_LIST_ASKED = re.compile(
    r"哪些|哪几|分别(?:是|有|包括)|包括什么|包含什么|有什么|要点|列举|列出|归纳了|总结了"
    r"|\bwhat (?:are|were) the\b|\b(?:list|name|enumerate) (?:the|all)\b"
    r"|\b(?:which|what)\b[^?]*\b(?:list|lists|listed|identif(?:y|ies|ied)|enumerat\w*"
    r"|distinguish\w*|categori[sz]\w*|classif(?:y|ies|ied)|summari[sz]\w*|groups?)\b",
    re.IGNORECASE,
)
_ONE_OF = re.compile(
    r"第\s*[一二三四五六七八九十\d]+\s*[项个条类种点大步]"
    r"|\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last)\b",
    re.IGNORECASE,
)
"""Asks for one member of a list ("the fourth challenge", 第六项), not all of them."""
_ASKED_COUNT = re.compile(
    r"(?:哪|这|那)?" + _COUNT + r"\s*(?:大|个|类|种|项|条|点|步|方面|阶段|条路线)"
    r"|\b(?:which|what|the|name|list) " + _COUNT + r"\b",
    re.IGNORECASE,
)


def asked_list(question: str) -> int | None:
    """None when ``question`` asks for no whole list; else how many items it says the list
    has (0 when it does not say)."""
    if not _LIST_ASKED.search(question) or _ONE_OF.search(question):
        return None
    if expectation(question).kind not in (None, "names"):
        return None  # a figure, a date, a maker: what the list holds is not the answer
    return asked_count(_ASKED_COUNT, question)


def _members(scored: Sequence[ScoredUnit]) -> dict[tuple, list[ScoredUnit]]:
    """The candidate lists among ``scored`` (items under one lead line, bold headings, rows
    under one header) per section or paper; chunks overlap and split lists: a repeated unit
    counts once, items opening a chunk continue the previous chunk's list."""
    chunks = {(source_key(s.hit.chunk), s.hit.chunk.position): s.hit.chunk for s in scored}

    def lead(unit: Unit, chunk: Chunk) -> str:
        units = chunk_units(chunk)
        if unit.lead is not None:
            return units[unit.lead].display
        previous = chunks.get((source_key(chunk), chunk.position - 1))
        if previous is None or any(u.kind != "item" for u in units[: unit.index]):
            return ""
        last = chunk_units(previous)[-1]
        return lead(last, previous) if last.kind == "item" else ""

    groups: dict[tuple, list[ScoredUnit]] = {}
    seen: set[tuple] = set()
    for item in scored:
        unit, chunk = item.unit, item.hit.chunk
        if unit.kind == "item":
            kind: tuple = ("item", lead(unit, chunk))
        elif unit.kind == "heading":
            kind = ("heading",)
        elif unit.kind == "row" and unit.cells:
            kind = ("row", tuple(h for h, _ in unit.cells))
        else:
            continue
        key = (source_key(chunk), *kind)
        shown = (key, " ".join(unit.display.split()))
        if shown in seen:
            continue
        seen.add(shown)
        groups.setdefault(key, []).append(item)
    return groups


def whole_list(
    question: str,
    scored: Sequence[ScoredUnit],
    covers: Callable[[Sequence[str], str], float],
    most: int,
) -> list[tuple[Unit, Hit]] | None:
    """The list ``question`` asks for, in reading order, after its lead line: of 2 to
    ``most`` items, whose title (section title and lead) and the question share half of each
    other's terms (``covers``), or, when it says how many (九大趋势), of that length sharing
    a term; the one holding the best-scoring unit (None: no such list, or none asked for)."""
    wanted = asked_list(question)
    if wanted is None or not on("lists"):
        return None
    asked = content_terms(question)
    lists = []
    for key, members in _members(scored).items():
        if not 2 <= len(members) <= most or (wanted and wanted != len(members)):
            continue
        lead = key[2] if key[1] == "item" else ""
        heading = members[0].hit.chunk.section_title or members[0].hit.chunk.title or ""
        match = max(covers(asked, f"{heading} {lead}"), covers(content_terms(heading), question))
        if match < (0.5 if not wanted else 1e-9):
            continue
        lists.append(members)
    if not lists:
        return None
    best = max(lists, key=lambda members: max(m.score for m in members))
    members = sorted(best, key=lambda m: (m.hit.chunk.start, m.hit.chunk.id, m.unit.start))
    chosen = [(m.unit, m.hit) for m in members]
    first = members[0]
    if first.unit.lead is not None:
        lead = chunk_units(first.hit.chunk)[first.unit.lead]
        if lead.kind == "lead":
            chosen.insert(0, (lead, first.hit))
    return chosen
