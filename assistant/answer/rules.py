"""Switches for the answer stage's rule families, so that each can be measured off.

The evaluator's ablation (``eval --union --ablate``) turns families off one at a time and
reports what each is worth; answering never does. A family reads :func:`on` where it acts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

FAMILIES = {
    "type:figure": "refuse a figure question (how many, 多少) when no quoted clause holds one",
    "type:percentage": "… a percentage question when the figure is no percentage",
    "type:duration": "… a duration question (多久, GPU hours) without a span of time",
    "type:date": "… a date or 'when' question without a day or year",
    "type:names": "… 'which three X' without that many names listed",
    "type:license": "… a license question without a license",
    "type:availability": "… 'is the code open' without code, weights or a repository",
    "type:organisation": "… 'which company built X' without a maker credited",
    "type:comparison": "… 'A or B, which is better' without both side by side",
    "type:counts": "… GPUs, memory, distance, steps, people without that unit",
    "clauses": "a figure counts only in a clause about what the question names, and only when"
    " the quoted units write every identifier it names (nuScenes, Genie 2)",
    "tables": "rank the table row with the extreme value a superlative asks for first, and"
    " table rows first for a question about a table",
    "mentions": "rank sentences about a name the question uses first",
    "lists": "quote a whole list for a question about what a list holds",
    "everyday": "refuse a question sharing only everyday words with the corpus",
    "threshold": "refuse below the support threshold derived from the corpus",
}
"""Every family, with what it does when on."""

_off: frozenset[str] = frozenset()


def on(family: str) -> bool:
    return family not in _off


@contextlib.contextmanager
def ablated(families: Iterable[str]) -> Iterator[None]:
    """Turn ``families`` off for the duration (process-wide: for evaluation only)."""
    global _off
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown rule families: {', '.join(sorted(unknown))}")
    before, _off = _off, frozenset(families)
    try:
        yield
    finally:
        _off = before
