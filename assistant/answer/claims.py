"""Claim-level support: does one unit of a retrieved source back each claim of an answer?

A reply from a small model is checked claim by claim (a sentence, or a list item), not
marker by marker: the marker it wrote may point at the wrong source, at a source that
merely mentions the claim's name in another row, or be missing. A claim is *supported*
by a source when one unit of it (a sentence, a table row, a list item, see
:mod:`assistant.answer.units`) holds together

- every figure the claim states (compared by value, with their kind: a percentage is no
  duration), every arXiv ID and every name (``V-JEPA 2-AC``, ``GR-1``, ``Genie``; as
  written, or across languages as a translation the lexicon knows, 腾讯 for ``Tencent``,
  or as pinyin, 昆仑 for ``Kunlun``);
- most of what the claim asserts: its names, figures and the rest of its content words,
  each weighted by how much it says (self-information from everyday word frequency:
  ``deepfake`` says more than ``come``), in either language;

and that unit is about what the question asks: it holds the question's terms (weighted
by how few of the candidate units hold them) about as well as the unit that holds them
best, among units in the question's language, or, for a unit in the other language,
among units in its own (a dictionary bridges languages less well than a shared word).
"Dreamer V4" for "which method leads interactive world generation" is in the Atari row
of the right table, which is about Atari: not support.

The answer is then repaired where it can be, visibly: a marker pointing at a source that
does not support its claim is re-pointed to one that does (a retrieved source, or a
sibling chunk of one, which is then cited too); a claim without a marker gets one when
some source supports it; a claim no source supports is listed as unsupported and loses
its marker. ``grounded`` is the share of claims supported. Each citation's ``quotes``
are the units its claims rest on (``quote`` the first): the very sentence or row that
supports, never a stand-in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import numpy as np

from assistant.answer.answer_type import TIME_UNIT, figures
from assistant.answer.citations import MARKER, make_citation, parse_markers
from assistant.answer.scoring import UnitScorer, content_terms, terms
from assistant.answer.units import LINK_MARK, Unit, chunk_units, render_inline, whole_sentences
from assistant.indexing.lexicon import (
    Lexicon,
    dictionary_glosses,
    everyday_frequency,
    romanises,
    stem_words,
)
from assistant.ingest.corpus import normalize_arxiv_id
from assistant.models import Citation, Hit, Repair
from assistant.prompts import not_said_phrases
from assistant.text import CJK_CHAR, FRAMING, LATIN_NAME, MD_LINK

_BULLET = re.compile(r"^(\s*)((?:[-*+]|\d{1,3}[.)])\s+)?")
_LEADING_MARKERS = re.compile(rf"^(?:\s*{MARKER.pattern})+\s*")
_END_PUNCT = re.compile(r"[。．.！!？?；;]+[\"'”’」』）)]*$")
_HEADING = re.compile(r"^\s*#{1,6}\s")
_WORDLESS = re.compile(r"^[\W_]*$")
_ARXIV = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?!\d)")
_ARXIV_REF = re.compile(r"(?:arxiv\s*:?\s*)?" + _ARXIV.pattern, re.IGNORECASE)
_SOURCE_LABEL = re.compile(r"\[\s*arXiv:\s*(\d{4}\.\d{4,5})[^\]]*\]", re.IGNORECASE)
"""How a model copies a source's label into its reply: ``[arXiv:2502.10498 — Title]``."""
_SECTION_REF = re.compile(
    r"§\s*\d+(?:\.\d+)*|\b(?:section|chapter|sec\.)\s*\d+(?:\.\d+)*|\d+(?:\.\d+)*\s*[节章]"
    r"|第\s*\d+\s*[节章]",
    re.IGNORECASE,
)
"""``§17.3``, ``section 17.4.2``, ``5.4 节``: where something is said, not what."""
_SPELLED_AS_NAME = re.compile(r"\d|[a-z][A-Z]|^[A-Z][A-Z0-9.+-]*[A-Z0-9+]$")
"""``GR-1``, ``ToM``, ``UAV``, ``V-JEPA``: a name wherever it stands."""
_OPENERS = frozenset(":：;；.!?。！？-–—*#>•([（")
"""What a sentence, a list item or a clause starts after: a capital there names nothing."""
_CJK_DIGIT = re.compile(r"(?<=[\u3400-\u9fff])(?=\d)|(?<=\d)(?=[\u3400-\u9fff])")
_SCALE = re.compile(r"(?<=\d)\s?[KMBTkmbt]$")
_PERCENT = re.compile(r"%|％|百分点|percent", re.IGNORECASE)
_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}  # fmt: skip
_ZH_TENS = {"十": 10, "百": 100, "千": 1000}
_EN_NUMBERS = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}  # fmt: skip
_INFORMATION = 9.0
"""Self-information of a word no everyday word list holds (a name, a figure), in the
units of :func:`~assistant.indexing.lexicon.everyday_frequency` (Zipf: log10 of
occurrences per billion words, so ``9 - Zipf`` is -log10 of the word's probability)."""


