import pytest

from assistant.answer.makers import ORGANISATION_ASKED, credits_maker
from assistant.answer.units import chunk_units
from tests.answer.helpers import abstract, section

WHICH = "Which company built GAIA-1?"


def _credits(text: str, question: str = WHICH) -> bool:
    units = chunk_units(section("s", "1.1", "节", text))
    return any(credits_maker(unit, ("gaia-1",), question) for unit in units)


@pytest.mark.parametrize(
    "question",
    [
        "ViscoFlow 是哪所大学或研究机构提出的？",
        "CellVerse 是由哪些单位开发的？",
        WHICH,
        "Who built Veo 3?",
    ],
)
def test_questions_asking_who_built_something(question):
    assert ORGANISATION_ASKED.search(question)


@pytest.mark.parametrize(
    "question",
    [
        "Who wrote the paper?",
        "哪个模型最大？",
        "What does GAIA-1 do?",
        "Which group of methods wins?",
    ],
)
def test_questions_not_asking_who_built_something(question):
    assert not ORGANISATION_ASKED.search(question)


@pytest.mark.parametrize(
    "text",
    [
        "GAIA-1 是英国 Wayve 公司发布的世界模型。",  # an organisation word
        "2020 年，NVIDIA 的 GAIA-1 复现了游戏。",  # an owner
        "阿里 Wan2.1、昆仑 GAIA-1 等构成了开源生态。",  # a company before its product
        "NVIDIA 于 2025 年 1 月发布的 GAIA-1 系列表现最好。",  # a maker
        "2023 年，Google DeepMind 又发布了 GAIA-1。",  # a word between maker and verb
        "GAIA-1 was developed by Wayve in London.",
    ],
)
def test_a_sentence_crediting_a_maker_with_the_named_thing(text):
    assert _credits(text)


def test_a_latin_name_owning_what_the_question_calls_it_in_chinese():
    text = "2000 年，直觉外科（Intuitive Surgical）的达芬奇手术系统获得批准。"
    units = chunk_units(section("s", "1.1", "节", text))
    assert any(credits_maker(u, (), "达芬奇手术系统是哪家公司的产品？") for u in units)
    assert not any(credits_maker(u, (), "内窥镜是哪家公司的产品？") for u in units)


def test_no_maker_without_one_or_for_something_else():
    assert not _credits("GAIA-1 是一个世界模型，参数 9B。")
    assert not _credits("体量最小的 GAIA-1 延迟最低。")  # 的 ends no company name
    assert not _credits(
        "Wayve 公司发布了 Lingo。"
    )  # a maker of something the question does not name


def test_authors_answer_who_built_it_but_not_which_company():
    units = chunk_units(abstract("a", "2601.00001", "GAIA-1", "GAIA-1 drives.\n\nAuthors: Ann"))
    assert any(credits_maker(u, ("gaia-1",), "Who built GAIA-1?") for u in units)
    assert not any(credits_maker(u, ("gaia-1",), WHICH) for u in units)
