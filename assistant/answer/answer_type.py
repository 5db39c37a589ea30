"""Does the evidence hold the kind of answer the question asks for?

Similarity cannot tell a near miss from an answer: "What success rate did X reach?" matches
a sentence about X just as well when it gives no rate. As classic QA systems do, this
module checks the expected answer type (:data:`AnswerType`) where a sentence can be checked
without a model: a figure is a number the question does not give, not a year, in a clause
about what the question names; a count in a unit of its own (GPUs, memory) holds that unit.
Other questions are never refused here. The patterns are how questions ask, in either
language, not about any corpus (docs/answers.md has examples).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from assistant.answer.makers import ORGANISATION_ASKED, credits_maker
from assistant.answer.rules import on
from assistant.answer.units import LINK_MARK, Unit, mentions
from assistant.text import CJK_CHAR, FRAMING, LATIN_NAME, names_in

AnswerType = Literal[
    "figure",
    "percentage",
    "duration",
    "date",
    "names",
    "license",
    "authors",
    "comparison",
    "devices",
    "memory",
    "distance",
    "steps",
    "people",
    "availability",
    "organisation",
]

_EN_FIGURE = re.compile(
    r"\bhow (?:many|much|large|big|long|fast|high|old|often|far off)\b"
    r"|\bwhat (?:[\w-]+ ){0,3}?(?:score|rate|accuracy|percentage|number|size|resolution|count"
    r"|speed|cost|ratio|share|proportion|fps|latency|batch size|learning rate|frequency"
    r"|throughput|bandwidth|budget|error|correlation)s?\b",
    re.IGNORECASE,
)
_ZH_FIGURE = re.compile(
    r"多少|(?<!哪)几[个篇项年倍种位次层类款家]|多大|多高|多长|多快|多久|百分之几"
)
"""``哪几个步骤`` asks which steps, not how many."""
_PERCENT_ASKED = re.compile(
    r"百分点|百分比|百分之|准确率|成功率|胜率|比例|占比|\bpercent(?:age)?\b|\baccuracy\b"
    r"|\bsuccess rate\b|\bproportion\b|\bshare of\b|\bfraction\b",
    re.IGNORECASE,
)
_LATIN_HOURS = {
    **dict.fromkeys(("years", "year", "yrs", "yr"), 8760.0),
    **dict.fromkeys(("months", "month"), 730.0),
    **dict.fromkeys(("weeks", "week", "wks", "wk"), 168.0),
    **dict.fromkeys(("days", "day", "d"), 24.0),
    **dict.fromkeys(("hours", "hour", "hrs", "hr", "h"), 1.0),
    **dict.fromkeys(("minutes", "minute", "mins", "min"), 1 / 60),
    **dict.fromkeys(("seconds", "second", "secs", "sec", "s"), 1 / 3600),
    **dict.fromkeys(("milliseconds", "millisecond", "ms"), 1 / 3.6e6),
}
_CJK_HOURS = {
    "年": 8760.0,
    "个月": 730.0,
    "周": 168.0,
    "星期": 168.0,
    "天": 24.0,
    "小时": 1.0,
    "钟头": 1.0,
    "分钟": 1 / 60,
    "秒": 1 / 3600,
    "毫秒": 1 / 3.6e6,
}
"""``3 个月`` is a span, ``10 月`` a month of the year."""
HOURS = {**_LATIN_HOURS, **_CJK_HOURS}
"""Units of time and their length in hours: what a duration is written in (``500h``,
``3 天``) and how table cells in different units are compared."""


def _alternation(words) -> str:
    """A regex alternation trying longer words first (``ms`` before ``s``)."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_TIME_UNITS_ZH = r"(?:个)?(?:" + _alternation(_CJK_HOURS) + ")"
