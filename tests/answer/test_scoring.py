import re
from collections.abc import Sequence

import numpy as np

from assistant.answer.rules import ablated
from assistant.answer.scoring import ScoringWeights, UnitScorer, sample_units
from assistant.indexing.embeddings.base import Embedder
from tests.answer.helpers import abstract, hits_of, section


class TopicEmbedder(Embedder):
    """Vectors with a language part and a topic part (the last ``T3`` in the text):
    like a small multilingual model, it rates any same-language pair above a
    cross-language pair on the same topic."""

    id = "topic:8"
    dim = 8

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        vec[1 if re.search(r"[\u4e00-\u9fff]", text) else 0] = 0.8
        topics = re.findall(r"T(\d)", text)
        if topics:
            vec[2 + int(topics[-1])] = 0.6
        return vec / np.linalg.norm(vec)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


def test_standardising_per_kind_lets_a_chinese_answer_beat_english_look_alikes():
    paper = abstract(
        "a", "2601.00001", "Paper T0", "About T0. About T1. About T0 again. About T1 too."
    )
    survey = section(
        "s", "1.1", "节", "讲 T4 的一句。讲 T5 的一句。答案在 T2 这里。讲 T5 的另一句。"
    )
    hits = hits_of(paper, survey)
    weights = ScoringWeights(lexical=0.0, chunk=0.0, named=0.0)
    scorer = UnitScorer([paper, survey], TopicEmbedder(), weights)
    scored = scorer.score("Where is T2 discussed?", hits)
    assert scored[0].unit.display == "答案在 T2 这里。"
    # the raw cosine alone prefers every English sentence (the trap being removed)
    assert max(s.dense for s in scored if s.hit.chunk.kind == "abstract") > scored[0].dense
    assert scored[0].z == max(s.z for s in scored)


def test_statistics_sample_is_capped_and_spread_over_the_corpus():
    chunks = [section(f"c{n}", f"1.{n}", "节", f"第 {n} 句。另一句。") for n in range(10)]
    sample = sample_units(chunks, 5)
    assert list(sample) == ["section"] and len(sample["section"]) == 5
    assert (
        len({u.chunk_id for u in sample["section"]}) == 5
    )  # every other chunk, not the first five units
    assert len(sample_units(chunks, 100)["section"]) == 20


def test_an_english_question_term_counts_as_found_in_a_chinese_sentence_holding_its_translation():
    from assistant.indexing.lexicon import Lexicon

    survey = section("s", "1.1", "节", "任务：驾驶场景生成，方法 Vista。")
    paper = abstract("a", "2601.00001", "Paper", "We study world models.")
    lex = Lexicon({"驾驶": [("drive",)], "场景": [("scene",)], "生成": [("generat",)]})
    plain = UnitScorer([survey, paper], TopicEmbedder(), ScoringWeights())
    bilingual = UnitScorer([survey, paper], TopicEmbedder(), ScoringWeights(), lexicon=lex)
    question = ["driving", "scene", "generation"]
    unit = next(u for u in _units(survey) if "驾驶" in u.display)
    assert plain.coverage(question, unit) == 0.0
    assert bilingual.coverage(question, unit, bilingual.translations(question)) == 1.0
    # the other way round: a Chinese term meets an English sentence through its gloss
    english = Lexicon({"世界": [("world",)]})
    scorer = UnitScorer([survey, paper], TopicEmbedder(), ScoringWeights(), lexicon=english)
    abstract_unit = next(u for u in _units(paper) if "world" in u.display)
    assert scorer.coverage(["世界"], abstract_unit, scorer.translations(["世界"])) == 1.0


def _units(chunk):
    from assistant.answer.units import chunk_units

    return chunk_units(chunk)


class GlossEmbedder(TopicEmbedder):
    """Only the Chinese word 生态 carries a topic: a model that cannot match an English
    paraphrase ("ecosystem") to the Chinese sentence on its own."""

    def _vector(self, text: str) -> np.ndarray:
        return super()._vector(text.replace("生态", "T2"))


def test_an_english_question_lent_the_chinese_words_of_its_terms_meets_the_chinese_sentence():
    from assistant.indexing.lexicon import Lexicon

    survey = section("s", "1.1", "节", "开源生态最活跃。闭源模型很多。")
    paper = abstract("a", "2601.00001", "Paper", "An ecosystem of simulators. We study agents.")
    hits = hits_of(survey, paper)
    weights = ScoringWeights(lexical=0.0, chunk=0.0, named=0.0)
    lex = Lexicon({"生态": [("ecosystem",)]})
    plain = UnitScorer([survey, paper], GlossEmbedder(), weights, lexicon=Lexicon({}))
    bilingual = UnitScorer([survey, paper], GlossEmbedder(), weights, lexicon=lex)

    def z_of(scorer, question, text="开源生态最活跃。"):
        return next(s.z for s in scorer.score(question, hits) if s.unit.display == text)

    question = "Which open ecosystem is the most active?"
    assert z_of(bilingual, question) > z_of(plain, question)
    assert bilingual.score(question, hits)[0].unit.display == "开源生态最活跃。"
    # English units and Chinese questions are scored as before
    english = "An ecosystem of simulators."
    assert z_of(bilingual, question, english) == z_of(plain, question, english)
    assert z_of(bilingual, "哪个生态最活跃？") == z_of(plain, "哪个生态最活跃？")


