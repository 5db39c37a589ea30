"""Claim-level support: does one unit of a retrieved source back each claim of an answer?

A small model's marker may point at the wrong source or be missing, so each claim is
checked on its own. A unit (:mod:`assistant.answer.units`) supports a claim when it holds
every figure (by value and kind), arXiv ID and name the claim states, in either language
(as written, translated, as pinyin), and most of what it asserts in words, weighted by
information; and when it is about what the question asks (the right table's Atari row is
about Atari, not world generation). Markers are then repaired visibly: re-pointed, added,
or dropped with the claim listed as unsupported.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import numpy as np

from assistant.answer.answer_type import PERCENT, PROPER, TIME_UNIT, figures, number_value
from assistant.answer.citations import MARKER, Checked, Claim, make_citation, parse_answer
from assistant.answer.scoring import UnitScorer, content_terms, terms
from assistant.answer.units import LINK_MARK, Unit, quotable_units, render_inline
from assistant.indexing.lexicon import (
    Lexicon,
    dictionary_glosses,
    everyday_frequency,
    romanises,
    stem_words,
)
from assistant.ingest.corpus import normalize_arxiv_id
from assistant.models import Hit, Repair
from assistant.text import CJK_CHAR, FRAMING, LATIN_NAME, MD_LINK

log = logging.getLogger(__name__)

_ARXIV = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?!\d)")
_ARXIV_REF = re.compile(r"(?:arxiv\s*:?\s*)?" + _ARXIV.pattern, re.IGNORECASE)
_SECTION_REF = re.compile(
    r"§\s*\d+(?:\.\d+)*|\b(?:section|chapter|sec\.)\s*\d+(?:\.\d+)*|\d+(?:\.\d+)*\s*[节章]"
    r"|第\s*\d+\s*[节章]",
    re.IGNORECASE,
)
"""Where something is said (``§17.3``, ``5.4 节``), not a figure of what."""
_OPENERS = frozenset(":：;；.!?。！？-–—*#>•([（")
"""What a sentence, item or clause starts after: a capital there names nothing."""
_CJK_DIGIT = re.compile(r"(?<=[\u3400-\u9fff])(?=\d)|(?<=\d)(?=[\u3400-\u9fff])")
_SCALE = re.compile(r"(?<=\d)\s?[KMBTkmbt]$")
_INFORMATION = 9.0
"""Self-information of a word no everyday word list holds (a name, a figure), as ``9 -
Zipf`` of :func:`~assistant.indexing.lexicon.everyday_frequency`."""
ASSERTION = 0.5
"""Share of what a claim states (facts and words, by information) its unit must hold."""
ABOUT = 0.5
"""Share of the best question-term coverage among the candidate units it must reach."""


@dataclass(frozen=True)
class Figure:
    value: Decimal
    kind: str
    """``percent``, ``time``, ``scale`` or ``""``: different kinds never match."""


@dataclass(frozen=True)
class Facts:
    """What a claim states that a supporting unit must hold as such."""

    names: tuple[str, ...] = ()
    figures: frozenset[Figure] = frozenset()
    ids: frozenset[str] = frozenset()


def _figures(text: str) -> frozenset[Figure]:
    """The figures of ``text`` with their kind, section numbers and arXiv IDs aside; a
    number written against Chinese characters (``约有80篇``) counts too."""
    out = set()
    cleaned = _SECTION_REF.sub(" ", _ARXIV.sub(" ", LINK_MARK.sub(" ", text)))
    cleaned = _CJK_DIGIT.sub(" ", cleaned)
    at = 0
    for raw in figures(cleaned, "", when=True):
        found = cleaned.find(raw, at)
        at = found + len(raw) if found >= 0 else at
        if (value := number_value(raw)) is None:
            continue
        kind = "percent" if PERCENT.search(raw) else "scale" if _SCALE.search(raw) else ""
        timed = found >= 0 and TIME_UNIT.match(cleaned[at : at + 8].lstrip())
        if not kind and (re.search(r"\d\s?(?:h|s|ms|min)$", raw) or timed):
            kind = "time"
        out.add(Figure(value, kind))
    return frozenset(out)


def claim_names(text: str) -> tuple[str, ...]:
    """Lower-cased: words spelled as names (``GR-1``, ``ToM``, ``UAV``) and capitalised
    words inside a sentence (``Genie``, ``Kunlun``), not after an opener nor framing words;
    ``Sora-level`` names ``Sora``."""
    found = []
    for match in LATIN_NAME.finditer(text):
        word = match.group()
        head, _, tail = word.partition("-")
        if tail and tail.isalpha() and tail.islower():
            word = head
        if word.lower() in FRAMING or not any(c.isalpha() for c in word):
            continue
        before = text[: match.start()].rstrip()
        opening = not before or before[-1] in _OPENERS or bool(MARKER.search(before[-5:]))
        if PROPER.search(word) or (word[0].isupper() and not opening):
            found.append(word.lower())
    return tuple(dict.fromkeys(found))


def _plain(text: str) -> str:
    """A link to an arXiv paper becomes its ID (its anchor is the paper's title, not
    something claimed of it), other links their anchor."""

    def link(match: re.Match) -> str:
        arxiv_id = normalize_arxiv_id(match.group(2))
        return f" arXiv:{arxiv_id} " if arxiv_id else match.group(1)

    return render_inline(MD_LINK.sub(link, text))[0]


def claim_facts(text: str) -> Facts:
    plain = _plain(text)
    bare = _SECTION_REF.sub(" ", _ARXIV_REF.sub(" ", plain))
    return Facts(claim_names(bare), _figures(plain), frozenset(_ARXIV.findall(plain)))


def _terms(text: str) -> list[str]:
    """Content terms without a compound whose parts are there too: one concept once."""
    found = content_terms(text)
    have = set(found)
    return [
        t
        for t in found
        if not ((parts := [p for p in re.split(r"[-_/+]", t) if p])[1:] and set(parts) <= have)
    ]


def _readings(unit: Unit) -> list[str]:
    """A row whose cells split on `` / `` into as many parts reads as one row per part
    (``SkyReels-V2 / Wan2.1-14B`` with ``83.9% / 83.7%``), a part starting with a number
    after the first part's words before its number (``VBench 83.9% / 83.7%``)."""
    parts = []
    for _, value in unit.cells:
        cell = [p.strip() for p in value.split(" / ")]
        label = re.match(r"^[^\d]*?(?=\d)", cell[0])
        if label and label.group().strip():
            cell[1:] = [label.group() + p if p[:1].isdigit() else p for p in cell[1:]]
        parts.append(cell)
    counts = {len(p) for p in parts if len(p) > 1}
    if len(counts) != 1 or sum(len(p) > 1 for p in parts) < 2:
        return [unit.display]
    k = counts.pop()
    return [
        " · ".join(
            f"{header}: {cell[i] if len(cell) == k else ' / '.join(cell)}"
            for (header, _), cell in zip(unit.cells, parts, strict=True)
        )
        for i in range(k)
    ]