_TIME_UNITS_EN = r"(?:" + _alternation(_LATIN_HOURS) + ")"
TIME_UNIT = re.compile(_TIME_UNITS_ZH + "|" + _TIME_UNITS_EN + r"(?![A-Za-z])", re.IGNORECASE)
"""A unit of time written after a number."""
_DURATION_ASKED = re.compile(
    r"多长时间|多久|(?:多少|(?<!哪)几)(?:" + _TIME_UNITS_ZH + r")(?!代|前|级)"
    r"|\bhow many (?:[A-Za-z-]+ )?(?:hours|days|minutes|seconds|weeks|months|years)\b"
    r"|\bhow long (?:does|did|do|will|would|is|was)\b[^?？]*\b(?:take|took|train|trained|last"
    r"|run|ran)\b|\bhow long (?:to|did it take|does it take)\b",
    re.IGNORECASE,
)
"""Asks for a span of time. Not 多少年代, nor "how long is the context" (tokens)."""
_DAY_ASKED = re.compile(
    r"哪一天|哪天|什么日期|哪个日期|几月几[日号]|具体日期|\bwhat date\b|\bwhich (?:date|day)\b"
    r"|\bon what day\b|\bexact date\b",
    re.IGNORECASE,
)
_LICENSE_ASKED = re.compile(r"许可证?|授权协议|开源协议|\blicen[cs]e[ds]?\b", re.IGNORECASE)
_AUTHORS_ASKED = re.compile(
    r"第一作者|通讯作者|作者是谁|作者有哪些|哪些作者|哪位作者|谁写的|\bwho (?:wrote|authored)\b"
    r"|\b(?:first|lead|last|senior|corresponding) author\b|\b(?:name|list) the authors\b"
    r"|\bwho (?:is|are|was|were) the (?:\w+ )?authors?\b",
    re.IGNORECASE,
)
"""Asks who wrote a paper; not "what do the authors see as …"."""
_COMPARISON_ASKED = re.compile(
    r"相比|比较|对比|哪一?个[^？?]*更|谁[^？?]*更|还是|\bcompared? (?:to|with)\b|\bversus\b"
    r"|\bvs\.?(?=\s)|\b(?:better|worse|higher|lower|faster|slower|larger|smaller|more|less)\b"
    r"[^?]*\bthan\b|\bwhich (?:one |of (?:the|them) )?(?:is|was|has|does|performs|scores)\b"
    r"[^?]*\b(?:better|worse|higher|lower|faster|slower|larger|smaller|more|less|best)\b",
    re.IGNORECASE,
)
"""Asks which of two things does better; only checked when it names two."""
_WHEN_ASKED = re.compile(
    r"(?:^|[,;:]\s*)when\b|\bwhen (?:was|were|did|does|do|is|are|will|has|have|had)\b"
    r"|\b(?:which|what|in which) (?:year|month)\b|哪一?年|何时|什么时候|哪个月",
    re.IGNORECASE,
)
"""Asks when; not "what happens when policies are deployed"."""
_MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DAY = re.compile(
    r"\b(?:19|20)\d\d[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])\b"
    r"|(?:[01]?\d|十[一二]?|[一二三四五六七八九])\s*月\s*(?:[0-3]?\d|[一二三]?十[一二三四五六七八九]?|[一二三四五六七八九])\s*[日号]"
    r"|\b" + _MONTHS + r"\s+[0-3]?\d(?:st|nd|rd|th)?\b|\b[0-3]?\d\s+" + _MONTHS,
)
_YEAR_OR_DATE = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)|\b" + _MONTHS + r"(?=\s|\d|$)|\d{1,2}\s*月")
_DURATION = re.compile(
    r"(?<![A-Za-z0-9.])(?:\d+(?:[.,]\d+)*|[一二三四五六七八九十两百千万几数半]+)\s*(?:-\s*)?"
    r"(?:" + _TIME_UNITS_ZH + r"|" + _TIME_UNITS_EN + r"(?![A-Za-z]))"
    r"|(?<![A-Za-z0-9.])\d+(?:[.,]\d+)*\s*(?:GPU|TPU)[- ]?(?:hours?|days?)\b",
    re.IGNORECASE,
)
_LICENSE = re.compile(
    _LICENSE_ASKED.pattern
    + r"|\b(?:MIT|Apache|GPL|LGPL|AGPL|BSD|MPL|CC[- ]BY|CC0|OpenRAIL|RAIL)\b|Creative Commons",
    re.IGNORECASE,
)
_AVAILABILITY_ASKED = re.compile(
    r"代码(?:是否|有没有|在哪|开源|公开|地址|仓库)|(?:是否|有没有)开源|开源了吗|源码|预训练权重|模型权重"
    r"|\bgithub\b|\brepo(?:sitory)?\b|\bis (?:the |its |their )?code\b|\bcode (?:is )?(?:available"
    r"|released|open[- ]sourced?)\b|\bwhere can i (?:find|download|get)\b|\bcheckpoints?\b"
    r"|\bweights (?:available|released|public)",
    re.IGNORECASE,
)
"""Asks whether or where code or weights can be had."""
WEB_ADDRESS = re.compile(r"https?://(?!arxiv\.org)", re.IGNORECASE)
"""A web address other than arXiv's: where code, weights or a project page are."""
_AVAILABILITY = re.compile(
    r"github|gitlab|hugging\s?face|" + WEB_ADDRESS.pattern + r"|代码|源码|开源|权重|open[- ]sourc"
    r"|publicly (?:available|released)|\bcode\b"
    r"|\brelease[sd]?\b[^.。]*\b(?:weights|checkpoints?)\b",
    re.IGNORECASE,
)