# --- claims -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One sentence or list item of an answer that states something."""

    text: str
    """As written, without its markers (a verbatim part of the checked answer)."""
    markers: tuple[int, ...] = ()
    """Source numbers it carried (its own, else its line's leading ones), as written."""


@dataclass
class _Piece:
    """A sentence of a line: a claim, or text that claims nothing (a lead-in, a heading)."""

    text: str
    """Without markers and closing punctuation."""
    end: str
    """Closing punctuation, put back after the marker."""
    claim: Claim | None
    gap: str = ""
    """Whitespace before it on its line."""
    marked: str = ""
    """``text`` with the markers written inside it, when there are any."""

    def shown(self, marker: int | None) -> str:
        """The piece with ``marker`` where the model put its first one (at its end if it put
        none there), or with no marker."""
        if marker is None:
            return f"{self.gap}{self.text}{self.end}"
        if self.marked:
            first = MARKER.search(self.marked)
            assert first is not None
            body = (
                self.marked[: first.start()]
                + f"[{marker}]"
                + MARKER.sub("", self.marked[first.end() :])
            )
            return f"{self.gap}{_tidy(body)}{self.end}"
        return f"{self.gap}{self.text} [{marker}]{self.end}"


def _tidy(text: str) -> str:
    """No space before punctuation, no runs of spaces (indentation aside)."""
    text = re.sub(r"[ \t]+(?=[。．.，,；;！!？?])", "", text).strip()
    return re.sub(r"(?<=\S)[ \t]{2,}", " ", text)


@dataclass
class _Line:
    prefix: str
    """Indentation and list bullet."""
    pieces: list[_Piece] = field(default_factory=list)


def _is_claim(text: str) -> bool:
    """Lead-ins (``…：``), headings and "the survey does not say" make no claim."""
    bare = text.strip().strip("*#>- ").strip()
    if not bare or _WORDLESS.match(bare) or bare.endswith((":", "：")):
        return False
    return not any(bare.startswith(p.rstrip("。.")) for p in not_said_phrases())


