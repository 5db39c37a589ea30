"""The refusal threshold derived from the corpus, and the rules that need none."""

import pytest

from assistant import Assistant, Settings
from assistant.answer.refusal import (
    MARGIN,
    by_pair,
    derivation_key,
    frequent_names,
    has_content,
    heading_questions,
    probe_bank,
    threshold_rule,
    unknown_name,
)
from tests.conftest import BUNDLED_CORPUS


def test_the_probe_bank_has_off_topic_questions_and_templates_in_both_languages():
    bank = probe_bank()
    for language in ("zh", "en"):
        assert len(bank["off_topic"][language]) >= 20
        assert all("{name}" in t for t in bank["near_miss"][language])
        assert "{text}" in bank["from_corpus"]["heading"][language]


def test_threshold_rule_sits_near_the_top_probe_and_below_the_corpus_questions():
    off = {"zh/zh": [i / 100 for i in range(20)], "en/zh": [0.0] * 19 + [0.5], "zh/en": [0.1]}
    own = {"zh/zh": [0.5] * 10}
    thresholds = threshold_rule(off, own)
    assert 0.18 <= thresholds["zh/zh"] - MARGIN <= 0.19  # the 95% quantile
    assert thresholds["en/zh"] - MARGIN < 0.5  # one outlying probe does not set it
    assert "zh/en" not in thresholds  # too few probes met English sentences
    capped = threshold_rule({"zh/zh": [0.3] * 20}, {"zh/zh": [0.1] * 9 + [0.9]})
    assert capped["zh/zh"] == pytest.approx(0.1)  # never above the corpus's own questions
    few = threshold_rule({"zh/zh": [0.3] * 20}, {"zh/zh": [0.1] * 4})
    assert few["zh/zh"] == pytest.approx(0.3 + MARGIN)
    # Chinese headings say nothing of how Chinese questions meet English sentences
    across = threshold_rule({"zh/en": [0.3] * 20}, {"zh/en": [0.1] * 10})
    assert across["zh/en"] == pytest.approx(0.3 + MARGIN)


def test_support_is_judged_per_sentence_language():
    values = by_pair([("zh", {"zh": 0.1, "en": -0.02}), ("en", {"zh": -0.03}), ("zh", {"zh": 0})])
    assert values == {"en/zh": [-0.03], "zh/en": [-0.02], "zh/zh": [0.1, 0]}


@pytest.mark.parametrize("question", ["😀😀", "a", "]i[", "\u200b", "？！", "的", "What is it?"])
def test_questions_without_content(question):
    assert not has_content(question)


@pytest.mark.parametrize("question", ["Genie 2?", "熵是什么东西", "GR00T", "ab"])
def test_questions_with_content(question):
    assert has_content(question)


def test_the_derivation_key_follows_the_settings_that_shape_evidence():
    assert derivation_key({"answer_k": 12}) == derivation_key({"answer_k": 12})
    assert derivation_key({"answer_k": 12}) != derivation_key({"answer_k": 8})


def test_heading_questions_are_spread_over_the_corpus_in_its_languages(assistant):
    built = heading_questions(assistant.index.chunks)
    assert {"zh", "en"} == {lang for lang, _ in built}  # section titles and paper titles
    assert any("九大趋势" in q for _, q in built) and len(built) == len(set(built))


def test_thresholds_are_derived_at_index_time_stored_and_shown(built_index, tmp_path):
    assistant = Assistant(Settings(corpus_dir=BUNDLED_CORPUS, index_dir=built_index))
    assistant.prepare_answers()
    stored = assistant.manifest().refusal
    assert stored is not None and set(stored.thresholds) == {"zh", "en"}
    assert stored.off_topic["zh/zh"].n == len(probe_bank()["off_topic"]["zh"])
    for asked, pairs in stored.thresholds.items():
        for sentences, threshold in pairs.items():
            figures = stored.off_topic[f"{asked}/{sentences}"]
            assert figures.least <= threshold - MARGIN <= figures.most or threshold < figures.most
    facts = assistant.info()["refusal"]
    assert facts["thresholds"] == stored.thresholds and facts["derivation"]["seconds"] > 0
    again = Assistant(Settings(corpus_dir=BUNDLED_CORPUS, index_dir=built_index))
    assert again.answers.refusal_threshold() == stored  # read back, not derived again
    other = Assistant(Settings(corpus_dir=BUNDLED_CORPUS, index_dir=built_index, answer_k=6))
    fresh = other.answers.refusal_threshold()
    assert fresh.key != stored.key and set(fresh.off_topic) == set(stored.off_topic)
    assistant.record_refusal(stored)  # other tests share this index
    fixed = Assistant(
        Settings(corpus_dir=BUNDLED_CORPUS, index_dir=built_index, refusal_threshold=0.5)
    )
    assert fixed.info()["refusal"] == {
        "thresholds": {"zh": {"zh": 0.5, "en": 0.5}, "en": {"zh": 0.5, "en": 0.5}},
        "source": "setting refusal_threshold",
    }


def test_an_everyday_question_outside_the_bank_is_refused_for_weak_support(assistant):
    answer = assistant.ask("法国的首都是哪里？有什么著名的博物馆？")
    assert answer.refused and answer.refusal_reason in ("weak support", "off topic")
    policy = assistant.answers.policy
    weak = policy.value(assistant.answers.evidence("法国的首都是哪里？有什么著名的博物馆？"))
    strong = policy.value(assistant.answers.evidence("FLARE 在真实 GR-1 上的成功率是多少？"))
    assert weak < 0 < strong
    assert not assistant.ask("FLARE 在真实 GR-1 上的成功率是多少？").refused


def test_a_question_naming_what_the_corpus_never_writes_is_off_topic(assistant):
    """However many words it shares with the corpus ("checker", "data"), a question about a
    name no chunk writes, in either language, is about something else."""
    name = next(n for n in frequent_names(assistant.index.chunks, 20) if len(n) >= 3)
    evidence = assistant.answers.evidence
    rust = "How does Rust's borrow checker prevent data races?"
    assert unknown_name(evidence(rust)) == "Rust"
    answer = assistant.ask(rust)
    assert answer.refused and answer.refusal_reason == "off topic"
    assert unknown_name(evidence(f"What does the survey say about {name}?")) is None
    assert unknown_name(evidence("What does Zyxwvut-Qx9 add to Vutsrq?")) == "Zyxwvut-Qx9"
    assert unknown_name(evidence(f"What does Zyxwvut-Qx9 add to {name}?")) is None  # one known
    assert unknown_name(evidence("Which arXiv ID is it?")) is None  # two letters
