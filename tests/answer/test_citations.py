import logging

from assistant.answer.citations import check_citations, claim_sentences, parse_markers
from tests.answer.helpers import hash_scorer, sample_hits


def test_marker_forms_are_parsed():
    assert parse_markers("a [1] b [2, 3] c【4】d [5][6] e [see](http://x)") == [1, 2, 3, 4, 5, 6]


def test_bogus_markers_are_removed_logged_and_the_rest_renumbered(caplog):
    hits = sample_hits()
    with caplog.at_level(logging.WARNING):
        checked = check_citations(
            "2024 年约 80 篇 [3][9]。NetWorld 引入 RL [2]。", hits, hash_scorer(hits)
        )
    assert checked.removed == [9]
    assert "[9]" in caplog.text
    assert checked.text == "2024 年约 80 篇 [1]。NetWorld 引入 RL [2]。"
    assert [c.chunk_id for c in checked.citations] == ["c3", "c2"]
    assert checked.citations[0].kind == "arxiv"
    assert checked.citations[0].url == "https://arxiv.org/abs/2602.00558"
    assert checked.citations[1].section == "17.4.2"
    assert checked.citations[1].linked_arxiv_ids == ("2602.00558",)
    assert checked.grounded == 1.0


def test_sentences_without_a_valid_marker_are_flagged():
    hits = sample_hits()
    checked = check_citations(
        "The survey counts about 80 papers in 2024 [1]. It also says something else [7]. "
        "And a third claim.",
        hits,
        hash_scorer(hits),
    )
    assert checked.ungrounded == ["It also says something else.", "And a third claim."]
    assert abs(checked.grounded - 1 / 3) < 1e-9
    assert len(checked.citations) == 1


def test_lead_ins_and_not_said_make_no_claim():
    hits = sample_hits()
    checked = check_citations(
        "The sources say:\n- 80 papers [1]\n\nThe survey does not say.", hits, hash_scorer(hits)
    )
    assert checked.claims == 1 and checked.grounded == 1.0


def test_quote_is_the_best_supporting_sentence_of_the_cited_chunk():
    hits = sample_hits()
    checked = check_citations(
        "2025 年仅前两个月即产出超过 50 篇相关论文 [1]。", hits, hash_scorer(hits)
    )
    assert checked.citations[0].quote == "2025 年仅前两个月即产出超过 50 篇相关论文。"


def test_markers_after_the_full_stop_stay_with_their_sentence():
    assert claim_sentences("第一句。 [1] 第二句 [2]\n- 1. 条目 [3]") == [
        "第一句。[1]",
        "第二句 [2]",
        "- 1. 条目 [3]",
    ]


def test_nested_list_indentation_survives_the_check():
    hits = sample_hits()
    checked = check_citations(
        "- 中期：\n  - 统一世界模型 [1]\n  - 通用物理引擎  [2]", hits, hash_scorer(hits)
    )
    assert checked.text == "- 中期：\n  - 统一世界模型 [1]\n  - 通用物理引擎 [2]"
