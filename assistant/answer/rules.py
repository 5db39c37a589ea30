"""Switches for the answer stage's rule families, so that each can be measured off.

The evaluator's ablation (``eval --union --ablate``) turns families off one at a time and
reports what each is worth; answering never does. A family reads :func:`on` where it acts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

FAMILIES = tuple(
    """type:figure type:percentage type:duration type:date type:names type:license
    type:availability type:organisation type:comparison type:counts clauses tables mentions
    lists everyday unknown-names threshold""".split()
)
"""Every family; what each does when on is in eval/README.md's ablation table."""

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
