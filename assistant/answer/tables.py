"""Superlative questions over a table, answered by reading the column, not by similarity.

"Which model in the table has the most parameters?" matches every row about equally well.
Reading the table is exact: the numeric column whose header shares the most question terms,
each value with its magnitude or unit (``1.6B``, ``15 天``), the largest or smallest row. The
patterns are how questions ask for an extreme, in either language, not about any corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.answer.answer_type import HOURS, TIME_UNIT
from assistant.answer.units import Unit, mentions
from assistant.text import names_in

_AT_MOST = r"(?<!\bat )"
""""at most", "at least" bound a value; they ask for no extreme."""
_BOUND = r"(?![^\s的，,。？?！!、）)])"
"""最多/最少 before a verb bound a value ("最多重试几次": at most); before 的 or the end of a
clause they pick an extreme ("训练数据最多的是哪个")."""
_HIGHEST = re.compile(
    rf"最(?:大|高|长|快|强|好|优|贵|久|新|远)|最多{_BOUND}|\b(?:largest|biggest|{_AT_MOST}most"
    r"|highest|longest|fastest|best|greatest|maximum|top|newest|latest|strongest)\b",
    re.IGNORECASE,
)
_LOWEST = re.compile(
    rf"最(?:小|低|短|慢|差|便宜|轻|早|弱)|最少{_BOUND}|\b(?:smallest|fewest|{_AT_MOST}least"
    r"|lowest|shortest|slowest|cheapest|minimum|lightest|earliest|weakest)\b",
    re.IGNORECASE,
)
_BEST = re.compile(r"最(?:好|优|佳)|\bbest\b", re.IGNORECASE)
_WORST = re.compile(r"最差|最糟|\bworst\b", re.IGNORECASE)
_SPEED = re.compile(r"最快|最慢|fastest|slowest|quickest", re.IGNORECASE)
_TIME_COLUMN = re.compile(r"耗时|延迟|时间|latency|time|\bms\b|（s）|\(s\)", re.IGNORECASE)
"""A column of times: "fastest" is its smallest value."""
_LOWER_BETTER = re.compile(
    r"↓|误差|错误|失败|穿模|违反|延迟|耗时|error|failure|violation|latency|FVD|FID|\bL2\b",
    re.IGNORECASE,
)
"""Columns where a smaller value is better: their best is the smallest, their worst the
largest."""
_BLANK = re.compile(r"\s*[—–-]*\s*")
"""A cell a table leaves empty (``—``: not reported), which no text column is made of."""
_NUMBER = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?)\s*")
_MAGNITUDE_SUFFIX = re.compile(r"([KMBTkmbt](?![A-Za-z])|万|亿)")
_MAGNITUDE = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12, "万": 1e4, "亿": 1e8}


def direction(question: str) -> bool | None:
    """True when ``question`` asks for a largest value, False for a smallest, None for
    neither (or both)."""
    high, low = bool(_HIGHEST.search(question)), bool(_LOWEST.search(question))
    if not high and not low and _WORST.search(question):
        return True  # the worst error, latency, failure rate: the highest (see extreme_row)
    return high if high != low else None


def value(cell: str) -> float | None:
    """A cell's number in common units (magnitudes multiplied out, times in hours);
    None for ``—`` or text."""
    text = cell.replace("~", "").replace("≈", "")
    match = _NUMBER.search(text)
    if match is None:
        return None
    number = float(match.group(1).replace(",", ""))
    time = TIME_UNIT.match(text, match.end())
    if time is not None:
        word = time.group().lower()
        return number * HOURS.get(word, HOURS.get(word.removeprefix("个"), 1.0))
    magnitude = _MAGNITUDE_SUFFIX.match(text, match.end())
    return number * (_MAGNITUDE[magnitude.group(1).lower()] if magnitude else 1.0)


def extreme_row(question: str, units: Sequence[Unit], match: Callable[[str], float]) -> Unit | None:
    """The row ``question`` asks for when it asks for a largest or smallest value: of the
    tables writing every name it uses, in the column ``match`` scores highest (above 0)
    among those where most rows hold a number or nothing (``—``), the extreme value's."""
    wanted = direction(question)
    if wanted is None:
        return None
    tables: dict[tuple[str, ...], list[Unit]] = {}
    for unit in units:
        if unit.kind == "row" and len(unit.cells) >= 2:
            tables.setdefault(tuple(h for h, _ in unit.cells), []).append(unit)
    names = names_in(question)
    best: tuple[float, Unit] | None = None
    for header, rows in tables.items():
        if len(rows) < 2:
            continue
        text = " ".join(unit.display for unit in rows).lower()
        if not all(mentions(text, name) for name in names):
            continue  # "RT-2 的最大版本": an extreme of something the table does not hold
        for n, column in enumerate(header[1:], start=1):
            values = [(value(unit.cells[n][1]), unit) for unit in rows]
            numbers = [v for v in values if v[0] is not None]
            blank = sum(_BLANK.fullmatch(unit.cells[n][1]) is not None for unit in rows)
            if len(numbers) < max(2, (len(values) + 1) // 2 - blank):
                continue
            score = match(column)
            if score <= 0 or (best is not None and score <= best[0]):
                continue
            highest = wanted
            lower_better = bool(_LOWER_BETTER.search(column))
            if _SPEED.search(question) and _TIME_COLUMN.search(column):
                highest = not wanted
            elif _BEST.search(question):
                highest = not lower_better
            elif _WORST.search(question):
                highest = lower_better
            pick = (max if highest else min)(numbers, key=lambda v: v[0])
            best = (score, pick[1])
    return best[1] if best else None
