"""The claim check on hand-made chunks: splitting, what a claim states, support, repair."""

from decimal import Decimal

import pytest

from assistant.answer.citations import split_claims
from assistant.answer.claims import ClaimChecker, Figure, _holds, check_claims, claim_facts
from assistant.answer.units import chunk_units
from assistant.indexing.lexicon import romanises
from tests.answer.helpers import abstract, hash_scorer, hits_of, sample_hits, section

SOTA = """| 任务 | SOTA 方法 | 关键指标 | 时间 |
|------|----------|---------|------|
| Atari 100K 效率 | Dreamer V4 | 超人类水平 26/26 | 2025.01 |
| 视频生成质量 | SkyReels-V2 / Wan2.1-14B | VBench 83.9% / 83.7% | 2025.04 |
| 交互式世界生成 | Genie 2 | 无限时长 3D 交互 | 2025.01 |"""

TRENDS = (
    "**趋势五：VLA + 世界模型深度融合**\n"
    "DreamZero 的 500h 异构数据策略和 FLARE 在真实 GR-1 上的 95.1% 成功率，"
    "标志着从实验室验证走向真实部署。\n\n"
    "**趋势八：中国开源力量崛起**\n"
    "阿里 Wan2.1、腾讯 HunyuanVideo、智谱 CogVideoX、昆仑 SkyReels-V2 等"
    "构成了全球最活跃的视频生成开源生态。"
)


def hits():
    return [
        *sample_hits(),
        *hits_of(
            section("c4", "17.3", "当前 SOTA 成绩汇总", SOTA),
            section("c5", "17.2", "九大趋势", TRENDS),
        ),
    ]


@pytest.mark.parametrize(
    ("claim", "figures"),
    [
        ("2024 年全年大约有80篇。", {Figure(Decimal(2024), "time"), Figure(Decimal(80), "")}),
        ("成功率为 95.1%", {Figure(Decimal("95.1"), "percent")}),
        ("DreamZero 使用了 500h 数据", {Figure(Decimal(500), "time")}),
        ("考察了七个子类别，分为两个部分", {Figure(Decimal(7), ""), Figure(Decimal(2), "")}),
        ("a paper of one author in §17.4.2 (arXiv:2602.00558)", set()),
        ("Wan2.1-14B and GR-1 in 3D", set()),
    ],
)
def test_figures_are_values_with_their_kind_not_parts_of_names_ids_or_sections(claim, figures):
    assert set(claim_facts(claim).figures) == figures


def test_names_are_spelled_as_names_or_capitalised_inside_a_sentence():
    facts = claim_facts(
        "Medical imaging is covered. The model from Kunlun, Sora-level, beat Dreamer V4 on "
        "[Atari](https://arxiv.org/abs/2502.10498)."
    )
    assert facts.names == ("kunlun", "sora", "dreamer", "v4")
    assert facts.ids == {"2502.10498"}  # a link's anchor is the paper's title, not a name


def test_pinyin_names_meet_their_characters():
    text = "阿里 Wan2.1、智谱 CogVideoX、昆仑 SkyReels-V2"
    assert romanises("Kunlun", text) and romanises("Zhipu", text)
    assert not romanises("Tencent", text)


def test_a_claim_is_supported_only_by_one_unit_holding_all_its_facts(caplog):
    h = hits()
    checked = check_claims(
        "FLARE 在真实 GR-1 上的成功率是 95.1% [5]。FLARE 在真实 GR-1 上的成功率是 91.5% [5][9]。",
        "FLARE 在真实 GR-1 机器人上取得了多高的成功率？",
        h,
        hash_scorer(h),
    )
    first, second = checked.verdicts
    assert first.status == "supported" and "95.1%" in first.support.unit.display
    assert second.status == "unsupported"  # a wrong figure
    assert checked.unsupported == ["FLARE 在真实 GR-1 上的成功率是 91.5%。"]
    assert checked.text == (
        "FLARE 在真实 GR-1 上的成功率是 95.1% [1]。FLARE 在真实 GR-1 上的成功率是 91.5%。"
    )
    assert checked.grounded == 0.5
    assert "[9]" in caplog.text  # a marker pointing at no source is dropped, and logged
    assert checked.citations[0].quote == first.support.unit.display
    assert checked.citations[0].quotes == (first.support.unit.display,)


