import pytest

from assistant.answer.answer_type import (
    expectation,
    figures,
    listed_names,
    names_in,
    unanswered,
)
from assistant.answer.units import chunk_units
from tests.answer.helpers import abstract, section


def answered(question, units) -> bool:
    return unanswered(question, units) is None


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("2024 年全年，世界模型相关论文大约有多少篇？", "figure"),
        ("Genie 2 的模型参数量有多大？", "figure"),
        ("How many tasks does Aether unify?", "figure"),
        ("What FVD score did Vista achieve on nuScenes?", "figure"),
        ("FLARE 在真实机器人上取得了多高的成功率？", "percentage"),
        ("What accuracy does it reach, how much better?", "percentage"),
        ("趋势七里的两篇论文分别叫什么名字？", "names"),
        ("实验用到的 4 个视频世界模型具体是哪几个？", "names"),
        ("Which three benchmarks does the chapter list?", "names"),
        ("Which three healthcare domains does the review cover?", None),  # not named things
        ("表中两个模型的参数量分别是多少？", "figure"),  # two figures, not two names
        ("和训练 5 个完整模型相比，参数量和开销分别只增加了多少？", "figure"),
        ("What is the method called?", None),  # a name is not checked for
        ("有哪些工作开始把三维几何理解融入世界模型？", None),  # 几何 is not 几个
        ("评测流程包括哪几个步骤？", None),  # which steps, not how many
        ("What does NetWorld propose?", None),
        ("What FVD does OccuCast achieve on nuScenes?", "figure"),
        ("What mAP did it reach?", "figure"),
        ("What DreamZero does is new?", None),
        ("Which challenges does the chapter list?", None),
        ("GAIA-1 的训练使用了多少块 GPU、训练了多长时间？", "duration"),
        ("How many GPU hours did it take to train it?", "duration"),
        ("收录了哪几年间的事件？", None),  # which years, not how many
        ("排行榜最近一次更新是在哪一天？", "date"),
        ("When was Genie 3 released?", "date"),
        ("What happens when policies are deployed on real robots?", None),
        ("Under which license are the weights released?", "license"),
        ("Who is the first author of the GameNGen paper?", "authors"),
        ("What do the authors see as the central difficulty?", None),
        ("SplatArcade 和 Genie 3 相比，哪一个的长时一致性更好？", "comparison"),
        ("Which model beats ECMWF's system on week 3-4 skill?", None),  # one name: the answer
        ("在指令注入攻击下，被诱发出危险动作的比例是多少？", "percentage"),
        ("At what control frequency does Helix run?", "figure"),
        ("ViscoFlow 是哪所大学或研究机构提出的？", "organisation"),
        ("Which company makes the robot that FinchBody was tested on?", "organisation"),
        ("Who built Veo 3?", "organisation"),
        ("Who wrote the Veo 3 report?", "authors"),
    ],
)
def test_the_answer_type_comes_from_how_the_question_asks(question, kind):
    assert expectation(question).kind == kind


def test_names_are_capitalised_or_alphanumeric_latin_words_minus_framing_words():
    assert names_in("What success rate did DreamZero reach on GR-1 in the Chapter?") == (
        "dreamzero",
        "gr-1",
    )
    assert names_in("V-JEPA 2-AC 在 ImageNet 上") == ("v-jepa", "2-ac", "imagenet")
    assert names_in("the lowest 3-second L2 error") == ("l2",)  # 3-second: a quantity


def test_figures_skip_numbers_the_question_has_and_dates_unless_it_asks_when():
    text = "Genie 2 于 2024.12 发布，参数 11B，成功率 95.1%，覆盖七个类别，seven tasks。"
    assert figures(text, "Genie 2 有多大？") == ["11B", "95.1%", "七个", "seven"]
    assert "2024.12" in figures(text, "Genie 2 是哪一年发布的？", when=True)


def _units(text, title="节"):
    return chunk_units(section("s", "1.1", title, text))


def test_a_figure_must_stand_next_to_what_the_question_names():
    units = _units("DreamZero 采用 500h 数据。FLARE 的成功率为 95.1%。DreamZero 很强。")
    assert answered("DreamZero 用了多少小时数据？", units)
    assert not answered("DreamZero 的参数量有多大？", [units[2]])
    assert not answered("DreamZero 的成功率是多少？", [units[0], units[2]])  # 500h: no %
    assert answered("FLARE 的成功率是多少？", units)