def test_a_paper_byline_is_scored_only_for_a_question_asking_who_wrote_it():
    paper = abstract("a", "2601.00001", "Paper T0", "About T0. About T1.\n\nAuthors: Ann T0")
    scorer = UnitScorer([paper], TopicEmbedder(), ScoringWeights())
    kinds = [s.unit.kind for s in scorer.score("What does Paper T0 find?", hits_of(paper))]
    assert "byline" not in kinds and "sentence" in kinds
    asked = scorer.score("Who wrote Paper T0?", hits_of(paper))
    assert asked[0].unit.kind == "byline"
    company = scorer.score("Which company built Paper T0?", hits_of(paper))
    assert "byline" not in [s.unit.kind for s in company]


def test_a_sentence_pointing_at_a_web_page_is_quoted_only_when_asked_where_or_what_license():
    text = "We propose T0 for T1. The papers are collected at https://github.com/x/awesome-t0."
    paper = abstract("a", "2601.00001", "Paper T0", text)
    note = section("s", "1.1", "T0", "See https://github.com/x/awesome-t0 for the papers.")
    scorer = UnitScorer([paper, note], TopicEmbedder(), ScoringWeights())

    def shown(question: str) -> list[str]:
        return [s.unit.display for s in scorer.score(question, hits_of(paper, note))]

    plain = shown("Which papers propose T0?")
    assert "We propose T0 for T1." in plain
    assert [d for d in plain if "github" in d] == [  # the survey's own sentence stays
        "See https://github.com/x/awesome-t0 for the papers."
    ]
    with ablated(["type:availability"]):
        assert len(shown("Which papers propose T0?")) == len(plain) + 1
    for asked in ("Is the code of T0 on GitHub?", "What license is T0 released under?"):
        assert any("collected at https://github.com" in d for d in shown(asked))


def test_a_question_for_a_table_extreme_ranks_the_row_holding_it_first():
    table = section(
        "t",
        "1.5",
        "对比",
        "| 模型 | 参数量 |\n|---|---|\n| T0 | 7B |\n| T1 | 55B |\n| T2 | 3B |\n",
    )
    scorer = UnitScorer([table], TopicEmbedder(), ScoringWeights())
    scored = scorer.score("表中哪个模型的参数量最大？", hits_of(table))
    assert scored[0].unit.display == "模型: T1 · 参数量: 55B"
    smallest = scorer.score("表中哪个模型的参数量最小？", hits_of(table))
    assert smallest[0].unit.display == "模型: T2 · 参数量: 3B"


def test_a_question_about_a_table_ranks_its_rows_above_sentences_naming_the_same_model():
    text = "对比表中 T1 的参数量为 55B。\n\n| 模型 | 参数量 |\n|---|---|\n| T1 | 55B |\n| T2 | 3B |"
    table = section("t", "1.5", "对比", text)
    scorer = UnitScorer([table], TopicEmbedder(), ScoringWeights())
    assert scorer.score("对比表中 T1 的参数量是多少？", hits_of(table))[0].unit.kind == "row"


class CountingEmbedder(TopicEmbedder):
    def __init__(self) -> None:
        self.calls = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        return super().embed_documents(texts)


def test_every_quotable_unit_is_embedded_at_index_time_up_to_a_cap(tmp_path):
    chunks = [section(f"s{n}", f"1.{n}", "节", f"句 T{n} 一。句 T{n} 二。") for n in range(3)]
    chunks.append(abstract("a", "2601.00001", "Paper T4", "About T4.\n\nAuthors: Ann"))
    embedder = CountingEmbedder()
    cache = tmp_path / "cache.npz"
    scorer = UnitScorer(chunks, embedder, ScoringWeights(), cache_path=cache)
    assert scorer.prepare(max_units=3) == 0 and embedder.calls == 0  # 8 units: over the cap
    assert scorer.prepare(max_units=100) == 8  # bylines only for author questions
    assert cache.is_file() and scorer.prepare(max_units=100) == 0  # cached: nothing again
    again = UnitScorer(chunks, CountingEmbedder(), ScoringWeights(), cache_path=cache)
    again.score("句 T1", hits_of(*chunks))
    assert again.vectors.embedder.calls == 0  # the question found every unit cached
