from assistant.answer.tables import direction, extreme_row, value
from assistant.answer.units import chunk_units
from tests.answer.helpers import section

TABLE = """| 模型 | 参数量 | 最长预报时效 | 推理耗时 | 帧率 (fps) |
|---|---|---|---|---|
| MonsoonDiT-L | 1.6B | 15 天 | 42 s | 12 |
| HailDistill-S | 0.12B | 10 天 | 1.3 s | 30 |
| NimbusCast | 350M | 2 小时 | 0.9 s | — |
| GlacierGym | 0.8B | 100 年 | 610 s | 3 |
"""


def _rows():
    return [u for u in chunk_units(section("t", "1.5", "对比", TABLE)) if u.kind == "row"]


def _match(*words):
    return lambda header: float(any(word in header for word in words))


def test_direction_comes_from_how_the_question_asks_for_an_extreme():
    assert direction("对比表中哪个模型的参数量最大？") is True
    assert direction("Which model is the smallest by parameter count?") is False
    assert direction("What does the table show?") is None
    assert direction("哪个模型训练数据最多，是多少？") is True
    assert direction("验证器最多让模拟器重试几次？") is None  # at most: a bound, no extreme
    assert direction("It retries at most 3 times.") is None
    assert direction("What is the almost final score?") is None


def test_values_are_read_with_their_magnitude_or_unit():
    assert value("1.6B") == 1.6e9 and value("350M") == 3.5e8
    assert value("100 年") > value("15 天") > value("2 小时")
    assert value("96,000") == 96000 and value("—") is None
    assert value("100ms") < value("1 s") < value("5 min") < value("2 hours") < value("1.2 days")
    assert value("3 个月") > value("10 周") and value("3 个小时") == value("3 小时")


def test_the_row_with_the_asked_extreme_of_the_matching_column_is_found():
    rows = _rows()
    big = extreme_row("哪个模型的参数量最大？", rows, _match("参数"))
    assert big is not None and big.display.startswith("模型: MonsoonDiT-L")
    small = extreme_row("Which is the smallest by parameter count?", rows, _match("参数"))
    assert small is not None and "NimbusCast" not in small.display  # 350M > 0.12B
    assert "HailDistill-S" in small.display
    longest = extreme_row("哪个模型的最长预报时效最长？", rows, _match("预报时效"))
    assert longest is not None and "GlacierGym" in longest.display


def test_fastest_is_the_smallest_time_or_the_largest_rate():
    rows = _rows()
    by_time = extreme_row("Which model is fastest at inference?", rows, _match("耗时"))
    assert by_time is not None and "NimbusCast" in by_time.display
    by_rate = extreme_row("Which model is fastest in fps?", rows, _match("fps"))
    assert by_rate is not None and "HailDistill-S" in by_rate.display


def test_no_extreme_without_a_matching_column_or_for_something_the_table_lacks():
    rows = _rows()
    assert extreme_row("哪个模型最大？", rows, _match("不存在")) is None
    assert extreme_row("RT-2 的最大版本有多少参数？", rows, _match("参数")) is None
    assert extreme_row("哪个模型的参数量是多少？", rows, _match("参数")) is None


def test_best_and_worst_follow_whether_the_column_is_better_high_or_low():
    table = (
        "| 模型 | 穿模率 (%) | 成功率 (%) |\n|---|---|---|\n| A | 12.0 | 80 |\n| B | 30.5 | 65 |\n"
    )
    rows = [u for u in chunk_units(section("t", "1", "表", table)) if u.kind == "row"]
    worst = extreme_row("Which model has the worst interpenetration 穿模率?", rows, _match("穿模"))
    assert worst is not None and worst.display.startswith("模型: B")
    best = extreme_row("哪个模型的穿模率最好？", rows, _match("穿模"))
    assert best is not None and best.display.startswith("模型: A")
    assert extreme_row("成功率最差的是哪个？", rows, _match("成功")).display.startswith("模型: B")


def test_a_column_mostly_left_empty_is_still_read_and_a_table_question_is_recognised():
    cells = ["—", "0.62", "0.48", "—", "—"]
    sparse = "| 模型 | L2 (m)↓ |\n|---|---|\n" + "".join(
        f"| {c} | {v} |\n" for c, v in zip("ABCDE", cells, strict=True)
    )
    rows = [u for u in chunk_units(section("t", "1", "表", sparse)) if u.kind == "row"]
    lowest = extreme_row("Which model has the lowest L2 error?", rows, _match("L2"))
    assert lowest is not None and lowest.display.startswith("模型: C")
