"""Does the evidence hold the kind of answer the question asks for?

Similarity cannot tell a near miss from an answer: "What success rate did X reach?"
matches a sentence about X just as well when that sentence gives no rate. Classic QA
systems check the expected answer type; this module does so for the types that a
sentence can be checked for without a model:

- a *figure* ("how many", "what score", 多少, 多大): some sentence that would be quoted
  must hold a number (digits or a number word, not one the question itself contains,
  and not a year or date unless the question asks when) next to one of the things the
  question names (``DreamZero``, ``V-JEPA 2-AC``), when it names any, and not in a
  clause that gives it to something else ("DreamZero 的 500h 数据和 FLARE 的 95.1% 成功率"
  holds no success rate of DreamZero's);
- a *percentage* ("what accuracy", 成功率, 多少个百分点): that number must be a
  percentage;
- a *name* ("what is it called", 叫什么名字): some sentence must name something (a
  capitalised or alphanumeric word, or a linked paper) the question does not.

A question of none of these types is never refused here. The patterns are about how
questions ask, in either language, not about any corpus.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..text import EN_STOPWORDS
from .units import Unit

AnswerType = Literal["figure", "percentage", "name"]

_EN_FIGURE = re.compile(
    r"\bhow (?:many|much|large|big|long|fast|high|old|often)\b"
    r"|\bwhat (?:[\w-]+ ){0,3}?(?:score|rate|accuracy|percentage|number|size|resolution|count"
    r"|speed|cost|ratio|share|proportion|fps|latency|batch size|learning rate)s?\b",
    re.IGNORECASE,
)
_ZH_FIGURE = re.compile(
    r"多少|(?<!哪)几[个篇项年倍种位次层类款家]|多大|多高|多长|多快|多久|百分之几"
)
"""``哪几个步骤`` asks which steps, not how many."""
_PERCENT_ASKED = re.compile(
    r"百分点|百分比|百分之|准确率|成功率|胜率|\bpercent(?:age)?\b|\baccuracy\b|\bsuccess rate\b",
    re.IGNORECASE,
)
_NAME_ASKED = re.compile(
    r"名字|名称|叫什么|\bcalled\b|\bnamed?\b|\bnames of\b|\btitles? of\b", re.IGNORECASE
)
_WHEN_ASKED = re.compile(r"\bwhen\b|\bwhich year\b|\bwhat year\b|哪一?年|何时|什么时候|哪个月")

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?"
    "|thousands?|millions?|billions?"
)
_UNITS = r"(?:[KMBTkmbt]|h|s|ms|min|fps|px|p|x|×|GB|MB|TB|GPU|M?Hz)"
"""Magnitude and unit suffixes (``9B``, ``500h``, ``1080p``); not ``3D``, which names."""
_NUMBER = re.compile(
    r"(?<![\w.-])[~≈约]?\d+(?:[.,]\d+)*(?:\s?(?:%|％|百分点|percent)|" + _UNITS + r")?(?![\w-])"
    r"|\b(?:" + _NUMBER_WORDS + r")\b"
    r"|[一二三四五六七八九十两百千万亿]+\s?[个篇项种类倍位次层款家成]",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d+(?:\.\d+)*")
_DATE = re.compile(r"^(?:19|20)\d\d(?:[./-]\d{1,2})?$")
_PERCENT = re.compile(r"%|％|百分点|percent", re.IGNORECASE)
_LATIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*[A-Za-z0-9+]")
_CLAUSE_BREAK = re.compile(
    r"[，；;。！？!?]|,(?!\d)|以及|并且|而且|[和与及而但]|\b(?:and|while|whereas|but|whilst)\b",
    re.IGNORECASE,
)
"""Where a sentence moves on to another clause, and maybe to another subject."""
_LEADING_NAME = re.compile(r"^[\s\W_]*([A-Za-z0-9][A-Za-z0-9.+-]*[A-Za-z0-9+]|[A-Z])")
_ARXIV = re.compile(r"\(arXiv:[^)]*\)")
_FRAMING = EN_STOPWORDS | frozenset(
    """chapter survey paper papers section model models work works roughly approximately
    according""".split()
)


@dataclass(frozen=True)
class Expectation:
    """What a question asks for, and what it names."""

    kind: AnswerType | None
    names: tuple[str, ...] = ()
    when: bool = False
    measure: str | None = None
    """The metric a figure must be given in (``fvd`` for "what FVD does X reach")."""


def names_in(text: str) -> tuple[str, ...]:
    """The names a text uses: Latin words with a capital or a digit (``DreamZero``,
    ``GR-1``, ``Genie``) that are not framing words (``What``, ``Chapter``); lower-cased,
    in order."""
    found = []
    for word in _LATIN_NAME.findall(text):
        lower = word.lower()
        if lower in _FRAMING:
            continue
        if any(c.isalpha() for c in word) and any(c.isdigit() or c.isupper() for c in word):
            found.append(lower)
    return tuple(dict.fromkeys(found))


_POSSESSIVE = re.compile(r"['’]s\b")
_PROPER = re.compile(r"\d|[a-z][A-Z]|^[A-Z][A-Z0-9.+-]*[A-Z0-9+]$")
_ARXIV_ID = re.compile(r"(?:arxiv:?\s*)?\b\d{4}\.\d{4,5}(?:v\d+)?\b|https?://\S+", re.IGNORECASE)


def proper_names(text: str) -> tuple[str, ...]:
    """The words of ``text`` that are names: with a digit, an inner capital or in
    capitals (``GR00T``, ``DreamZero``, ``TCP``), or capitalised and owning something
    (``Rust's borrow checker``, ``Tencent's model``); not figures (``500h``) nor arXiv IDs.
    Other capitalised words are not taken for names: ``Publication``, ``Long-term`` and
    ``Alibaba`` (written 阿里 in the survey) are capitalised as often as ``Rust``."""
    found = []
    cleaned = _ARXIV_ID.sub(" ", text)
    for match in _LATIN_NAME.finditer(cleaned):
        word = match.group()
        if word.lower() in _FRAMING or _NUMBER.fullmatch(word):
            continue
        if not any(c.isalpha() for c in word):
            continue
        owner = word[0].isupper() and _POSSESSIVE.match(cleaned, match.end()) is not None
        if _PROPER.search(word) or owner:
            found.append(word)
    return tuple(dict.fromkeys(found))


def capitalised(text: str) -> tuple[str, ...]:
    """Every capitalised word of ``text`` but framing words (``Genie``, ``World``): what
    a question may name, though also what it merely capitalises."""
    words = (w for w in _LATIN_NAME.findall(_ARXIV_ID.sub(" ", text)) if w[0].isupper())
    return tuple(dict.fromkeys(w for w in words if w.lower() not in _FRAMING))


_WHAT_METRIC = re.compile(r"\bwhat ([A-Za-z][A-Za-z0-9-]*) (?:does|did|do|is|was)\b", re.IGNORECASE)


def _metric(word: str) -> bool:
    """``FVD``, ``mAP``, ``mIoU``, ``L2`` (mostly capitals, or a letter and a digit), not
    ``DreamZero``: "what FVD does X reach" asks for a figure."""
    letters = [c for c in word if c.isalpha()]
    upper = sum(c.isupper() for c in letters)
    return bool(re.fullmatch(r"[A-Za-z]\d+", word)) or (upper >= 2 and 2 * upper >= len(letters))


def expectation(question: str) -> Expectation:
    """The answer type ``question`` asks for (None: none this module checks)."""
    names = names_in(question)
    if _NAME_ASKED.search(question):
        return Expectation("name", names)
    metric = _WHAT_METRIC.search(question)
    if metric and _metric(metric.group(1)):
        measure = metric.group(1).lower()
        names = tuple(n for n in names if n != measure)
        return Expectation("figure", names, bool(_WHEN_ASKED.search(question)), measure)
    if _EN_FIGURE.search(question) or _ZH_FIGURE.search(question):
        kind: AnswerType = "percentage" if _PERCENT_ASKED.search(question) else "figure"
        return Expectation(kind, names, when=bool(_WHEN_ASKED.search(question)))
    return Expectation(None, names)


def figures(text: str, question: str, when: bool = False) -> list[str]:
    """Numbers in ``text`` that the question does not already contain (nor years and
    dates, unless the question asks when)."""
    asked = set(_DIGITS.findall(question))
    out = []
    for match in _NUMBER.finditer(_ARXIV.sub(" ", text)):
        digits = _DIGITS.findall(match.group())
        if digits and (digits[0] in asked or (not when and _DATE.match(digits[0]))):
            continue
        out.append(match.group().strip())
    return out


@dataclass(frozen=True)
class Clause:
    """A stretch of a sentence between clause breaks, with whom it is about."""

    text: str
    names: frozenset[str]
    subjects: frozenset[str]
    """The names that open this clause or the latest one that opened with a name
    (co-ordinated ones together: "FLARE 和 DreamZero 分别达到 …")."""


def clauses(text: str) -> list[Clause]:
    """``text`` cut at clause breaks; a clause that opens with a name spelled as one
    (``FLARE``, ``DreamZero``, ``GR-1``; not a capitalised first word such as ``Trained``)
    makes it the subject of what follows, joining the previous subject when the clause
    before held nothing but names."""
    out: list[Clause] = []
    subjects: frozenset[str] = frozenset()
    bare = False
    for part in _CLAUSE_BREAK.split(text):
        if not part.strip():
            continue
        names = frozenset(names_in(part))
        lead = _LEADING_NAME.match(part)
        word = lead.group(1) if lead else ""
        opener = names_in(word) if _PROPER.search(word) and not _NUMBER.fullmatch(word) else ()
        if opener:
            subjects = (subjects | set(opener)) if bare else frozenset(opener)
        rest = _LATIN_NAME.sub(" ", part)
        bare = bool(names) and not re.search(r"[^\s\W_]", rest)
        out.append(Clause(part, names, subjects))
    return out


def attributed(clause: Clause, names: Sequence[str], measure: str | None = None) -> bool:
    """Whether a figure in ``clause`` may belong to one of the question's ``names``: the
    clause names one of them, or has no subject, or one of them is its subject (the
    metric asked for is no subject: ``FVD 为 89.4``)."""
    if not names:
        return True
    wanted = set(names)
    subjects = clause.subjects - {measure}
    return bool(clause.names & wanted) or not subjects or bool(subjects & wanted)


def _in_measure(shown: str, kind: str, measure: str | None) -> str:
    """A table row's cells under the asked metric's column (``FVD↓: —``), else ``shown``:
    the other cells' figures are in other metrics."""
    if kind != "row" or not measure:
        return shown
    cells = [cell for cell in shown.split(" · ") if measure in cell.split(":")[0].lower()]
    return "；".join(cells)


def answered(question: str, units: Sequence[Unit]) -> bool:
    """Whether ``units`` (what the answer would quote) hold the type of answer asked for."""
    expected = expectation(question)
    if expected.kind is None:
        return True
    for unit in units:
        shown = unit.shown_with_lead()
        if expected.kind == "name":
            new = set(names_in(_ARXIV.sub(" ", shown))) - set(expected.names)
            if new or unit.linked:
                return True
            continue
        context = f"{unit.before} {unit.scoring_text}".lower()
        if expected.names and not any(name in context for name in expected.names):
            continue
        for clause in clauses(_in_measure(shown, unit.kind, expected.measure)):
            if not attributed(clause, expected.names, expected.measure):
                continue
            if expected.measure and expected.measure not in clause.text.lower():
                continue
            found = figures(clause.text, question, expected.when)
            if expected.kind == "percentage":
                found = [f for f in found if _PERCENT.search(f)]
            if found:
                return True
    return False