def _parse(text: str) -> list[_Line]:
    """The answer as lines of pieces; markers are taken off and kept on the claims.

    A marker opening a line (``[1] 2024 年约 80 篇``, as small models write them) counts
    for every sentence of that line that has none of its own; a marker after a full stop
    (``…事故。 [1] 下一句``) belongs to the sentence it follows."""
    lines: list[_Line] = []
    for raw in text.split("\n"):
        bullet = _BULLET.match(raw)
        prefix = bullet.group() if bullet else ""
        rest = raw[len(prefix) :]
        line_markers: tuple[int, ...] = ()
        lead = _LEADING_MARKERS.match(rest)
        if lead:
            line_markers = tuple(parse_markers(lead.group()))
            rest = rest[lead.end() :]
            again = _BULLET.match(rest)  # "[1] - item"
            if not prefix.strip() and again and again.group(2):
                prefix += again.group()
                rest = rest[again.end() :]
        sentences: list[tuple[str, tuple[int, ...], str]] = []
        for a, b in whole_sentences(rest):
            piece = rest[a:b]
            lead = _LEADING_MARKERS.match(piece)
            if lead and sentences:
                body, own, gap = sentences[-1]
                sentences[-1] = (body, own + tuple(parse_markers(lead.group())), gap)
                piece = piece[lead.end() :]
            if not piece.strip():
                continue
            gap = (
                " "
                if sentences and (piece[:1].isspace() or sentences[-1][0][-1:].isspace())
                else ""
            )
            sentences.append((piece, tuple(parse_markers(piece)), gap))
        line = _Line(prefix)
        for raw, own, gap in sentences:
            stop_at = _END_PUNCT.search(_tidy(MARKER.sub("", raw)))
            stop = stop_at.group() if stop_at else ""
            marked = _tidy(raw)
            if stop and marked.endswith(stop):
                marked = marked[: -len(stop)].rstrip()
            core = _tidy(MARKER.sub("", marked))
            claim = None
            if _is_claim(core) and not _HEADING.match(prefix + core):
                claim = Claim(text=core + stop, markers=own or line_markers)
            inline = marked if MARKER.search(marked) else ""
            line.pieces.append(_Piece(core, stop, claim, gap, inline))
        lines.append(line)
    return lines


def split_claims(text: str) -> list[Claim]:
    """The claims of an answer, in order, each with the markers that apply to it."""
    return [p.claim for line in _parse(text) for p in line.pieces if p.claim is not None]


# --- what a claim states ----------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    value: Decimal
    kind: str
    """``percent``, ``time``, ``scale`` or ``""``: figures of different kinds never match."""


@dataclass(frozen=True)
class Facts:
    """What a claim states that a supporting unit must hold as such."""

    names: tuple[str, ...] = ()
    figures: frozenset[Figure] = frozenset()
    ids: frozenset[str] = frozenset()

    @property
    def count(self) -> int:
        return len(self.names) + len(self.figures) + len(self.ids)


def _zh_number(text: str) -> int | None:
    """Chinese numerals up to the thousands (``十二`` → 12, ``两百`` → 200)."""
    total, current = 0, 0
    for ch in text:
        if ch in _ZH_DIGITS:
            current = _ZH_DIGITS[ch]
        elif ch in _ZH_TENS:
            total += (current or 1) * _ZH_TENS[ch]
            current = 0
        else:
            return None
    return total + current


def _value(number: str) -> Decimal | None:
    """``~80`` → 80, ``1,000`` → 1000, ``两个`` → 2, ``three`` → 3; None for ``一个`` and
    ``one`` (an article more often than a count)."""
    word = number.strip().lower()
    if word in _EN_NUMBERS:
        n = _EN_NUMBERS[word]
        return None if n == 1 else Decimal(n)
    if CJK_CHAR.match(word):
        digits = re.match(r"[一二两三四五六七八九十百千]+", word)
        n = _zh_number(digits.group()) if digits else None
        return None if n is None or n == 1 else Decimal(n)
    match = re.search(r"\d+(?:,\d{3})*(?:\.\d+)?", word)
    if not match:
        return None
    try:
        return Decimal(match.group().replace(",", ""))
    except InvalidOperation:
        return None


def _figures(text: str) -> frozenset[Figure]:
    """The figures of ``text``, with their kind (section numbers and arXiv IDs aside); a
    number written against Chinese characters (``约有80篇``) counts too."""
    out = set()
    cleaned = _SECTION_REF.sub(" ", _ARXIV.sub(" ", LINK_MARK.sub(" ", text)))
    cleaned = _CJK_DIGIT.sub(" ", cleaned)
    at = 0
    for raw in figures(cleaned, "", when=True):
        value = _value(raw)
        found = cleaned.find(raw, at)
        at = found + len(raw) if found >= 0 else at
        if value is None:
            continue
        kind = ""
        if _PERCENT.search(raw):
            kind = "percent"
        elif _SCALE.search(raw):
            kind = "scale"
        elif re.search(r"\d\s?(?:h|s|ms|min)$", raw) or (
            found >= 0 and TIME_UNIT.match(cleaned[at : at + 8].lstrip())
        ):
            kind = "time"
        out.add(Figure(value, kind))
    return frozenset(out)


