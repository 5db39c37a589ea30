"""Lists answered whole: which questions ask for one, and every item of it quoted once."""

import re

import pytest

from assistant import Assistant, Settings
from assistant.answer.lists import asked_list
from tests.conftest import BUNDLED_CORPUS


@pytest.mark.parametrize(
    ("question", "count"),
    [
        ("Which challenges does the survey list?", 0),
        ("九大趋势分别是什么？", 9),
        ("What are the three stages of the pipeline?", 3),
        ("本章把幻觉分成了哪几类？", 0),
        ("Name the four subsets.", 4),
        ("「九大趋势」这一节的要点是什么？", 9),  # key points: the UI's own example question
        ("What are the key points of §17.2?", 0),
    ],
)
def test_questions_asking_what_a_list_holds(question, count):
    assert asked_list(question) == count


@pytest.mark.parametrize(
    "question",
    [
        "What is the fourth major challenge the chapter lists?",  # one item of it
        "§17.4 列出的第六项主要挑战是什么？",
        "对比表中 X 的参数量是多少，使用了哪些训练数据？",  # a figure
        "What does FLARE reach on GR-1?",
    ],
)
def test_questions_asking_for_no_whole_list(question):
    assert asked_list(question) is None


def _quoted(answer) -> list[str]:
    return [line for line in answer.text.splitlines() if re.search(r"\[\d+\]$", line)]


@pytest.fixture
def assistant(built_index, tmp_path) -> Assistant:
    return Assistant(Settings(corpus_dir=BUNDLED_CORPUS, index_dir=built_index))


def test_a_list_of_bold_headings_is_quoted_whole_and_in_order(assistant):
    lines = _quoted(assistant.ask("九大趋势分别是什么？"))
    numbers = "一二三四五六七八九"
    assert [line[2:5] for line in lines] == [f"趋势{n}" for n in numbers]


def test_a_markdown_list_is_quoted_whole_each_item_once(assistant):
    answer = assistant.ask("Which challenges does the survey list?")
    lines = _quoted(answer)
    assert len(lines) == len(set(lines)) == 10
    assert "物理一致性不足" in lines[0] and "安全与伦理风险" in lines[-1]
    assert {c.section for c in answer.citations} == {"17.4"}


def test_a_question_about_one_item_or_a_topic_gets_the_best_sentences(assistant):
    assert len(_quoted(assistant.ask("What is the fourth major challenge the chapter lists?"))) <= 3
    answer = assistant.ask("有哪些工作开始把三维几何理解融入世界模型？")
    assert len(_quoted(answer)) <= 3 and "World3D" in answer.text


def test_the_list_can_be_switched_off(built_index):
    off = Assistant(
        Settings(corpus_dir=BUNDLED_CORPUS, index_dir=built_index, extractive_max_list_items=0)
    )
    assert len(_quoted(off.ask("Which challenges does the survey list?"))) <= 3