def test_a_versioned_name_is_one_name_and_every_identifier_asked_must_be_quoted():
    units = _units("2024 年 12 月：Genie 2 可以生成三维环境。Genie 3 达到 720p 与 24 fps。")
    assert expectation("Genie 2 的参数量有多大？").names == ("genie 2",)
    assert not answered("Genie 2 的参数量有多大？", units)  # 12 月 is a month, 24 fps Genie 3's
    assert answered("Genie 3 的帧率是多少？", units)
    nuscenes = _units("HeronDrive 在 nuScenes 上的 FVD 为 89.4。")
    assert answered("What FVD does HeronDrive reach on nuScenes?", nuscenes)
    assert not answered("What FVD does HeronDrive reach on Waymo2D?", nuscenes)
    assert answered("What FVD does HeronDrive reach in the ED?", nuscenes)  # no identifier


def test_a_name_question_needs_a_new_name_or_a_linked_paper():
    plain = _units("手术（2 篇）、医疗（6 篇）。")
    assert not answered("手术方向的两篇论文叫什么名字？", plain)
    linked = _units("[SurgWM](https://arxiv.org/abs/2601.00001) 用于手术。")
    assert answered("手术方向的论文叫什么名字？", linked)
    paper = chunk_units(abstract("a", "2601.00002", "T", "We call it SurgeNet."))
    assert answered("What is the surgery model called?", paper)


def test_lists_of_names_are_names_joined_by_list_separators():
    assert listed_names("Genie 2、SIMA 2 和 V-JEPA 2-AC 等") == 3
    assert listed_names("阿里 Wan2.1、腾讯 HunyuanVideo、智谱 CogVideoX") == 3
    assert listed_names("WorldSimBench (arXiv:2410.18072)、4DWorldBench (arXiv:2511.00001)") == 2
    assert listed_names("Survey on AD (arXiv:2502.10498) 指出当前 WM 在长尾场景") == 1
    assert listed_names("and Joint Embedding Architecture i.e., JEPA-style learning") == 1
    assert listed_names("point cloud, occupancy, and traffic map") == 0
    assert listed_names("开源模型已超越闭源产品（SkyReels-V2 3.14 vs Kling 2.99）") == 2
    assert (
        listed_names("Papers are collected at https://github.com/LMD0311/Awesome-World-Model.") == 0
    )


def test_names_of_a_counted_set_need_that_many_names_listed():
    question = "手术方向的两篇论文分别叫什么名字？"
    assert unanswered(question, _units("医疗（6 篇）、手术（2 篇）等领域快速涌现。")) == "names"
    one = _units("[SurgWM](https://arxiv.org/abs/2601.00001) 用于手术，另有一篇未公开。")
    assert unanswered(question, one) == "names"
    assert unanswered(question, _units("手术方向有 SurgWM 和 OpenSurg 两篇。")) is None
    items = _units(
        "两篇论文：\n\n- [SurgWM](https://arxiv.org/abs/2601.00001)：模拟术野。\n"
        "- OpenSurg：规划器械动作。\n"
    )
    assert unanswered(question, items) is None
    labelled = _units(
        "伦理：\n\n- 医疗责任：[SurgWM](https://arxiv.org/abs/2601.00001) 影响决策。\n"
        "- 数据隐私：[OpenSurg](https://arxiv.org/abs/2601.00002) 使用影像。\n"
    )
    assert unanswered(question, labelled) == "names"  # items open with labels, not names
    sentences = _units(
        "[SurgWM](https://arxiv.org/abs/2601.00001) 模拟术野。"
        "[OpenSurg](https://arxiv.org/abs/2601.00002) 则规划器械动作。"
    )
    assert unanswered(question, sentences) is None
    paper = chunk_units(abstract("a", "2601.00003", "T", "Existing models fail. Surgery is hard."))
    assert unanswered(question, paper) == "names"  # capitalised first words name nothing


def test_who_built_it_is_asked_besides_other_kinds():
    asked = expectation("Which company built GAIA-1, and how many parameters does it have?")
    assert asked.kind == "figure" and asked.also == ("organisation",)


def test_who_built_it_is_refused_without_a_sentence_crediting_a_maker():
    assert answered("Which company built GAIA-1?", _units("GAIA-1 是英国 Wayve 公司发布的模型。"))
    assert unanswered("Which company built GAIA-1?", _units("GAIA-1 参数 9B。")) == "organisation"


def test_questions_of_no_checked_type_are_always_answered():
    assert answered("What does NetWorld propose?", [])