def claim_names(text: str) -> tuple[str, ...]:
    """The names a claim uses, lower-cased: words spelled as names (a digit, an inner
    capital, all capitals: ``GR-1``, ``ToM``, ``UAV``) and capitalised words inside a
    sentence (``Genie``, ``Kunlun``, ``Craik``); not the first word of a sentence, a list
    item or a clause after a colon (``Medical imaging and diagnostics``), nor framing
    words (``The``, ``Chapter``). ``Sora-level`` names ``Sora``."""
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
        if _SPELLED_AS_NAME.search(word) or (word[0].isupper() and not opening):
            found.append(word.lower())
    return tuple(dict.fromkeys(found))


def _plain(text: str) -> str:
    """A claim as text to read facts from: a link or a copied source label to an arXiv
    paper becomes its ID (the anchor is the paper's title, not something claimed of it),
    other links their anchor, emphasis marks go."""
    text = _SOURCE_LABEL.sub(r" arXiv:\1 ", text)

    def link(match: re.Match) -> str:
        arxiv_id = normalize_arxiv_id(match.group(2))
        return f" arXiv:{arxiv_id} " if arxiv_id else match.group(1)

    return render_inline(MD_LINK.sub(link, text))[0]


def claim_facts(text: str) -> Facts:
    """The names, figures and arXiv IDs a claim states."""
    plain = _plain(text)
    bare = _SECTION_REF.sub(" ", _ARXIV_REF.sub(" ", plain))
    return Facts(
        names=claim_names(bare), figures=_figures(plain), ids=frozenset(_ARXIV.findall(plain))
    )


def claim_terms(text: str, facts: Facts, asked: Sequence[str]) -> list[str]:
    """The claim's content words besides its facts and the question's own terms: what it
    asserts in words."""
    plain = _SECTION_REF.sub(" ", _ARXIV_REF.sub(" ", _plain(text)))
    named = {part for name in facts.names for part in (name, *re.split(r"[-_/+.]", name))}
    skip = set(asked) | named
    return [t for t in _terms(plain) if t not in skip and not any(ch.isdigit() for ch in t)]


def _terms(text: str) -> list[str]:
    """:func:`content_terms` without a compound whose parts are there too (``world-model``
    beside ``world`` and ``model``): one concept counts once."""
    found = content_terms(text)
    have = set(found)
    return [
        t
        for t in found
        if not (
            (parts := [p for p in re.split(r"[-_/+]", t) if p])
            and len(parts) > 1
            and set(parts) <= have
        )
    ]


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z\u3400-\u9fff]+", "", text.lower())


@lru_cache(maxsize=8192)
def _unit_facts(
    unit: Unit, arxiv_id: str | None
) -> tuple[tuple[tuple[str, frozenset[Figure]], ...], frozenset[str]]:
    """What a unit holds: for each reading of it, its text for names (with its heading,
    title, lead and the clause it continues) and its figures (its own, its lead's and
    that clause's); and its IDs. A table row has one reading per slash-separated part of
    its cells when they line up (``SkyReels-V2 / Wan2.1-14B`` with ``83.9% / 83.7%``:
    83.9% is SkyReels-V2's), others one."""
    ids = set(unit.linked) | set(_ARXIV.findall(unit.display))
    if arxiv_id:
        ids.add(arxiv_id)
    context = " ".join(p for p in (unit.before, unit.opening, unit.context, unit.lead_display) if p)
    readings = []
    for shown in _aligned(unit):
        lead = " ".join(p for p in (unit.before, unit.lead_display) if p)
        readings.append((f"{context} {shown}".lower(), _figures(f"{lead} {shown}")))
    return tuple(readings), frozenset(ids)