@lru_cache(maxsize=8192)
def _unit_facts(
    unit: Unit, arxiv_id: str | None
) -> tuple[tuple[tuple[str, frozenset], ...], frozenset[str]]:
    """Per reading of the unit, its text for names (with heading, title, lead and the
    clause it continues) and its figures (with its lead's and that clause's); its IDs."""
    ids = set(unit.linked) | set(_ARXIV.findall(unit.display)) | ({arxiv_id} - {None})
    context = " ".join(p for p in (unit.before, unit.opening, unit.context, unit.lead_display) if p)
    lead = " ".join(p for p in (unit.before, unit.lead_display) if p)
    return tuple(
        (f"{context} {shown}".lower(), _figures(f"{lead} {shown}")) for shown in _readings(unit)
    ), frozenset(ids)  # type: ignore[arg-type]


@lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern:
    """``name`` as a whole word, whatever separates its parts (``V-JEPA 2-AC`` meets
    ``v-jepa2-ac``; ``wm`` does not meet ``dwm``); a plural ``s`` aside."""
    chars = (re.escape(c) for c in re.sub(r"[^0-9a-z]+", "", name.lower()))
    return re.compile(r"(?<![a-z0-9])" + r"[\s\-_./·]*".join(chars) + r"s?(?![a-z0-9])")


def _holds(facts: Facts, unit: Unit, hit: Hit, scorer: UnitScorer) -> bool:
    """Whether one reading of the unit holds every figure, ID and name of the claim."""
    readings, ids = _unit_facts(unit, hit.chunk.arxiv_id if hit.chunk.kind == "abstract" else None)
    if not facts.ids <= ids:
        return False
    translated = {name: scorer.translations([name]).get(name, ()) for name in facts.names}

    def named(name: str, held: str) -> bool:
        if _name_pattern(name).search(held) or any(w in unit.about for w in translated[name]):
            return True
        return len(name) > 2 and name.isalpha() and romanises(name, unit.about)

    return any(
        all(any(_same(f, g) for f in numbers) for g in facts.figures)
        and all(named(name, held) for name in facts.names)
        for held, numbers in readings
    )


def _same(a: Figure, b: Figure) -> bool:
    return a.value == b.value and (a.kind == b.kind or not a.kind or not b.kind)