def test_a_figure_in_a_clause_about_something_else_is_not_the_answer():
    units = _units("DreamZero 的 500h 异构数据策略和 FLARE 在真实 GR-1 上的 95.1% 成功率。")
    assert not answered("DreamZero 的成功率是多少？", units)
    assert answered("FLARE 的成功率是多少？", units)
    assert answered("DreamZero 用了多少小时数据？", units)
    english = _units("FLARE reaches 95.1% on GR-1, while DreamZero trains on 500h of data.")
    assert not answered("What success rate did DreamZero reach?", english)
    assert answered("What success rate did FLARE reach?", english)


def test_a_figure_later_in_the_paragraph_that_names_the_subject_counts():
    units = _units("CounterCare 关注脓毒症。在回顾性队列中，一致的患者死亡率为 18.4%。")
    assert answered("CounterCare 里一致的患者死亡率是多少？", [units[1]])
    other = _units("VitalSim 关注 ICU。在回顾性队列中，一致的患者死亡率为 18.4%。")
    assert not answered("CounterCare 里一致的患者死亡率是多少？", [other[1]])


def test_a_count_of_people_needs_people_counted():
    question = "EndoDream 的盲测有多少名医生参与？"
    assert expectation(question).also == ("people",)
    assert expectation("多少人工标注？").also == ()  # 人工 is no person
    assert answered(question, _units("EndoDream 邀请 12 名外科医生进行盲测。"))
    assert not answered(question, _units("EndoDream 的盲测中 56% 的片段被判为真实。"))
    assert answered("How many annotators took part?", _units("It was judged by 240 annotators."))


def test_a_clause_about_the_paper_a_title_names_is_about_what_the_question_names():
    paper = abstract(
        "a", "2512.00001", "MagpieSoc: A Turing-Style Human Study", "MagpieSoc asks 240 annotators."
    )
    question = "In the Turing-style study, how many annotators took part?"
    assert answered(question, chunk_units(paper))
    other = abstract("b", "2512.00002", "Other work", "MagpieSoc asks 240 annotators.")
    assert not answered(question, chunk_units(other))


def test_how_far_off_asks_for_a_figure_not_a_distance():
    assert expectation("How far off were its simulated waiting times?").also == ()
    assert expectation("How far can the robot drive?").also == ("distance",)


def test_coordinated_subjects_share_the_figures_that_follow():
    units = _units("FLARE 和 DreamZero 的成功率分别为 95.1% 和 90%。")
    assert answered("FLARE 的成功率是多少？", units)
    assert answered("DreamZero 的成功率是多少？", units)
    later = _units("DreamZero 使用 500h 数据，在 GR-1 上达到 90% 成功率。")
    assert answered("What success rate did DreamZero reach?", later)


def test_proper_names_are_spelled_as_names_or_own_something():
    from assistant.answer.answer_type import proper_names

    question = "How do GR00T N1, DreamZero and TCP compare on nuScenes (arXiv:2601.12939v2)?"
    assert proper_names(question) == ("GR00T", "N1", "DreamZero", "TCP", "nuScenes")
    assert proper_names("How does Rust's borrow checker work?") == ("Rust",)
    # other capitalised words, figures and links are not names
    assert (
        proper_names("How did Publication counts reach 500h and 95.1% at https://x.org/A1?") == ()
    )
    assert proper_names("What is the Long-term outlook of the chapter's Alibaba model?") == ()


def test_a_thousands_separator_does_not_break_a_clause():
    from assistant.answer.answer_type import clauses

    parts = [c.text.strip() for c in clauses("DreamZero 使用 1,000 小时数据, and FLARE 更少。")]
    assert parts[0] == "DreamZero 使用 1,000 小时数据"
    assert "1,000" in figures(parts[0], "DreamZero 用了多少小时数据？")


def test_a_metric_question_needs_the_figure_in_that_metric():
    units = _units("OccuCast 的 L2 误差为 0.62 m，碰撞率 0.19%。Vista 的 FVD 为 89.4。")
    assert not answered("What FVD does OccuCast achieve?", units)
    assert answered("What L2 does OccuCast achieve?", units)
    assert answered("What FVD does Vista achieve?", units)


def test_a_metric_is_read_in_its_table_column():
    table = (
        "| 模型 | FVD↓ | L2 (m)↓ |\n|---|---|---|\n| OccuCast | — | 0.62 |\n"
        "| Vista | 89.4 | 0.71 |\n"
    )
    units = chunk_units(section("t", "1.1", "表", table))
    assert not answered("What FVD does OccuCast achieve?", units)
    assert answered("What FVD does Vista achieve?", units)
    assert answered("What L2 does OccuCast achieve?", units)


