"""The corpus's vocabulary: stemmed BM25 terms, how many chunks use each, and how much more
than everyday language (wordfreq) the corpus uses it. Answer scoring weighs question terms by
it, and refusal tells a survey's own words from everyday ones."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from assistant.indexing.lexicon import everyday_frequency
from assistant.models import Chunk
from assistant.text import CJK_CHAR, tokenize

_ASCII_WORD = re.compile(r"^[a-z]+$")


def stem(term: str) -> str:
    """Fold English plurals (``challenges`` → ``challenge``); other tokens unchanged."""
    if not _ASCII_WORD.match(term) or len(term) <= 3:
        return term
    if term.endswith("ies"):
        return term[:-3] + "y"
    if term.endswith("s") and not term.endswith(("ss", "us", "is")):
        return term[:-1]
    return term


def terms(text: str) -> list[str]:
    """Stemmed BM25 tokens of ``text``, in order, without repeats."""
    return list(dict.fromkeys(stem(t) for t in tokenize(text)))


class TermWeights:
    """Inverse document frequency of terms over the indexed chunks, and so also what the
    corpus never says."""

    def __init__(self, chunks: Iterable[Chunk]) -> None:
        df: dict[str, int] = {}
        n = tokens = 0
        for chunk in chunks:
            n += 1
            text = chunk.indexed_text
            words = tokenize(text)
            tokens += len(words)
            for term in {stem(w) for w in words}:
                df[term] = df.get(term, 0) + 1
        self._df = df
        self._n = n
        self.chunk_tokens = tokens / n if n else 0.0
        """Mean tokens per chunk: how often a word of a given general frequency would
        turn up in a chunk by chance."""

    def knows(self, term: str) -> bool:
        """Whether some chunk has ``term`` (a :func:`terms` token)."""
        return term in self._df

    def specificity(self, term: str, asked: str | None = None) -> float:
        """How many times more chunks use ``term`` than would by chance if the corpus
        used it as often as everyday language does: ``world`` and 模型 score in the tens
        in a survey of world models, ``long`` and 通过 near 1. Infinite for a known word
        everyday language lacks (a name, a figure, a technical token); 0 for one the
        corpus lacks.

        ``asked`` is the question's word when ``term`` is one of its translations: the
        more common of the two sets the chance, so that "change", an everyday word, is no
        more specific for being translatable as 转移, which a science chapter uses often."""
        df = self._df.get(term, 0)
        if not df:
            return 0.0
        zipf = everyday_frequency(term)
        if asked is not None and zipf > 0:
            zipf = max(zipf, everyday_frequency(asked))
        if zipf <= 0 or any(ch.isdigit() for ch in term):
            return math.inf
        chance = -math.expm1(-(10 ** (zipf - 9)) * self.chunk_tokens)
        return (df / self._n) / chance if chance > 0 else math.inf

    def idf(self, term: str) -> float:
        """Smoothed IDF; terms absent from the corpus weigh the most."""
        return math.log((self._n + 1) / (self._df.get(term, 0) + 0.5))

    def weight(self, term: str, translations: Iterable[str] = ()) -> float:
        """IDF, doubled for terms with digits (a year, a score: the question's anchor)
        and cut for single Chinese characters (年, 篇: nearly function words).

        An English term weighs as its most common Chinese translation when that is more
        common: ``video`` is not rare in a Chinese survey just because it is written 视频."""
        weight = self.idf(term)
        if term.isascii():
            weight = min([weight, *(self.idf(t) for t in translations)])
        if any(ch.isdigit() for ch in term):
            weight *= 2.0
        elif len(term) == 1 and CJK_CHAR.match(term):
            weight *= 0.3
        return weight
