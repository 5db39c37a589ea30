from assistant.text import TABLE_ASKED, TABLE_RULE, detect_language, sentence_spans, tokenize


def test_sentence_spans_tile_text_and_split_chinese_and_english():
    text = "第一句。第二句！Third one. Fourth? 最后；尾巴"
    spans = sentence_spans(text)
    assert "".join(text[a:b] for a, b in spans) == text
    parts = [text[a:b].strip() for a, b in spans]
    assert parts == ["第一句。", "第二句！", "Third one.", "Fourth?", "最后；", "尾巴"]


def test_decimal_points_do_not_end_sentences():
    text = "SkyReels-V2 3.14 vs Kling 2.99 分。"
    assert len(sentence_spans(text)) == 1


def test_tokenize_keeps_technical_tokens_whole():
    tokens = tokenize("Wan2.1-14B 与 V-JEPA 在 GR-1 上得分 2.99")
    for token in ("wan2.1-14b", "v-jepa", "gr-1", "2.99"):
        assert token in tokens
    assert "jepa" in tokens and "wan2.1" in tokens


def test_tokenize_segments_chinese_with_jieba():
    tokens = tokenize("世界模型正在成为机器人策略学习的核心组件")
    assert "世界" in tokens and "模型" in tokens and "机器人" in tokens
    assert "的" not in tokens


def test_detect_language():
    assert detect_language("哪些工作把3D几何理解引入世界模型？") == "zh"
    assert detect_language("Which works bring 3D geometry into world models?") == "en"
    assert detect_language("What does 世界模型 mean?") == "en"
    assert detect_language("SkyReels-V2 和 Kling 的 T2V 人类评估分数是多少？") == "zh"
    assert detect_language("Wan2.1-14B 的 VBench 得分是多少？") == "zh"
    assert detect_language("What VBench score is reported for SkyReels-V2?") == "en"


def test_questions_about_a_table_and_the_rule_under_its_header():
    assert TABLE_ASKED.search("对比表中 X 的参数量是多少？") and TABLE_ASKED.search(
        "What does the table list?"
    )
    assert not TABLE_ASKED.search("这项研究表明了什么？") and not TABLE_ASKED.search(
        "the table-clearing chore"
    )
    assert TABLE_RULE.match("|---|:--:|") and TABLE_RULE.match("--- | ---")
    assert not TABLE_RULE.match("| a | b |") and not TABLE_RULE.match("---- 分隔")