def test_a_clause_after_a_semicolon_is_about_what_the_sentence_named():
    units = _units("LoomPlay 训练了 2.7B 参数的模型；只需 50 小时数据对齐，准确率达到 87.5%。")
    assert units[1].before.startswith("LoomPlay")
    assert answered("LoomPlay 的映射准确率是多少？", [units[1]])
    assert not answered("DreamZero 的映射准确率是多少？", [units[1]])


def test_a_duration_needs_a_unit_of_time_and_a_month_of_the_year_is_none():
    units = _units(
        "2024 年 10 月：Oasis 发布，开源版本为 500M 参数。GAIA-1 使用约 4,700 小时的数据训练。"
    )
    assert answered("GAIA-1 训练了多长时间？", units)
    assert not answered("Oasis 的训练数据一共有多少小时？", [units[0]])


def test_a_table_cell_takes_its_unit_from_the_column_header():
    table = "| 模型 | 训练数据（小时） |\n|---|---|\n| WombatCache | 12,500 |\n"
    units = _units(table)
    assert answered("Which model was trained on the most data, and how many hours?", units)
    assert not answered(
        "How many hours of data was it trained on?",
        _units("| 模型 | 参数 |\n|---|---|\n| W | 12,500 |\n"),
    )


def test_a_day_question_needs_a_day_and_a_when_question_a_year():
    units = _units("PlayJudge-9 于 2025 年发布，排行榜每季度更新。")
    assert answered("When was PlayJudge-9 released?", units)
    assert not answered("PlayJudge-9 的排行榜最近一次更新是在哪一天？", units)
    assert answered(
        "排行榜是在哪一天更新的？", _units("PlayJudge-9 的排行榜于 2025 年 3 月 12 日更新。")
    )


def test_license_questions_need_a_license_and_author_questions_nothing():
    open_only = _units("Oasis 开源了 500M 参数的版本。")
    assert not answered("Under which license is Oasis released?", open_only)
    assert answered("Under which license is Oasis released?", _units("Oasis 以 MIT 许可证开源。"))
    # who wrote it only ranks a paper's byline first: never refused for want of authors
    assert unanswered("Who is the first author of Oasis?", open_only) is None


def test_a_comparison_needs_both_things_side_by_side():
    apart = _units("SplatArcade 的长时一致性为 0.8。Genie 3 能在数分钟内保持一致。")
    question = "SplatArcade 和 Genie 3 相比，哪一个的长时一致性更好？"
    assert not answered(question, apart)
    assert answered(question, _units("SplatArcade 的一致性优于 Genie 3。"))
    rows = _units("| 模型 | 一致性 |\n|---|---|\n| SplatArcade | 0.8 |\n| Genie 3 | 0.7 |\n")
    assert answered(question, rows)


def test_a_count_of_devices_memory_distance_or_steps_needs_that_unit():
    gpus = _units("I-JEPA 在 16 块 A100 上预训练 72 小时。")
    assert answered("I-JEPA 预训练用了多少块 GPU、花了多长时间？", gpus)
    assert answered("How many GPUs was I-JEPA pre-trained on?", _units("I-JEPA used 64 TPUs."))
    data = _units("GAIA-1 约 9B 参数，使用约 4,700 小时的行车数据训练。")
    assert not answered("GAIA-1 的训练使用了多少块 GPU？", data)
    assert unanswered("GAIA-1 的训练使用了多少块 GPU、训练了多长时间？", data) == "devices"
    memory = "PeridotWM 推理时需要多少显存？能在一张 24GB 的显卡上跑吗？"
    assert not answered(memory, _units("PeridotWM 参数量为 1.2B，推理速度 30 fps。"))
    assert answered(memory, _units("PeridotWM 推理时占用约 18GB 显存。"))
    assert not answered("规划时域设为多少步？", _units("CobaltSim 的规划成功率为 79.4%。"))
    assert answered("How far ahead does it plan, how many meters?", _units("它规划前方 50 米。"))
    assert expectation("哪个模型把显存占用降低了 58%？").also == ()  # asks which model


def test_an_availability_question_needs_code_or_weights_said_of_what_it_names():
    question = "Is the QuartzSlots code open source? Where can I find the GitHub repo?"
    other = chunk_units(abstract("a", "2601.00003", "GarnetJEPA", "Code accompanies the paper."))
    assert not answered(question, other)  # code, but GarnetJEPA's
    own = chunk_units(abstract("b", "2601.00004", "QuartzSlots", "Code is on GitHub."))
    assert answered(question, own)
    assert not answered(question, _units("QuartzSlots 把场景分解为 8 个槽。"))
