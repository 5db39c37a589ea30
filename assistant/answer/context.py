"""What an LLM is shown: the chunks holding the best-ranked sentences, within a token budget.

Prompt processing is most of what a small local model costs (95% of an answer's time on 2
CPU cores), and the answer stage ranks sentences better than retrieval ranks chunks: the
context is the chunks of what an extractive answer would quote, then the others in the order
of their best sentence, each whole, while they fit; the best first, which small models
favour. At 800-1,000 tokens they hold the expected answer as often as the 12 retrieved
chunks do (docs/answers-llm.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from assistant.answer.scoring import ScoredUnit
from assistant.answer.units import Unit
from assistant.models import Hit
from assistant.prompts import defuse, source_label

SOURCE_OVERHEAD = 24
"""Tokens a source's fence and label add to its text (``<source marker="[n]" from="…">``)."""


@lru_cache(maxsize=1)
def _tokenizer() -> Callable[[str], list]:
    """llama-index's default tokenizer (tiktoken ``cl100k_base``, bundled, offline). Local
    models count differently (Qwen2.5 about 15% fewer tokens on this survey's mix of
    Chinese and English); the budget is a size, not an exact fit."""
    from llama_index.core.utils import get_tokenizer

    return get_tokenizer()


def source_tokens(hit: Hit) -> int:
    """Tokens a hit takes in the prompt, fence and label included."""
    tokenize = _tokenizer()
    return (
        len(tokenize(defuse(hit.chunk.text))) + len(tokenize(source_label(hit))) + SOURCE_OVERHEAD
    )


def context_hits(
    hits: Sequence[Hit],
    scored: Sequence[ScoredUnit],
    chosen: Sequence[tuple[Unit, Hit]],
    budget: int,
) -> list[Hit]:
    """The chunks of ``chosen``, then of the ``scored`` sentences in rank order, then the
    other ``hits``, each skipped if it does not fit in ``budget`` tokens (the first always
    fits); ``budget`` 0: ``hits`` as retrieved."""
    if budget <= 0:
        return list(hits)
    ranked: dict[str, Hit] = {}
    for hit in (*(h for _, h in chosen), *(s.hit for s in scored), *hits):
        ranked.setdefault(hit.chunk.id, hit)
    shown: list[Hit] = []
    used = 0
    for hit in ranked.values():
        size = source_tokens(hit)
        if shown and used + size > budget:
            continue
        shown.append(hit)
        used += size
    return shown
