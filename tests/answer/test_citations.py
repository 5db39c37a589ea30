from assistant.answer.citations import check_citations, parse_markers, split_claims
from tests.answer.helpers import sample_hits

QUOTES = {"c1": ("80 篇",), "c2": ("NetWorld 引入 RL", "其二"), "c3": ("2025 年 50 篇",)}


def test_marker_forms_are_parsed():
    assert parse_markers("a [1] b [2, 3] c【4】d [5][6] e [see](http://x)") == [1, 2, 3, 4, 5, 6]


def test_a_marker_opening_a_line_counts_for_that_line_and_one_after_a_stop_for_its_sentence():
    claims = split_claims(
        "[1] 2024 年约 80 篇。另一句。\n第三句。 [2] 第四句\n- Dreamer V4 [3]\n列表如下：\n"
        "The survey does not say."
    )
    assert [(c.text, c.markers) for c in claims] == [
        ("2024 年约 80 篇。", (1,)),
        ("另一句。", (1,)),
        ("第三句。", (2,)),
        ("第四句", ()),
        ("Dreamer V4", (3,)),
    ]


def test_markers_are_renumbered_in_first_use_order_and_cite_the_given_quotes():
    hits = sample_hits()
    checked = check_citations("2024 年约 80 篇 [3][9]。NetWorld 引入 RL [2]。", hits, QUOTES)
    assert checked.text == "2024 年约 80 篇 [1]。NetWorld 引入 RL [2]。"
    assert [c.chunk_id for c in checked.citations] == ["c3", "c2"]
    assert checked.citations[0].kind == "arxiv"
    assert checked.citations[0].url == "https://arxiv.org/abs/2602.00558"
    assert checked.citations[1].section == "17.4.2"
    assert checked.citations[1].linked_arxiv_ids == ("2602.00558",)
    assert checked.citations[1].quote == "NetWorld 引入 RL"
    assert checked.citations[1].quotes == ("NetWorld 引入 RL", "其二")
    assert checked.grounded == 1.0


def test_sentences_without_a_valid_marker_are_flagged():
    checked = check_citations(
        "The survey counts about 80 papers in 2024 [1]. It also says something else [7]. "
        "And a third claim.",
        sample_hits(),
        QUOTES,
    )
    assert checked.unsupported == ["It also says something else.", "And a third claim."]
    assert abs(checked.grounded - 1 / 3) < 1e-9
    assert len(checked.citations) == 1 and checked.supported == 1


def test_lead_ins_and_not_said_make_no_claim():
    checked = check_citations(
        "The sources say:\n- 80 papers [1]\n\nThe survey does not say.", sample_hits(), QUOTES
    )
    assert checked.claims == 1 and checked.grounded == 1.0


def test_nested_list_indentation_survives_the_check():
    checked = check_citations(
        "- 中期：\n  - 统一世界模型 [1]\n  - 通用物理引擎  [2]", sample_hits(), QUOTES
    )
    assert checked.text == "- 中期：\n  - 统一世界模型 [1]\n  - 通用物理引擎 [2]"