def _parts(cell: str) -> list[str]:
    """A cell's slash-separated parts; a part that starts with a number takes the words
    the first part puts before its number (``VBench 83.9% / 83.7%``: both are VBench)."""
    parts = [p.strip() for p in cell.split(" / ")]
    label = re.match(r"^[^\d]*?(?=\d)", parts[0])
    if label and label.group().strip():
        parts = [parts[0], *(label.group() + p if p[:1].isdigit() else p for p in parts[1:])]
    return parts


def _aligned(unit: Unit) -> list[str]:
    """A row's readings: one per slash-separated part when two or more of its cells split
    into the same number of parts, each cell giving its part (or the whole cell, for
    cells that do not split); the unit's text otherwise."""
    if unit.kind != "row" or not unit.cells:
        return [unit.display]
    parts = [_parts(value) for _, value in unit.cells]
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


@lru_cache(maxsize=4)
def _gloss_words(lexicon: Lexicon) -> dict[str, frozenset[str]]:
    """English stem → the corpus's Chinese words with a gloss of one or two words holding
    it (决策 "strategic decision" for ``decision``): a claim paraphrases, it does not
    quote the dictionary's phrase."""
    out: dict[str, set[str]] = {}
    for zh, glosses in lexicon.zh_to_en.items():
        for gloss in glosses:
            for stem in gloss:
                out.setdefault(stem, set()).add(zh)
    return {stem: frozenset(words) for stem, words in out.items()}


def _information(word: str) -> float:
    """How much a word says: ``9 - Zipf`` (``come`` 3.2, ``scarce`` 5, ``deepfake`` 9)."""
    return max(1.0, _INFORMATION - everyday_frequency(word))


# --- which units hold which words ---------------------------------------------------------------


class TermIndex:
    """Which candidate units hold which terms, in either language: a Chinese term by its
    characters or an English gloss of it (the corpus lexicon's, else the whole
    dictionary's), an English term by its word, its stem or a Chinese word the lexicon
    glosses by it. A term weighs by how few candidates hold it (a local IDF): what every
    retrieved unit says tells none of them apart."""

    def __init__(self, units: Sequence[Unit], lexicon: Lexicon | None) -> None:
        self.lexicon = lexicon
        self.texts = [unit.about.lower() for unit in units]
        self.tokens = [frozenset(terms(text)) for text in self.texts]
        self.stems = [frozenset(stem_words(text)) for text in self.texts]
        self.chinese = [bool(CJK_CHAR.search(unit.display)) for unit in units]
        self._held: dict[str, frozenset[int]] = {}

    def prepare(self, words: Sequence[str], loose: bool = False) -> None:
        """Find the units holding each of ``words`` (translated together: an English term
        may translate as a pair with its neighbour). ``loose``: an English word also meets
        a Chinese word one of whose two-word glosses holds it (a claim's words, which
        paraphrase; not a question's, which rank units against each other)."""
        todo = [w for w in dict.fromkeys(words) if w not in self._held]
        forms = dict(self.lexicon.translations(todo)) if self.lexicon else {}
        glossed = _gloss_words(self.lexicon) if self.lexicon and loose else {}
        for word in todo:
            other = forms.get(word, frozenset())
            if not word.isascii() and len(word) > 1:
                other = other | dictionary_glosses(word)
            elif word.isascii() and len(stems := stem_words(word)) == 1:
                other = other | glossed.get(stems[0], frozenset())
            own = set(stem_words(word)) if word.isascii() else set()
            literal = len(word) > 2 or not word.isascii()
            held = set()
            for n, text in enumerate(self.texts):
                if word in self.tokens[n] or (literal and word in text):
                    held.add(n)
                elif word.isascii():
                    if (own and own <= self.stems[n]) or any(zh in text for zh in other):
                        held.add(n)
                elif not other.isdisjoint(self.stems[n]):
                    held.add(n)
            self._held[word] = frozenset(held)

    def holds(self, n: int, word: str) -> bool:
        return n in self._held[word]

    def weight(self, word: str) -> float:
        weight = math.log((len(self.texts) + 1) / (len(self._held[word]) + 0.5))
        return weight * 0.3 if len(word) == 1 and CJK_CHAR.match(word) else weight

    def coverage(self, n: int, words: Sequence[str]) -> float:
        """Weighted share of ``words`` unit ``n`` holds, leaving out the words no
        candidate holds (a question's words that no source uses tell nothing apart)."""
        total = got = 0.0
        for word in words:
            if not self._held[word]:
                continue
            weight = self.weight(word)
            total += weight
            if self.holds(n, word):
                got += weight
        return got / total if total else 1.0