COUNT_WORDS = "two|three|four|five|six|seven|eight|nine|ten"
_EN_NUMBERS = {w: n for n, w in enumerate(f"zero|one|{COUNT_WORDS}|eleven|twelve".split("|"))}
_ZH_DIGITS = {c: n for n, c in enumerate("零一二三四五六七八九")} | {"两": 2}
_ZH_TENS = {"十": 10, "百": 100, "千": 1000}
_NUMBER_WORDS = (
    "one|" + COUNT_WORDS + "|eleven|twelve|dozens?|hundreds?|thousands?|millions?|billions?"
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
PERCENT = re.compile(r"%|％|百分点|percent", re.IGNORECASE)
_MONTH = re.compile(r"\s*月")
"""After a number, the month of a date (``12 月``), not a figure (``3 个月`` is one)."""
_CLAUSE_BREAK = re.compile(
    r"[，；;。！？!?]|,(?!\d)|以及|并且|而且|[和与及而但]|\b(?:and|while|whereas|but|whilst)\b",
    re.IGNORECASE,
)
"""Where a sentence moves on to another clause, and maybe to another subject."""
_LEADING_NAME = re.compile(r"^[\s\W_]*([A-Za-z0-9][A-Za-z0-9.+-]*[A-Za-z0-9+]|[A-Z])")


@dataclass(frozen=True)
class Expectation:
    """What a question asks for, and what it names."""

    kind: AnswerType | None
    names: tuple[str, ...] = ()
    when: bool = False
    measure: str | None = None
    """The metric a figure must be given in (``fvd`` for "what FVD does X reach")."""
    compared: tuple[str, ...] = ()
    """The two or more things a comparison question weighs against each other."""
    also: tuple[AnswerType, ...] = ()
    """Further kinds the answer must hold: the unit a count comes in (``devices`` for
    "多少块 GPU"), who built it ("which company built X, and how big is it")."""
    listed: int = 0
    """How many things the question asks the names of ("两篇论文分别叫什么" → 2)."""


_POSSESSIVE = re.compile(r"['’]s\b")
PROPER = re.compile(r"\d|[a-z][A-Z]|^[A-Z][A-Z0-9.+-]*[A-Z0-9+]$")
_URL = re.compile(r"https?://\S+")
_ARXIV_ID = re.compile(r"(?:arxiv:?\s*)?\b\d{4}\.\d{4,5}(?:v\d+)?\b|" + _URL.pattern, re.IGNORECASE)


def proper_names(text: str) -> tuple[str, ...]:
    """The words of ``text`` that are names: with a digit, an inner capital or in capitals
    (``GR00T``, ``TCP``), or capitalised and owning something (``Rust's``); not figures nor
    arXiv IDs, nor other capitalised words (``Publication``): as often not names."""
    found = []
    cleaned = _ARXIV_ID.sub(" ", text)
    for match in LATIN_NAME.finditer(cleaned):
        word = match.group()
        if word.lower() in FRAMING or _NUMBER.fullmatch(word) or not any(map(str.isalpha, word)):
            continue
        owner = word[0].isupper() and _POSSESSIVE.match(cleaned, match.end()) is not None
        if PROPER.search(word) or owner:
            found.append(word)
    return tuple(dict.fromkeys(found))


_WHAT_METRIC = re.compile(r"\bwhat ([A-Za-z][A-Za-z0-9-]*) (?:does|did|do|is|was)\b", re.IGNORECASE)


def _metric(word: str) -> bool:
    """``FVD``, ``mAP``, ``mIoU``, ``L2`` (mostly capitals, or a letter and a digit), not
    ``DreamZero``: "what FVD does X reach" asks for a figure."""
    letters = [c for c in word if c.isalpha()]
    upper = sum(c.isupper() for c in letters)
    return bool(re.fullmatch(r"[A-Za-z]\d+", word)) or (upper >= 2 and 2 * upper >= len(letters))


_AMOUNT = r"(?<![A-Za-z0-9.])(?:\d+(?:[.,]\d+)*|[一二三四五六七八九十两百千万]+)\s*"
_PEOPLE = (
    r"(?:people|persons|participants|raters|annotators|experts|volunteers|users|doctors"
    r"|physicians|clinicians|surgeons|nurses|patients|subjects|players|workers|judges|evaluators)"
)
_QUANTITIES: dict[str, tuple[re.Pattern, re.Pattern]] = {
    "devices": (
        re.compile(
            r"(?:多少|(?<!哪)几)\s*[块张台颗](?:\s*(?:GPU|TPU|显卡|卡|芯片))?"
            r"|\bhow many (?:[A-Za-z0-9-]+ )?(?:GPUs|TPUs|chips|accelerators|cards)\b",
            re.IGNORECASE,
        ),
        re.compile(
            _AMOUNT + r"(?:[块张台颗]|(?:×|x)\s*[A-Z])"
            r"|\b\d+\s*(?:[A-Z][A-Za-z]*\s+)?(?:[A-Z]+\d+[A-Za-z]*s?\s+)?(?:GPUs?|TPUs?|chips"
            r"|accelerators|cards)\b|\b\d+\s+[A-Z]{1,2}\d{2,3}[A-Za-z]*s?\b"
        ),
    ),
    "memory": (
        re.compile(
            r"(?:多少|多大)的?(?:显存|内存)|(?:显存|内存)[^，,。？?]{0,6}(?:多少|多大)"
            r"|\bhow much (?:GPU )?(?:memory|VRAM)\b",
            re.IGNORECASE,
        ),
        re.compile(_AMOUNT + r"(?:GB|MB|TB|KB|GiB|MiB|TiB)(?![A-Za-z])|[\d.]+\s*(?:GB|MB|TB)"),
    ),
    "distance": (
        re.compile(
            r"(?:多少|(?<!哪)几)\s*(?:公里|千米|米|厘米|毫米|英里)|多远"
            r"|\bhow (?:far(?! off)|many (?:km|kilomet\w+|miles|met(?:er|re)s))\b",
            re.IGNORECASE,
        ),
        re.compile(
            _AMOUNT + r"(?:公里|千米|米|厘米|毫米|英里|km|m|cm|mm|mi|miles?|kilomet(?:er|re)s?"
            r"|met(?:er|re)s?)(?![A-Za-z])",
            re.IGNORECASE,
        ),
    ),
    "steps": (
        re.compile(r"(?:多少|(?<!哪)几)\s*步|\bhow many (?:\w+ )?steps\b", re.IGNORECASE),
        re.compile(_AMOUNT + r"(?:步|steps?\b)", re.IGNORECASE),
    ),
    "people": (
        re.compile(
            r"(?:多少|(?<!哪)几)\s*(?:名|位|个人|人(?!工|类|形|民))"
            rf"|\bhow many (?:[\w-]+ )?{_PEOPLE}\b",
            re.IGNORECASE,
        ),
        re.compile(
            _AMOUNT + r"(?:名|位|人(?!工|类|形))|\b\d[\d,]*\s+(?:[\w-]+\s+)?" + _PEOPLE + r"\b",
            re.IGNORECASE,
        ),
    ),
}
"""Counts in a unit of their own (question pattern, answer pattern): "多少块 GPU" wants
``16 块 A100``, "多少显存" ``24GB``, "how many surgeons" ``12 名医生``, not any figure."""

_NAMED = r"[A-Za-z0-9][A-Za-z0-9.+-]*(?:\s+[A-Z0-9][A-Za-z0-9.+-]*)*"
_PAIR = re.compile(
    rf"({_NAMED})\s*(?:['’]s\s+[^,，?？]*?)?\s*(?:和|与|跟|同|还是|或|,?\s+or\s+|\s+and\s+"
    rf"|\s+vs\.?\s+|\s+versus\s+)\s*({_NAMED})"
)

_THAN = re.compile(
    rf"({_NAMED})\s[^,，?？]*?\b(?:better|worse|higher|lower|faster|slower|larger|smaller"
    rf"|more|less)\b[^,，?？]*?\bthan\s+({_NAMED})"
)


def _compared(question: str) -> tuple[str, ...]:
    """The names a comparison question sets against each other ("SplatArcade 和 Genie 3
    相比", "Vista or GAIA-1"): two names joined by and/or/vs, in a question that compares.
    "Which model beats ECMWF's system" compares the answer with one name: not checked."""
    if not _COMPARISON_ASKED.search(question):
        return ()
    for match in (*_PAIR.finditer(question), *_THAN.finditer(question)):
        pair = (names_in(match.group(1)), names_in(match.group(2)))
        if pair[0] and pair[1]:
            compared = tuple(dict.fromkeys((pair[0][-1], pair[1][0])))
            if len(compared) == 2:
                return compared
    return ()


_COUNT = r"(\d+|[两二三四五六七八九十]|" + COUNT_WORDS + ")"
_NAMED_THINGS = (
    r"(?:论文|文章|工作|模型|数据集|基准|系统|方法|框架|算法|项目|产品|机器人|智能体|仿真器|模拟器"
    r"|papers|works|models|datasets|benchmarks|systems|methods|frameworks|algorithms|robots"
    r"|agents|simulators|projects|products)"
)
"""Things that have names; "which three domains" asks for descriptions, not names."""
_COUNTED = _COUNT + r"\s*(?:个|篇|项|种|款|家|部|套)[^，,。？?]{0,10}?" + _NAMED_THINGS
_LISTED_ASKED = re.compile(
    _COUNTED + r"[^，,。？?]{0,12}?(?:哪几|哪些|分别(?:叫|是(?!多|几))|叫什么|什么名字|名称)"
    rf"|哪{_COUNTED}|\b(?:which|name|list|what (?:are|were)|identify)\s+(?:the\s+)?{_COUNT}"
    r"\s+(?:[\w-]+\s+){0,3}?"
    rf"{_NAMED_THINGS}\b",
    re.IGNORECASE,
)
"""Asks for the names of a counted set of things."""


def asked_count(pattern: re.Pattern, question: str) -> int:
    """The count ``pattern`` finds in ``question`` (its first group that took part), else 0."""
    match = pattern.search(question)
    count = next(group for group in match.groups() if group) if match else "0"
    return int(number_value(count) or 0)


_VERSION = re.compile(
    r"\s+(\d{1,2}(?:\.\d)?)(?![\w.%％])(?!\s*[个篇项种类倍位次层款家名块张台颗步年月天周])"
)
"""A version number after a name (``Genie 2``, ``AlphaFold 3``), not a count (``X 3 个``)."""


def asked_names(question: str) -> tuple[str, ...]:
    """:func:`names_in`, a name and its version number as one (``genie 2``): "Genie 3" is
    another model than the one asked about."""
    found = []
    for match in LATIN_NAME.finditer(question):
        if names_in(match.group()):
            version = _VERSION.match(question, match.end())
            found.append(match.group().lower() + (f" {version.group(1)}" if version else ""))
    return tuple(dict.fromkeys(found))


def expectation(question: str) -> Expectation:
    """The answer type ``question`` asks for (None: none this module checks); the most
    specific one when it asks in several ways ("多少块 GPU、训练了多长时间" wants a
    duration), and who built it when it also asks that."""
    names = asked_names(question)
    compared = _compared(question)
    when = bool(_WHEN_ASKED.search(question))
    maker: tuple[AnswerType, ...] = ("organisation",) if ORGANISATION_ASKED.search(question) else ()
    listed = asked_count(_LISTED_ASKED, question)
    if listed > 1:
        return Expectation("names", names, listed=listed, also=maker)
    if _AUTHORS_ASKED.search(question):
        return Expectation("authors", names, when=True, compared=compared)
    for kind, asked in (
        ("license", _LICENSE_ASKED),
        ("availability", _AVAILABILITY_ASKED),
        ("date", _DAY_ASKED),
    ):
        if asked.search(question):
            return Expectation(kind, names, when=True, compared=compared, also=maker)  # type: ignore[arg-type]
    metric = _WHAT_METRIC.search(question)
    if metric and _metric(metric.group(1)):
        measure = metric.group(1).lower()
        names = tuple(n for n in names if n != measure)
        return Expectation("figure", names, when, measure, compared, also=maker)
    quantities = tuple(k for k, (asked, _) in _QUANTITIES.items() if asked.search(question))
    also = (*quantities, *maker)
    if _DURATION_ASKED.search(question):
        return Expectation("duration", names, compared=compared, also=also)  # type: ignore[arg-type]
    if _EN_FIGURE.search(question) or _ZH_FIGURE.search(question) or quantities:
        kind: AnswerType = "percentage" if _PERCENT_ASKED.search(question) else "figure"
        return Expectation(kind, names, when, compared=compared, also=also)  # type: ignore[arg-type]
    if when:
        return Expectation("date", names, when=True, compared=compared, also=maker)
    if compared:
        return Expectation("comparison", names, compared=compared, also=maker)
    return Expectation("organisation" if maker else None, names)


def number_value(number: str) -> Decimal | None:
    """``~80`` → 80, ``1,000`` → 1000, ``两百`` → 200, ``three`` → 3; None for ``一个``
    and ``one`` (an article more often than a count)."""
    word = number.strip().lower()
    if word in _EN_NUMBERS:
        return Decimal(_EN_NUMBERS[word]) if word != "one" else None
    if CJK_CHAR.match(word):
        total = current = 0
        for ch in re.match(r"[一二两三四五六七八九十百千]*", word).group():  # type: ignore[union-attr]
            if ch in _ZH_TENS:
                total, current = total + (current or 1) * _ZH_TENS[ch], 0
            else:
                current = _ZH_DIGITS[ch]
        n = total + current
        return Decimal(n) if n > 1 else None
    match = re.search(r"\d+(?:,\d{3})*(?:\.\d+)?", word)
    return Decimal(match.group().replace(",", "")) if match else None


def figures(
    text: str, question: str, when: bool = False, pattern: re.Pattern = _NUMBER
) -> list[str]:
    """Numbers in ``text`` (or what else ``pattern`` finds: spans of time) that the
    question does not already contain (nor years and months, unless the question asks when)."""
    asked = set(_DIGITS.findall(question))
    out = []
    text = LINK_MARK.sub(" ", text)
    for match in pattern.finditer(text):
        digits = _DIGITS.findall(match.group())
        dated = _DATE.match(digits[0]) or _MONTH.match(text, match.end()) if digits else False
        if digits and (digits[0] in asked or (not when and dated)):
            continue
        out.append(match.group().strip())
    return out


@dataclass(frozen=True)
class Clause:
    """A stretch of a sentence between clause breaks, with whom it is about."""

    text: str
    subjects: frozenset[str]
    """The names that open this clause or the latest one that opened with a name
    (co-ordinated ones together: "FLARE 和 DreamZero 分别达到 …")."""


def clauses(text: str) -> list[Clause]:
    """``text`` cut at clause breaks; a clause opening with a name spelled as one (``FLARE``,
    ``GR-1``; not ``Trained``) makes it the subject of what follows, joining the previous
    subject when the clause before held nothing but names."""
    out: list[Clause] = []
    subjects: frozenset[str] = frozenset()
    bare = False
    for part in _CLAUSE_BREAK.split(text):
        if not part.strip():
            continue
        lead = _LEADING_NAME.match(part)
        word = lead.group(1) if lead else ""
        opener = names_in(word) if PROPER.search(word) and not _NUMBER.fullmatch(word) else ()
        if opener:
            subjects = (subjects | set(opener)) if bare else frozenset(opener)
        rest = LATIN_NAME.sub(" ", part)
        bare = bool(names_in(part)) and not re.search(r"[^\s\W_]", rest)
        out.append(Clause(part, subjects))
    return out


def attributed(clause: Clause, names: Sequence[str], measure: str | None = None) -> bool:
    """Whether a figure in ``clause`` may belong to one of the question's ``names``: the
    clause names one of them, or has no subject, or one of them is its subject (the
    metric asked for is no subject: ``FVD 为 89.4``)."""
    if not names or not on("clauses"):
        return True
    text = clause.text.lower()
    subjects = clause.subjects - {measure}
    families = {name.split(" ")[0] for name in names}
    return any(mentions(text, n) for n in names) or not subjects or bool(subjects & families)


_HEADER_UNIT = re.compile(r"[（(]([^（）()]{1,12})[）)]\s*[↑↓]?\s*$")
_BARE_NUMBER = re.compile(r"^[~≈约]?\d+(?:[.,]\d+)*$")


def _reading(unit: Unit, measure: str | None) -> str:
    """What ``unit`` says when read for a figure: a table row's cells, a bare number with its
    column's unit (``训练数据（小时）: 12,500 小时``), and when a metric is asked for only its
    column's (``FVD↓: —``): the other cells' figures are in other metrics."""
    if unit.kind != "row" or not unit.cells:
        return unit.shown_with_lead()
    cells = []
    for header, value in unit.cells:
        column = _HEADER_UNIT.search(header)
        bare = column and _BARE_NUMBER.match(value)
        cells.append((header, f"{value} {column.group(1).strip()}" if bare else value))
    if measure:
        return "；".join(f"{h}: {v}" for h, v in cells if measure in h.lower())
    return replace(unit, display=" · ".join(f"{h}: {v}" for h, v in cells)).shown_with_lead()


def _found_in(clause: Clause, kind: AnswerType, expected: Expectation, question: str) -> bool:
    """Whether ``clause`` holds a value of ``kind``."""
    if kind == "duration":
        return bool(figures(clause.text, question, pattern=_DURATION))
    if kind == "date":
        dated = _DAY if _DAY_ASKED.search(question) else _YEAR_OR_DATE
        return dated.search(LINK_MARK.sub(" ", clause.text)) is not None
    if kind in _QUANTITIES:
        asked = set(_DIGITS.findall(question))
        return any(
            not set(_DIGITS.findall(m.group())) <= asked
            for m in _QUANTITIES[kind][1].finditer(clause.text)
        )
    found = figures(clause.text, question, expected.when)
    if kind == "percentage":
        found = [f for f in found if PERCENT.search(f) or _FRACTION.search(f)]
    return bool(found)


_FRACTION = re.compile(r"\d+\s*/\s*\d+|分之|一半|半数|\bhalf\b|\bthirds?\b|\bquarters?\b")


def _compares(expected: Expectation, units: Sequence[Unit]) -> bool:
    """Whether the units set the compared things side by side: one unit names two of
    them, or each is named by a row of one table (same header)."""
    wanted = set(expected.compared)
    tables: dict[tuple[str, str], set[str]] = {}
    for unit in units:
        text = unit.shown_with_lead().lower()
        named = {name for name in wanted if mentions(text, name)}
        if len(named) >= 2:
            return True
        if unit.cells and named:
            header = " · ".join(h for h, _ in unit.cells)
            tables.setdefault((unit.chunk_id, header), set()).update(named)
    return any(len(named) >= 2 for named in tables.values())


_MENTIONS: dict[str, re.Pattern] = {"license": _LICENSE, "availability": _AVAILABILITY}
"""Kinds answered by a sentence that says so, about what the question names."""


_NAME_PHRASE = re.compile(
    r"(?<![A-Za-z0-9.+\-–])(?!(?:and|or|vs|versus)\b)[A-Za-z0-9][A-Za-z0-9.+\-–]*"
    r"(?:\s+[A-Z0-9][A-Za-z0-9.+\-–]*)*"
)
"""A name of one or more words (``Genie 2``, ``V-JEPA 2-AC``, ``Open X-Embodiment``): words
after the first are capitalised or numbers, so "JEPA-style predictive learning" is one."""
_LIST_GAP = re.compile(
    r"\s*(?:\([^()]*\)|（[^（）]*）)?\s*(?:[、，,；;/&]|以及|和|与|及|或|\band\b|\bor\b|\bvs\b\.?"
    r"|\bversus\b)"
    r"\s*(?:\band\b|\bor\b)?\s*(?:[\u4e00-\u9fff]{1,4}\s+)?",
    re.IGNORECASE,
)
"""What separates the names of a list (``、``, ``和``, "and"), after a parenthesis such as a
link's ``(arXiv:ID)``, before a word qualifying the next (``阿里 Wan2.1、腾讯 HunyuanVideo``)."""


def listed_names(text: str) -> int:
    """The length of the longest list of names in ``text`` ("Genie 2、SIMA 2 和 V-JEPA
    2-AC" → 3); names apart from each other count one each, and the parts of a URL or of
    a link's ``(arXiv:ID)`` none."""
    longest = run = 0
    previous_end: int | None = None
    blanked = _URL.sub(lambda m: "_" * len(m.group()), text)
    blanked = LINK_MARK.sub(lambda m: "(" + "_" * (len(m.group()) - 2) + ")", blanked)
    for match in _NAME_PHRASE.finditer(blanked):
        if not names_in(match.group()):
            continue
        gap = text[previous_end : match.start()] if previous_end is not None else None
        run = run + 1 if gap is not None and _LIST_GAP.fullmatch(gap) else 1
        longest = max(longest, run)
        previous_end = match.end()
    return longest


_OPENING = re.compile(r"[^：:，,。；;]*")
"""An item's opening, before its label ends (``医疗决策责任：…`` opens with no name)."""


def _opens_with_name(text: str) -> bool:
    """Whether a sentence starts with a link or a name spelled as one (``GR00T``,
    ``DreamZero``; not "Existing benchmarks …")."""
    text = text.lstrip()
    lead = _NAME_PHRASE.match(text)
    if lead is None:
        return False
    linked = text[lead.end() :].lstrip().startswith("(arXiv:")
    return linked or bool(proper_names(lead.group()))


def _enumerates(units: Sequence[Unit], count: int) -> bool:
    """Whether ``units`` name ``count`` things: in one list of names, as that many items
    of one list (or rows of one table) each opening with a name or a link, or as that many
    sentences of one chunk each starting with one ("[A](…) 提出……。[B](…) 则……")."""
    groups: dict[tuple[str, object], set[str]] = {}
    for unit in units:
        if listed_names(unit.display) >= count:
            return True
        if unit.kind in ("item", "row"):
            first = unit.cells[0][1] if unit.cells else unit.display
            opening = _OPENING.match(first).group()  # type: ignore[union-attr]
            if not (names_in(LINK_MARK.sub(" ", opening)) or "(arXiv:" in opening):
                continue
            key: object = unit.lead if unit.kind == "item" else tuple(h for h, _ in unit.cells)
        elif unit.kind == "sentence" and _opens_with_name(unit.display):
            key = "sentences"
        else:
            continue
        groups.setdefault((unit.chunk_id, key), set()).add(unit.display)
    return any(len(shown) >= count for shown in groups.values())


def _subjects(unit: Unit, names: tuple[str, ...]) -> tuple[str, ...]:
    """The question's names, and those of the unit's heading or paper title when it holds
    one: in "MagpieSoc: … A Turing-Style Human Study", MagpieSoc is the study asked about."""
    context = unit.context.lower()
    if any(name in context for name in names):
        return (*names, *names_in(unit.context))
    return names


_IDENTIFIER = re.compile(r"\d|[a-z][A-Z]")


def identifiers(question: str, names: Sequence[str]) -> list[str]:
    """The question's ``names`` spelled as identifiers, which no language translates: with a
    digit or an inner capital (``nuScenes``, ``Genie 2``), not a figure (``24GB``) nor what
    another language writes in its own words (``Earth-system``, ``ED``, ``GPU``)."""
    spelled = {w.lower() for w in LATIN_NAME.findall(question) if _IDENTIFIER.search(w)}
    return [n for n in names if (" " in n or n in spelled) and not _NUMBER.fullmatch(n)]


def _holds(kind: AnswerType, expected: Expectation, units: Sequence[Unit], question: str) -> bool:
    """Whether some unit holds an answer of ``kind`` (for figures and their like: in a
    clause about what the question names, and only when the units write every identifier
    it names: "X on benchmark B" is not answered by X's figures on another)."""
    names, measure = expected.names, expected.measure
    if kind == "organisation":
        return any(credits_maker(unit, names, question) for unit in units)
    if kind in _MENTIONS:
        said = _MENTIONS[kind]
        return any(u.about_any(names) and said.search(u.shown_with_lead()) for u in units)
    for name in identifiers(question, names) if on("clauses") else ():
        if not any(unit.about_any([name]) for unit in units):
            return False
    for unit in (unit for unit in units if unit.about_any(names)):
        wanted = _subjects(unit, names)
        for clause in clauses(_reading(unit, measure)):
            if measure and measure not in clause.text.lower():
                continue
            if attributed(clause, wanted, measure) and _found_in(clause, kind, expected, question):
                return True
    return False


def unanswered(question: str, units: Sequence[Unit]) -> AnswerType | None:
    """The kind of answer ``question`` asks for when ``units`` (what the answer would
    quote) do not hold one; None when they do, or when the question asks for no kind
    this module checks."""
    expected = expectation(question)
    if expected.kind in (None, "authors"):
        return None  # "who wrote" only ranks a paper's byline first
    if expected.compared and on("type:comparison") and not _compares(expected, units):
        return "comparison"
    if expected.kind == "comparison":
        return None
    if expected.kind == "names":
        return None if not on("type:names") or _enumerates(units, expected.listed) else "names"
    for kind in (expected.kind, *expected.also):
        family = "type:counts" if kind in _QUANTITIES else f"type:{kind}"
        if on(family) and not _holds(kind, expected, units, question):
            return kind
    return None
