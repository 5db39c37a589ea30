from assistant.evaluation.answers import AnswerEvaluator
from assistant.evaluation.retrieval import EvalQuestion, load_questions
from assistant.models import Answer, Citation
from tests.answer.helpers import sample_hits


def _answer(text: str, cite: list[str], backend: str = "none", refused: bool = False) -> Answer:
    hits = sample_hits()
    by_id = {h.chunk.id: h for h in hits}
    citations = [
        Citation(
            marker=n, kind="section" if by_id[c].chunk.kind == "section" else "arxiv", chunk_id=c
        )
        for n, c in enumerate(cite, 1)
    ]
    return Answer(
        question="q",
        text=text,
        citations=citations,
        hits=hits,
        backend=backend,
        refused=refused,
        grounded=1.0,
    )


def test_metrics_from_scored_answers():
    questions = [
        EvalQuestion(id="a", question="2024?", lang="zh", sections=["17.1"], expect=["~80 篇"]),
        EvalQuestion(
            id="b", question="NetWorld?", lang="en", sections=["17.4.2"], arxiv=["2602.00558"]
        ),
        EvalQuestion(id="u", question="batch size?", lang="en", answerable=False),
        EvalQuestion(id="v", question="lr?", lang="en", answerable=False),
    ]
    ev = AnswerEvaluator(questions)
    results = [
        ev.score(questions[0], _answer("2024 年 ~80 篇 [1]", ["c1", "c2"]), 0.1),
        ev.score(questions[1], _answer("NetWorld uses DTDE [1]", ["c3"]), 0.1),
        ev.score(questions[2], _answer("refused", [], refused=True), 0.1),
        ev.score(questions[3], _answer("some claim [1]", ["c1"]), 0.1),
    ]
    metrics = ev.summarise("none", results)
    assert metrics.citation_precision == 2 / 3  # c2 is not a gold section of question a
    assert metrics.citation_recall == 1.0
    assert metrics.refusal_accuracy == 0.5 and metrics.false_refusal_rate == 0.0
    assert metrics.expect_any == 1.0
    assert metrics.language_match is None  # extractive answers quote the sources as written


def test_language_mismatch_is_reported_for_llm_backends():
    question = EvalQuestion(id="a", question="How many?", lang="en", sections=["17.1"])
    ev = AnswerEvaluator([question])
    wrong = ev.score(
        question, _answer("大约有八十篇论文 [1]。", ["c1"], backend="openai-compatible"), 0.1
    )
    right = ev.score(
        question, _answer("About 80 papers [1].", ["c1"], backend="openai-compatible"), 0.1
    )
    assert wrong.language_match is False and right.language_match is True
    assert ev.summarise("openai-compatible", [wrong, right]).language_match == 0.5


def test_expect_matching_ignores_width_case_and_dashes(tmp_path):
    question = EvalQuestion(id="a", question="q", sections=["17.1"], expect=["Dreamer V1–V2"])
    result = AnswerEvaluator([question]).score(question, _answer("dreamer v1-v2 [1]", ["c1"]), 0.1)
    assert result.expect_any
    path = tmp_path / "q.jsonl"
    path.write_text(question.model_dump_json() + "\n\n", encoding="utf-8")
    assert load_questions(path) == [question]


def test_claim_metrics_of_llm_answers():
    from assistant.models import Repair

    question = EvalQuestion(
        id="a", question="2024?", lang="zh", sections=["17.1"], expect=["~80 篇"]
    )
    ev = AnswerEvaluator([question])
    checked = _answer(
        "2024 年约 80 篇 [1]。NetWorld 引入 RL [2]。", ["c1", "c2"], "openai-compatible"
    )
    checked.unsupported = ["另一句。"]
    checked.repaired = [Repair(claim="NetWorld 引入 RL。", before=None, after=2)]
    checked.citations[0].quotes = ("时间段: 2024 · 估计论文数量: ~80 篇",)
    replaced = _answer("quoted [1]", ["c1"], "openai-compatible")
    replaced.replaced, replaced.unsupported, replaced.fallback = "x", ["x", "y"], True
    results = [ev.score(question, checked, 0.1), ev.score(question, replaced, 0.1)]
    metrics = ev.summarise("openai-compatible", results)
    assert results[0].supported_claims == 2 and results[0].gold_claims == 1
    assert metrics.claim_citation_precision == 0.5  # c2 is not a gold section
    assert metrics.claims == 5 and metrics.unsupported_claims == 3 / 5
    assert metrics.repaired_markers == 1 and metrics.replaced_answers == 1
    assert results[0].expect_any is False and results[0].expect_shown is True  # in the quote
    assert results[1].language_match is None  # the quoted answer stands in for the model's