# --- support ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """How much of a claim and of the question a supporting unit must hold."""

    assertion: float = 0.5
    """Share of what the claim states (its facts and words, by information)."""
    about: float = 0.5
    """Share of the best question-term coverage among comparable candidate units."""


@dataclass
class Support:
    """A unit holding a claim's facts, and how well it backs the claim."""

    unit: Unit
    hit: Hit
    assertion: float
    """Share of what the claim states (facts and words, by information) the unit holds."""
    about: float
    """The unit's question-term coverage over the best comparable one's."""
    ok: bool
    similarity: float = 0.0
    """Embedding similarity to the claim (breaks ties between equal supports)."""


@dataclass
class Verdict:
    """The check's conclusion on one claim."""

    claim: Claim
    support: Support | None
    """The supporting unit, when one was found."""
    before: int | None = None
    """The claim's first marker as written (None: it had none)."""
    after: int | None = None
    """Its source's position in the checked answer's hits (None: unsupported)."""

    @property
    def supported(self) -> bool:
        return self.support is not None

    @property
    def status(self) -> str:
        if self.support is None:
            return "unsupported"
        if self.before is None:
            return "added"
        return "supported" if self.before == self.after else "repointed"


class ClaimChecker:
    """Finds, for each claim, the unit of the candidate sources that supports it.

    ``hits`` are the sources the answer was written from (its markers count them);
    ``extra`` are further chunks that may support a claim (the siblings of those hits,
    which the answer stage ranks sentences of too); one that does is cited after them."""

    def __init__(
        self,
        question: str,
        hits: Sequence[Hit],
        scorer: UnitScorer,
        extra: Sequence[Hit] = (),
        thresholds: Thresholds | None = None,
    ) -> None:
        self.question = question
        self.hits = list(hits)
        seen = {h.chunk.id for h in self.hits}
        self.extra = [h for h in extra if h.chunk.id not in seen]
        self.scorer = scorer
        self.limits = thresholds or Thresholds()
        self.units: list[tuple[Unit, Hit]] = [
            (unit, hit)
            for hit in (*self.hits, *self.extra)
            for unit in chunk_units(hit.chunk)
            if unit.kind != "byline"
        ]
        self.index = TermIndex([u for u, _ in self.units], scorer.lexicon)
        self.qterms = [t for t in _terms(question) if not _is_section(t)]
        self.index.prepare(self.qterms)
        self._vectors: np.ndarray | None = None
        self.about = self._about()
        self.nearest = self._nearest()

    def _about(self) -> list[float]:
        """Each unit's coverage of the question's terms over the best one's: the best of
        all units for a unit in the question's language, the best in its own language for
        the others (a dictionary bridges languages less well than a shared word does)."""
        coverage = [self.index.coverage(n, self.qterms) for n in range(len(self.units))]
        asked = bool(CJK_CHAR.search(self.question))
        best = {asked: max(coverage, default=0.0)}
        best[not asked] = max(
            (c for c, z in zip(coverage, self.index.chinese, strict=True) if z != asked),
            default=0.0,
        )
        return [
            c / best[z] if best[z] > 0 else 1.0
            for c, z in zip(coverage, self.index.chinese, strict=True)
        ]

    def _nearest(self) -> int | None:
        """The unit in the other language than the question's that the embedder finds
        closest to it: about what it asks, whatever words the dictionary misses (``near
        term`` for 短期)."""
        asked = bool(CJK_CHAR.search(self.question))
        other = [n for n, z in enumerate(self.index.chinese) if z != asked]
        if not other:
            return None
        sims = self._similarity(self.question)
        return max(other, key=lambda n: float(sims[n]))

    def relevant(self, n: int) -> bool:
        """Whether unit ``n`` is about what the question asks."""
        return self.about[n] >= self.limits.about or n == self.nearest

    def supports(self, claim: Claim) -> list[Support]:
        """Every candidate unit holding the claim's facts, best first, with the verdict of
        each (``ok``)."""
        facts = claim_facts(claim.text)
        words = claim_terms(claim.text, facts, self.qterms)
        if not words and not facts.count:
            return []  # it restates the question: nothing to check
        self.index.prepare(words, loose=True)
        stated = _INFORMATION * facts.count
        weights = [_information(w) for w in words]
        everything = stated + sum(weights)
        out = []
        near = self._similarity(claim.text)
        for n, (unit, hit) in enumerate(self.units):
            if not _holds(facts, unit, hit, self.scorer):
                continue
            held = stated
            for word, weight in zip(words, weights, strict=True):
                if self.index.holds(n, word):
                    held += weight
            assertion = held / everything
            ok = assertion >= self.limits.assertion and self.relevant(n)
            out.append(Support(unit, hit, assertion, self.about[n], ok, float(near[n])))
        out.sort(key=lambda s: (s.ok, round(s.assertion, 2), s.similarity), reverse=True)
        return out

    def _similarity(self, text: str) -> np.ndarray:
        """Each unit's embedding similarity to ``text``: which of the units that back a
        claim equally well says it most nearly (the paper's abstract, not the survey
        sentence linking it, for a claim about what the paper does)."""
        if self._vectors is None:
            self._vectors = self.scorer.vectors.get([u.scoring_text for u, _ in self.units])
        return self._vectors @ self.scorer.query_vector(_plain(text))

    def verdict(self, claim: Claim) -> Verdict:
        """Supported by a source it cites, else by another candidate source, else not."""
        found = [s for s in self.supports(claim) if s.ok]
        before = claim.markers[0] if claim.markers else None
        if not found:
            return Verdict(claim, None, before, None)
        position = {h.chunk.id: n for n, h in enumerate((*self.hits, *self.extra), 1)}
        for support in found:
            if position[support.hit.chunk.id] in claim.markers:
                return Verdict(claim, support, before, position[support.hit.chunk.id])
        return Verdict(claim, found[0], before, position[found[0].hit.chunk.id])


@lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern:
    """``name`` as a whole word of a lower-cased text, whatever separates its parts
    (``V-JEPA 2-AC`` meets ``v-jepa2-ac``; ``wm`` does not meet ``dwm``, nor ``agi``
    ``imagination``); a plural ``s`` aside."""
    chars = [re.escape(c) for c in _squash(name)]
    body = r"[\s\-_./·]*".join(chars)
    return re.compile(rf"(?<![a-z0-9]){body}s?(?![a-z0-9])")


def _is_section(term: str) -> bool:
    return bool(re.fullmatch(r"\d+(?:\.\d+)+", term))


def _name_found(name: str, held: str, unit: Unit, scorer: UnitScorer) -> bool:
    """A claim's name in a unit: as written (case, spaces and hyphens aside), as a Chinese
    word the lexicon translates it by (``Tencent`` 腾讯), or as the pinyin of Chinese
    characters there (``Kunlun`` 昆仑)."""
    about = unit.about
    if _name_pattern(name).search(held):
        return True
    if any(word in about for word in scorer.translations([name]).get(name, ())):
        return True
    return len(name) > 2 and name.isalpha() and romanises(name, about)


def _holds(facts: Facts, unit: Unit, hit: Hit, scorer: UnitScorer) -> bool:
    """Whether one reading of the unit holds every figure, ID and name of the claim."""
    arxiv_id = hit.chunk.arxiv_id if hit.chunk.kind == "abstract" else None
    readings, ids = _unit_facts(unit, arxiv_id)
    if not facts.ids <= ids:
        return False
    return any(
        all(any(f.value == g.value and _kinds_agree(f, g) for f in numbers) for g in facts.figures)
        and all(_name_found(name, held, unit, scorer) for name in facts.names)
        for held, numbers in readings
    )


