"""Citation checking after generation, the same for every backend.

Small local models break formats: they cite ``[9]`` out of five sources, write
``【2】`` or ``[1, 3]``, or forget markers. This step parses every marker form,
drops markers that point at no retrieved chunk (and logs them), renumbers the rest
``[1]``, ``[2]``… in order of first use, flags sentences left without a valid marker and
computes ``grounded``, the share of claim sentences that carry one. Each citation's
quote is the sentence of its chunk that best supports the first claim citing it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from assistant.answer.scoring import UnitScorer
from assistant.models import Citation, Hit
from assistant.prompts import not_said_phrases
from assistant.text import sentence_spans

log = logging.getLogger(__name__)

MARKER = re.compile(r"[\[【]\s*(\d{1,3}(?:\s*[,，、;]\s*\d{1,3})*)\s*[\]】](?!\()")
"""``[1]``, ``[1, 2]``, ``[1][2]`` (two matches), ``【3】``; not a Markdown link ``[1](…)``."""

_WORDLESS = re.compile(r"^[\W_]*$")
_LEADING_MARKERS = re.compile(rf"^(?:\s*{MARKER.pattern})+\s*")
_LIST_NUMBER = re.compile(r"^(?:[-*+]\s*)?\d{1,3}[.)]$")


@dataclass
class CheckedText:
    """The answer body after the check."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    grounded: float = 0.0
    ungrounded: list[str] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    """Marker numbers that pointed at no retrieved chunk."""
    claims: int = 0


def parse_markers(text: str) -> list[int]:
    """Every marker number in ``text``, in order (repeats kept)."""
    return [int(n) for m in MARKER.finditer(text) for n in re.findall(r"\d+", m.group(1))]


def _renumber(text: str, valid: int) -> tuple[str, list[int], list[int]]:
    """Rewrite markers as ``[a][b]`` in first-use order; drop numbers outside 1..valid.

    Returns the text, the source numbers in first-use order, and the removed numbers.
    """
    order: list[int] = []
    removed: list[int] = []

    def rewrite(match: re.Match) -> str:
        kept = []
        for raw in re.findall(r"\d+", match.group(1)):
            n = int(raw)
            if 1 <= n <= valid:
                if n not in order:
                    order.append(n)
                kept.append(order.index(n) + 1)
            else:
                removed.append(n)
        return "".join(f"[{k}]" for k in dict.fromkeys(kept))

    out = MARKER.sub(rewrite, text)
    out = re.sub(r"[ \t]+(?=[。．.，,；;！!？?])", "", out)
    out = re.sub(r"(?<=\S)[ \t]{2,}", " ", out)  # not indentation: nested lists
    return out, order, removed


def claim_sentences(text: str) -> list[str]:
    """Sentences of ``text``, with markers kept on the claim they follow.

    Markers written after the full stop (``…事故。 [1] 下一句``) start the next span:
    they are moved back to the sentence they close. A bare list number (``1.``) is
    joined to the item text after it.
    """
    out: list[str] = []
    pending = ""
    for start, end in sentence_spans(text):
        piece = text[start:end].strip()
        if not piece:
            continue
        lead = _LEADING_MARKERS.match(piece)
        if lead and out:
            out[-1] = f"{out[-1]}{lead.group().rstrip()}"
            piece = piece[lead.end() :].strip()
            if not piece:
                continue
        if _LIST_NUMBER.match(piece):
            pending = f"{pending}{piece} "
            continue
        out.append(f"{pending}{piece}")
        pending = ""
    if pending.strip():
        out.append(pending.strip())
    return out


def _is_claim(sentence: str) -> bool:
    """Lead-ins (``…：``), headings and "the survey does not say" make no claim."""
    bare = MARKER.sub("", sentence).strip().strip("*#>- ").strip()
    if not bare or _WORDLESS.match(bare):
        return False
    if bare.endswith((":", "：")):
        return False
    return not any(bare.startswith(p.rstrip("。.")) for p in not_said_phrases())


def make_citation(marker: int, hit: Hit, quote: str) -> Citation:
    chunk = hit.chunk
    if chunk.kind == "abstract":
        return Citation(
            marker=marker,
            kind="arxiv",
            chunk_id=chunk.id,
            arxiv_id=chunk.arxiv_id,
            title=chunk.title,
            authors=chunk.authors,
            url=chunk.url,
            quote=quote,
        )
    return Citation(
        marker=marker,
        kind="section",
        chunk_id=chunk.id,
        section=chunk.section,
        section_title=chunk.section_title,
        linked_arxiv_ids=chunk.arxiv_ids,
        quote=quote,
    )


def check_citations(
    text: str,
    hits: Sequence[Hit],
    scorer: UnitScorer,
    quotes: Mapping[str, str] | None = None,
) -> CheckedText:
    """Validate, renumber and quote the markers of ``text`` (numbered after ``hits``).

    ``quotes`` (chunk id → sentence) overrides the quote search when the caller already
    knows which sentence supports the answer (the extractive path does).
    """
    cleaned, order, removed = _renumber(text, len(hits))
    if removed:
        log.warning(
            "removed %d citation marker(s) pointing at no retrieved source: %s "
            "(%d sources were given)",
            len(removed),
            ", ".join(f"[{n}]" for n in removed),
            len(hits),
        )
    sentences = [s for s in claim_sentences(cleaned) if _is_claim(s)]
    grounded_count = 0
    ungrounded: list[str] = []
    first_claim: dict[int, str] = {}
    for sentence in sentences:
        numbers = parse_markers(sentence)
        if numbers:
            grounded_count += 1
            for n in numbers:
                first_claim.setdefault(n, MARKER.sub("", sentence).strip())
        else:
            ungrounded.append(sentence)
    citations: list[Citation] = []
    for new, source in enumerate(order, 1):
        hit = hits[source - 1]
        quote = (quotes or {}).get(hit.chunk.id)
        if quote is None:
            claim = first_claim.get(new, "")
            unit = scorer.best_unit(claim, hit.chunk, scorer.query_vector(claim)) if claim else None
            quote = unit.display if unit else ""
        citations.append(make_citation(new, hit, quote))
    if ungrounded:
        log.info("%d sentence(s) without a valid citation", len(ungrounded))
    return CheckedText(
        text=cleaned.strip(),
        citations=citations,
        grounded=grounded_count / len(sentences) if sentences else 0.0,
        ungrounded=ungrounded,
        removed=removed,
        claims=len(sentences),
    )