def test_slash_separated_cells_pair_up_within_a_row():
    h = hits()
    row = next(u for u in chunk_units(h[3].chunk) if "SkyReels" in u.display)
    scorer = hash_scorer(h)
    assert _holds(claim_facts("Wan2.1-14B 的 VBench 得分是 83.7%"), row, h[3], scorer)
    assert not _holds(claim_facts("Wan2.1-14B 的 VBench 得分是 83.9%"), row, h[3], scorer)


def test_a_name_found_in_another_row_is_not_support():
    h = hits()
    question = "§17.3 里交互式世界生成任务的 SOTA 方法是什么？"
    checker = ClaimChecker(question, h, hash_scorer(h))
    (verdict,) = [checker.verdict(c) for c in split_claims("Dreamer V4 [4]")]
    assert verdict.status == "unsupported"  # the Atari row holds it, and is about Atari
    (verdict,) = [checker.verdict(c) for c in split_claims("Genie 2 [4]")]
    assert verdict.status == "supported" and "交互式世界生成" in verdict.support.unit.display


def test_markers_are_re_pointed_added_and_recorded():
    h = hits()
    checked = check_claims(
        "DreamZero 使用了 500h 的异构数据 [1]。FLARE 在真实 GR-1 上的成功率是 95.1%。",
        "DreamZero 和 FLARE 用了多少数据、成功率多高？",
        h,
        hash_scorer(h),
    )
    assert [v.status for v in checked.verdicts] == ["repointed", "added"]
    assert [(r.before, r.after) for r in checked.repaired] == [(1, 1), (None, 1)]
    assert [c.chunk_id for c in checked.citations] == ["c5"]
    assert checked.text.count("[1]") == 2 and checked.grounded == 1.0


def test_a_sibling_chunk_that_supports_a_claim_is_cited_after_the_retrieved_ones():
    h = hits()
    retrieved, sibling = h[:4], h[4:]
    checked = check_claims(
        "DreamZero 使用了 500h 的异构数据 [1]。",
        "DreamZero 的数据规模是多少小时？",
        retrieved,
        hash_scorer(h),
        extra=sibling,
    )
    assert checked.hits[-1].chunk.id == "c5" and len(checked.hits) == 5
    assert checked.citations[0].chunk_id == "c5" and checked.verdicts[0].after == 5


def test_an_english_claim_meets_a_chinese_unit_through_the_lexicon_and_pinyin(assistant):
    question = (
        "Which company is behind SkyReels-V2, and what did it score in the human T2V evaluation?"
    )
    pipeline = assistant.answers
    found = pipeline.evidence(question).hits
    checked = check_claims(
        "SkyReels-V2 comes from Kunlun. It scored 3.14 in the T2V human evaluation.",
        question,
        found,
        pipeline.scorer,
        extra=pipeline.with_siblings(found)[len(found) :],
    )
    assert [v.status for v in checked.verdicts] == ["added", "added"]
    assert all(c.section == "17.2" for c in checked.citations)
    wrong = check_claims("SkyReels-V2 comes from Google.", question, found, pipeline.scorer)
    assert wrong.verdicts[0].status == "unsupported"


def test_a_claim_that_only_restates_the_question_is_not_supported():
    h = hits()
    checked = check_claims(
        "This is the right paper.", "Is this the right paper?", h, hash_scorer(h)
    )
    assert checked.verdicts[0].status == "unsupported"


def test_an_abstract_unit_holds_its_papers_id():
    h = hits_of(abstract("a1", "2602.00558", "NetWorld", "NetWorld adopts the DTDE paradigm."))
    checked = check_claims(
        "NetWorld (arXiv:2602.00558) adopts the DTDE paradigm [1].",
        "What paradigm does NetWorld adopt?",
        h,
        hash_scorer(h),
    )
    assert checked.verdicts[0].status == "supported"
