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