@lru_cache(maxsize=4)
def _gloss_words(lexicon: Lexicon) -> dict[str, frozenset[str]]:
    """English stem → the Chinese words with a one- or two-word gloss holding it (决策
    "strategic decision" for ``decision``): a claim paraphrases the dictionary's phrase."""
    out: dict[str, set[str]] = {}
    for zh, glosses in lexicon.zh_to_en.items():
        for stem in (s for gloss in glosses for s in gloss):
            out.setdefault(stem, set()).add(zh)
    return {stem: frozenset(words) for stem, words in out.items()}


class TermIndex:
    """Which units hold which terms, in either language (by characters, stem or gloss); a
    term weighs by how few units hold it: what all of them say tells none apart."""

    def __init__(self, units: Sequence[Unit], lexicon: Lexicon | None) -> None:
        self.lexicon = lexicon
        self.texts = [unit.about.lower() for unit in units]
        self.tokens = [frozenset(terms(text)) for text in self.texts]
        self.stems = [frozenset(stem_words(text)) for text in self.texts]
        self.held: dict[str, frozenset[int]] = {}

    def prepare(self, words: Sequence[str], loose: bool = False) -> None:
        """Find the units holding each of ``words``, translated together (a term may pair
        with its neighbour); ``loose``: through two-word glosses too (a claim's words)."""
        todo = [w for w in dict.fromkeys(words) if w not in self.held]
        forms = dict(self.lexicon.translations(todo)) if self.lexicon else {}
        glossed = _gloss_words(self.lexicon) if self.lexicon and loose else {}
        for word in todo:
            other = forms.get(word, frozenset())
            own = set(stem_words(word)) if word.isascii() else set()
            if not word.isascii() and len(word) > 1:
                other = other | dictionary_glosses(word)
            elif len(own) == 1:
                other = other | glossed.get(next(iter(own)), frozenset())
            literal = len(word) > 2 or not word.isascii()
            self.held[word] = frozenset(
                n
                for n, text in enumerate(self.texts)
                if word in self.tokens[n]
                or (literal and word in text)
                or (
                    word.isascii()
                    and ((own and own <= self.stems[n]) or any(z in text for z in other))
                )
                or (not word.isascii() and not other.isdisjoint(self.stems[n]))
            )

    def coverage(self, n: int, words: Sequence[str]) -> float:
        """IDF-weighted share of ``words`` unit ``n`` holds, among those some unit holds."""
        total = got = 0.0
        for word in (w for w in words if self.held[w]):
            weight = math.log((len(self.texts) + 1) / (len(self.held[word]) + 0.5))
            total += weight
            got += weight if n in self.held[word] else 0.0
        return got / total if total else 1.0


@dataclass
class Support:
    unit: Unit
    hit: Hit
    assertion: float
    """Share of what the claim states (facts and words, by information) the unit holds."""
    ok: bool
    similarity: float
    """To the claim: of units backing it equally, the one that says it most nearly (the
    paper's abstract, not the survey sentence linking it)."""


@dataclass
class Verdict:
    claim: Claim
    support: Support | None
    before: int | None = None
    """The claim's first marker as written."""
    after: int | None = None
    """Its source's position in the checked answer's hits (None: unsupported)."""

    @property
    def status(self) -> str:
        if self.support is None:
            return "unsupported"
        if self.before is None:
            return "added"
        return "supported" if self.before == self.after else "repointed"


