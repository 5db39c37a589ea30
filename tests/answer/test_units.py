from assistant.answer.units import chunk_units, render_inline
from tests.answer.helpers import LINKS, TABLE, abstract, section


def test_table_rows_are_units_shown_with_their_header():
    units = chunk_units(section("t", "17.1", "观察", TABLE))
    rows = [u for u in units if u.kind == "row"]
    assert [r.display for r in rows] == [
        "时间段: 2023 · 估计论文数量: ~40 篇",
        "时间段: 2024 · 估计论文数量: ~80 篇",
    ]
    assert rows[1].text == "| 2024 | ~80 篇 |"  # the quote stays verbatim
    assert rows[1].cells == (("时间段", "2024"), ("估计论文数量", "~80 篇"))
    assert not any(u.cells for u in units if u.kind != "row")


def test_later_sentences_of_a_paragraph_keep_its_opening():
    text = (
        "[CounterCare](https://arxiv.org/abs/2509.14406) 关注脓毒症。死亡率为 18.4%。\n\n另一段。"
    )
    first, second, other = chunk_units(section("t", "1", "节", text))
    assert first.opening == "" and other.opening == ""
    assert second.opening == first.display and "countercare" in second.about
    named = chunk_units(section("t", "1", "节", "OccuCast 的 L2 为 0.62。Vista 的 FVD 为 89.4。"))
    assert named[1].opening == ""  # a sentence naming its own subject inherits none


def test_row_cells_are_rendered_and_headerless_rows_have_none():
    md = "| 模型 | 链接 |\n|---|---|\n| **Genie** | [Genie 3](https://arxiv.org/abs/2501.00001) |\n"
    (row,) = [u for u in chunk_units(section("t", "1", "表", md)) if u.kind == "row"]
    assert row.cells == (("模型", "Genie"), ("链接", "Genie 3 (arXiv:2501.00001)"))
    assert row.linked == ("2501.00001",)
    chunk = section("t", "1", "表", "正文。\n\n| a | b |\n")
    (bare,) = [u for u in chunk_units(chunk) if u.kind == "row"]
    assert bare.cells == () and bare.display == "a · b"


def test_sentences_are_exact_spans_of_the_chunk():
    chunk = section("t", "17.1", "观察", TABLE)
    for unit in chunk_units(chunk):
        assert chunk.text[unit.start : unit.end] == unit.text
    sentences = [u.display for u in chunk_units(chunk) if u.kind == "sentence"]
    assert sentences == [
        "从 2024 年起，论文呈指数级增长。",
        "2025 年仅前两个月即产出超过 50 篇相关论文。",
    ]


def test_links_name_the_arxiv_id_and_bullets_go():
    units = chunk_units(section("l", "17.4.2", "多智能体", LINKS))
    assert units[0].display.startswith("NetWorld (arXiv:2602.00558) 在无线网络中")
    assert units[0].linked == ("2602.00558",)
    assert units[1].linked == ()
    assert render_inline("**粗体** and \\emph{x}") == ("粗体 and x", ())


def test_abstract_title_is_its_own_unit():
    units = chunk_units(
        abstract("a", "2602.00558", "NetWorld: A Model", "We propose it. It works.")
    )
    assert [u.kind for u in units] == ["title", "sentence", "sentence"]
    assert units[0].context == "NetWorld: A Model"


def test_lead_line_introduces_its_items():
    chunk = section(
        "s", "17.5", "未来展望", "**中期（2027–2030）**：\n- 统一世界模型\n- 通用物理引擎\n\n其他。"
    )
    units = chunk_units(chunk)
    assert units[0].kind == "lead"
    assert [u.display for u in units if u.lead == 0] == ["统一世界模型", "通用物理引擎"]
    assert units[-1].lead is None


def test_bold_heading_gives_its_paragraph_context_and_a_blank_line_ends_it():
    chunk = section(
        "h",
        "17.2",
        "九大趋势",
        "**趋势一：从像素生成到物理理解**\n视频模型走向物理。COSMOS 等工作嵌入推理。\n\n"
        "**趋势二：主动交互**\nGenie 2 代表主动交互。\n\n收尾的一句。",
    )
    units = chunk_units(chunk)
    assert [u.kind for u in units] == [
        "heading",
        "sentence",
        "sentence",
        "heading",
        "sentence",
        "sentence",
    ]
    assert units[1].lead == 0 and units[2].lead == 0 and units[4].lead == 3
    assert units[5].lead is None  # after a blank line, outside any heading
    assert units[1].scoring_text == "九大趋势 › 趋势一：从像素生成到物理理解: 视频模型走向物理。"
    assert units[4].shown_with_lead() == "趋势二：主动交互：Genie 2 代表主动交互。"
    assert [u.display for u in units if u.lead == 3] == ["Genie 2 代表主动交互。"]


