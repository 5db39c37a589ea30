"""The corpus's vocabulary statistics."""

from assistant.indexing.vocabulary import TermWeights, stem, terms
from tests.answer.helpers import abstract, section


def test_term_weights_know_the_corpus_words():
    weights = TermWeights(
        [
            section("s", "1.1", "节", "V-JEPA 2-AC 与 GR-1 机器人，数据规模 500h。"),
            abstract("a", "2601.00001", "TokAct", "We tokenize actions with DCT."),
        ]
    )
    assert weights.knows("机器人") and weights.knows("tokenize")
    assert not weights.knows("photosynthesis")


def test_specificity_tells_a_corpus_own_words_from_everyday_ones():
    texts = [f"世界模型预测第 {n} 段视频的状态转移，world model {n}。" for n in range(8)]
    texts[0] += "模型通过数据学习。"
    weights = TermWeights([section(f"s{n}", f"1.{n}", "节", t) for n, t in enumerate(texts)])
    assert weights.specificity("模型") > 10 * weights.specificity("通过")
    assert weights.specificity("world") > 5 * weights.specificity("通过")
    assert weights.specificity("鸡蛋") == 0.0  # never used
    assert weights.specificity("7") == float("inf")  # a figure the corpus writes
    # a translation of an everyday question word is as everyday as that word
    assert weights.specificity("转移", "change") < weights.specificity("转移") / 3


def test_terms_fold_plurals_and_keep_order_without_repeats():
    assert stem("challenges") == "challenge" and stem("studies") == "study"
    assert stem("class") == "class" and stem("bus") == "bus"
    assert terms("Challenges of world models, challenge") == ["challenge", "world", "model"]