class ClaimChecker:
    """Finds each claim's supporting unit: in ``hits`` (what the answer was written from;
    its markers count them), else in ``extra`` (their sibling chunks, cited after them)."""

    def __init__(
        self, question: str, hits: Sequence[Hit], scorer: UnitScorer, extra: Sequence[Hit] = ()
    ) -> None:
        self.question = question
        self.hits = list(hits)
        seen = {h.chunk.id for h in self.hits}
        self.extra = [h for h in extra if h.chunk.id not in seen]
        self.sources = [*self.hits, *self.extra]
        self.position = {h.chunk.id: n for n, h in enumerate(self.sources, 1)}
        self.scorer = scorer
        self.units = [(unit, hit) for hit in self.sources for unit in quotable_units(hit.chunk)]
        self.index = TermIndex([u for u, _ in self.units], scorer.lexicon)
        self.qterms = [t for t in _terms(question) if not re.fullmatch(r"\d+(?:\.\d+)+", t)]
        self.index.prepare(self.qterms)
        texts = [u.scoring_text for u, _ in self.units]
        self._vectors = scorer.vectors.get(texts) if texts else None
        coverage = [self.index.coverage(n, self.qterms) for n in range(len(self.units))]
        best = max(coverage, default=0.0)
        self.about = [c / best if best > 0 else 1.0 for c in coverage]
        # the unit in the other language nearest the question: about it, whatever words
        # the dictionary misses (``near term`` for 短期)
        asked = bool(CJK_CHAR.search(question))
        other = [
            n for n, (u, _) in enumerate(self.units) if bool(CJK_CHAR.search(u.display)) != asked
        ]
        sims = self._similarity(question)
        self.nearest = max(other, key=lambda n: float(sims[n])) if other else None

    def _similarity(self, text: str) -> np.ndarray:
        if self._vectors is None:
            return np.zeros(0)
        return self._vectors @ self.scorer.embedder.cached_query(_plain(text))

    def supports(self, claim: Claim) -> list[Support]:
        """Every candidate unit holding the claim's facts, best first, ``ok`` if it backs
        the claim and is about the question."""
        facts = claim_facts(claim.text)
        named = {p for name in facts.names for p in (name, *re.split(r"[-_/+.]", name))}
        plain = _SECTION_REF.sub(" ", _ARXIV_REF.sub(" ", _plain(claim.text)))
        words = [
            t
            for t in _terms(plain)
            if t not in named and t not in self.qterms and not any(ch.isdigit() for ch in t)
        ]
        stated = _INFORMATION * (len(facts.names) + len(facts.figures) + len(facts.ids))
        if not words and not stated:
            return []  # it restates the question: nothing to check
        self.index.prepare(words, loose=True)
        weights = [max(1.0, _INFORMATION - everyday_frequency(w)) for w in words]
        near = self._similarity(claim.text)
        out = []
        for n, (unit, hit) in enumerate(self.units):
            if not _holds(facts, unit, hit, self.scorer):
                continue
            held = stated + sum(
                w for t, w in zip(words, weights, strict=True) if n in self.index.held[t]
            )
            assertion = held / (stated + sum(weights))
            ok = assertion >= ASSERTION and (self.about[n] >= ABOUT or n == self.nearest)
            out.append(Support(unit, hit, assertion, ok, float(near[n])))
        out.sort(key=lambda s: (s.ok, round(s.assertion, 2), s.similarity), reverse=True)
        return out

    def verdict(self, claim: Claim) -> Verdict:
        """Supported by a source it cites, else by another candidate source, else not."""
        found = [s for s in self.supports(claim) if s.ok]
        before = claim.markers[0] if claim.markers else None
        cited = [s for s in found if self.position[s.hit.chunk.id] in claim.markers]
        best = (cited or found or [None])[0]
        return Verdict(claim, best, before, self.position[best.hit.chunk.id] if best else None)


def check_claims(
    text: str, question: str, hits: Sequence[Hit], scorer: UnitScorer, extra: Sequence[Hit] = ()
) -> Checked:
    """``text`` (markers numbered after ``hits``) rewritten: each supported claim followed by
    its source's marker, renumbered in order of first use, each unsupported one without; each
    citation quotes the units its claims rest on."""
    checker = ClaimChecker(question, hits, scorer, extra)
    sources = checker.sources
    lines = parse_answer(text)
    bogus = {n for line in lines for p in line.pieces if p.claim for n in p.claim.markers}
    if bogus := sorted(bogus - set(range(1, len(hits) + 1))):
        log.warning("dropped marker(s) pointing at none of the %d sources: %s", len(hits), bogus)
    verdicts: list[Verdict] = []
    quotes: dict[int, list[str]] = {}  # source number → quoted units, in first-use order
    out_lines = []
    for line in lines:
        parts = []
        for piece in line.pieces:
            verdict = checker.verdict(piece.claim) if piece.claim else None
            verdicts.extend([verdict] if verdict else [])
            if verdict is None or verdict.support is None or verdict.after is None:
                parts.append(piece.shown(None))
                continue
            said = quotes.setdefault(verdict.after, [])
            if verdict.support.unit.display not in said:
                said.append(verdict.support.unit.display)
            parts.append(piece.shown(list(quotes).index(verdict.after) + 1))
        out_lines.append((line.prefix + "".join(parts)).rstrip())
    final = list(checker.hits) + [sources[n - 1] for n in quotes if n > len(checker.hits)]
    position = {h.chunk.id: n for n, h in enumerate(final, 1)}
    renumber = {source: new for new, source in enumerate(quotes, 1)}
    repaired = [
        Repair(claim=v.claim.text, before=v.before, after=renumber[v.after])
        for v in verdicts
        if v.after is not None and v.status in ("added", "repointed")
    ]
    for v in verdicts:
        v.after = position[sources[v.after - 1].chunk.id] if v.after is not None else None
    return Checked(
        text="\n".join(out_lines).strip(),
        hits=final,
        citations=[
            make_citation(new, sources[n - 1], quotes[n][0], quotes[n])
            for new, n in enumerate(quotes, 1)
        ],
        grounded=sum(v.support is not None for v in verdicts) / len(verdicts) if verdicts else 0.0,
        unsupported=[v.claim.text for v in verdicts if v.support is None],
        repaired=repaired,
        claims=len(verdicts),
        verdicts=verdicts,
    )