def test_items_show_their_bold_lead_but_not_a_plain_lead_sentence():
    chunk = section(
        "s",
        "17.5",
        "未来展望",
        "**中期（2027–2030）**：\n- 统一世界模型\n\n进展如下：\n\n- NetWorld 引入 RL\n",
    )
    units = chunk_units(chunk)
    item, plain_item = units[1], units[3]
    assert item.shown_with_lead() == "中期（2027–2030）： 统一世界模型"
    assert plain_item.lead == 2 and plain_item.shown_with_lead() == "NetWorld 引入 RL"


def test_abbreviations_do_not_end_sentences():
    chunk = abstract(
        "a", "2601.14354", "VJEPA", "It satisfies constraints (e.g. goal, physics). Done."
    )
    assert [u.display for u in chunk_units(chunk)][1:] == [
        "It satisfies constraints (e.g. goal, physics).",
        "Done.",
    ]


def test_rows_of_a_table_split_across_chunks_pair_with_the_real_header():
    from assistant.ingest.chunking import chunk_section
    from assistant.ingest.corpus import parse_markdown

    rows = "\n".join(f"| 模型{i} | {i}.5% | 很长的描述文字用来占位 |" for i in range(30))
    md = "### 2.1 表格\n\n| 名称 | 分数 | 说明 |\n|------|-------|---|\n" + rows + "\n"
    section = parse_markdown(md, "t.md")[0]
    later = chunk_section(section, len, max_tokens=200, overlap_tokens=0)[1]
    shown = [unit.display for unit in chunk_units(later) if unit.kind == "row"]
    assert shown and all(s.startswith("名称: 模型") and "分数: " in s for s in shown)
    assert not any("---" in s for s in shown)


def test_vitepress_markup_images_and_html_are_never_quoted_code_lines_are():
    text = (
        "::: tip 阅读提示\n本章介绍定义。\n:::\n\n"
        '<img src="./wm.png" alt="diagram" width="400"/>\n\n![示意图](./wm2.png)\n\n'
        "```yaml\ncontext_frames: 4\n```\n\n"
        "Dreamer 系列[^1]在 Atari 上取得 SOTA。\n\n<details>\n<summary>展开</summary>\n"
        "隐藏内容：JEPA 架构。\n</details>\n\n[^1]: Hafner et al., 2019.\n"
    )
    shown = [unit.display for unit in chunk_units(section("v", "1.1", "节", text))]
    assert shown == [
        "本章介绍定义。",
        "context_frames: 4",
        "Dreamer 系列在 Atari 上取得 SOTA。",
        "展开",
        "隐藏内容：JEPA 架构。",
        "Hafner et al., 2019.",
    ]


def test_a_code_line_is_matched_with_its_block_language():
    units = chunk_units(section("c", "1.1", "配置", "示例：\n\n```yaml\ncontext_frames: 4\n```\n"))
    code = next(u for u in units if u.kind == "code")
    assert code.display == "context_frames: 4" and "yaml" in code.scoring_text


def test_an_abstract_chunk_last_line_of_authors_is_its_byline():
    units = chunk_units(
        abstract("a", "2601.00001", "T", "We do this. It works.\n\nAuthors: A. One")
    )
    assert [u.kind for u in units] == ["title", "sentence", "sentence", "byline"]
    assert units[-1].display == "Authors: A. One"


def test_a_name_is_mentioned_as_a_word_of_its_own_in_either_number():
    from assistant.answer.units import mentions

    assert mentions("the kl penalty", "kl") and not mentions("correlates only weakly", "kl")
    assert not mentions("gpt-4o is faster", "gpt-4") and mentions(
        "用 dreamzero 的数据", "dreamzero"
    )
    assert mentions("三种 vla 融合范式", "vlas") and mentions("v-jepa 2-ac 在", "v-jepa 2-ac")