def _kinds_agree(a: Figure, b: Figure) -> bool:
    return not a.kind or not b.kind or a.kind == b.kind


# --- the check --------------------------------------------------------------------------------


@dataclass
class CheckedAnswer:
    """An answer after the claim check."""

    text: str
    hits: list[Hit]
    """The sources its markers count: those it was written from, then any sibling chunk
    a claim was re-pointed to."""
    citations: list[Citation] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    grounded: float = 0.0
    unsupported: list[str] = field(default_factory=list)
    repaired: list[Repair] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    """Marker numbers that pointed at no source."""

    @property
    def claims(self) -> int:
        return len(self.verdicts)

    @property
    def supported(self) -> int:
        return sum(v.supported for v in self.verdicts)


def check_claims(
    text: str,
    question: str,
    hits: Sequence[Hit],
    scorer: UnitScorer,
    extra: Sequence[Hit] = (),
    thresholds: Thresholds | None = None,
) -> CheckedAnswer:
    """Check every claim of ``text`` (markers numbered after ``hits``), repair markers
    where another candidate source supports the claim, and rewrite the answer: each
    supported claim followed by its marker, renumbered ``[1]``, ``[2]``… in order of first
    use, and each unsupported claim without one."""
    checker = ClaimChecker(question, hits, scorer, extra, thresholds)
    sources = [*checker.hits, *checker.extra]
    lines = _parse(text)
    removed = sorted(
        {n for line in lines for p in line.pieces if p.claim for n in p.claim.markers}
        - set(range(1, len(hits) + 1))
    )
    verdicts: list[Verdict] = []
    order: list[int] = []
    quotes: dict[int, list[str]] = {}
    out_lines = []
    for line in lines:
        parts = []
        for piece in line.pieces:
            verdict = checker.verdict(piece.claim) if piece.claim else None
            if verdict is not None:
                verdicts.append(verdict)
            if verdict is None or verdict.support is None:
                parts.append(piece.shown(None))
                continue
            source = verdict.after or 0
            if source not in order:
                order.append(source)
            said = quotes.setdefault(source, [])
            if verdict.support.unit.display not in said:
                said.append(verdict.support.unit.display)
            parts.append(piece.shown(order.index(source) + 1))
        out_lines.append((line.prefix + "".join(parts)).rstrip())
    final_hits = list(checker.hits) + [sources[n - 1] for n in order if n > len(checker.hits)]
    position = {h.chunk.id: n for n, h in enumerate(final_hits, 1)}
    citations = []
    for new, source in enumerate(order, 1):
        said = quotes[source]
        citation = make_citation(new, sources[source - 1], said[0])
        citations.append(citation.model_copy(update={"quotes": tuple(said)}))
    renumber = {source: new for new, source in enumerate(order, 1)}
    repaired = []
    for v in verdicts:
        if v.status in ("added", "repointed"):
            repaired.append(Repair(claim=v.claim.text, before=v.before, after=renumber[v.after]))  # type: ignore[index]
        if v.after is not None:
            v.after = position[sources[v.after - 1].chunk.id]
    supported = sum(v.supported for v in verdicts)
    return CheckedAnswer(
        text="\n".join(out_lines).strip(),
        hits=final_hits,
        citations=citations,
        verdicts=verdicts,
        grounded=supported / len(verdicts) if verdicts else 0.0,
        unsupported=[v.claim.text for v in verdicts if not v.supported],
        repaired=repaired,
        removed=removed,
    )
