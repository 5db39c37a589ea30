"""The switches the ablation study turns rule families off with."""

import pytest

from assistant.answer.answer_type import unanswered
from assistant.answer.rules import FAMILIES, ablated, on
from assistant.answer.units import chunk_units
from assistant.models import Chunk


def _units(text: str):
    chunk = Chunk(id="c", kind="section", text=text, source="s.md", section="1", section_title="t")
    return list(chunk_units(chunk))


def test_families_are_on_unless_ablated_and_come_back_on():
    assert all(on(family) for family in FAMILIES)
    with ablated(["tables", "lists"]):
        assert not on("tables") and not on("lists") and on("mentions")
    assert on("tables") and on("lists")


def test_an_unknown_family_is_an_error():
    with pytest.raises(ValueError, match="nosuch"), ablated(["nosuch"]):
        pass


def test_switching_an_answer_type_off_stops_its_refusals():
    units = _units("DreamZero 采用了异构数据策略。")
    question = "DreamZero 的异构数据规模是多少小时？"
    assert unanswered(question, units) == "duration"
    with ablated(["type:duration"]):
        assert unanswered(question, units) is None
