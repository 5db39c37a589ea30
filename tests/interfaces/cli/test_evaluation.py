import json
import sys
import types

import pytest

from assistant.interfaces.cli import evaluation as evaluation_cli
from assistant.interfaces.cli.main import main
from tests.conftest import BUNDLED_CORPUS


@pytest.fixture
def questions(tmp_path, assistant):
    """A small question file built from the index: two sections, one abstract, one refusal."""
    chunks = assistant.index.chunks
    sections = [c for c in chunks if c.kind == "section" and c.section[0].isdigit()]
    abstract = next(c for c in chunks if c.kind == "abstract")
    rows = [
        {"id": "zh-a", "question": sections[0].text[:60], "lang": "zh",
         "sections": [sections[0].section]},
        {"id": "en-a", "question": f"What is said in section {sections[-1].section}?",
         "lang": "en", "sections": [sections[-1].section]},
        {"id": "en-b", "question": abstract.title, "sections": list(abstract.cited_in),
         "arxiv": [abstract.arxiv_id]},
        {"id": "no", "question": "What is the airspeed of a swallow?", "answerable": False},
    ]  # fmt: skip
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def _run(argv, built_index, results, monkeypatch):
    monkeypatch.setenv("ASSISTANT_EVAL_RESULTS_DIR", str(results))
    base = ["--corpus", str(BUNDLED_CORPUS), "--index-dir", str(built_index)]
    return main(["eval", *base, *argv])


def test_eval_json_shape_and_saved_results(questions, built_index, tmp_path, monkeypatch, capsys):
    results = tmp_path / "results"
    code = _run(["--questions", str(questions), "--mode", "hybrid", "--json"], built_index,
                results, monkeypatch)  # fmt: skip
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["modes"]) == {"hybrid"}
    hybrid = out["modes"]["hybrid"]
    assert hybrid["n"] == 3
    for key in ("hit@1", "hit@3", "hit@5", "mrr@10", "ndcg@10", "recall@5", "p50_ms", "p95_ms"):
        assert hybrid[key] >= 0 and (key.endswith("_ms") or hybrid[key] <= 1)
    assert set(hybrid["by_language"]) == {"zh", "en"}
    assert hybrid["by_language"]["en"]["n"] == 2
    assert set(hybrid["by_kind"]) == {"section", "abstract"}
    assert hybrid["hit@5"] == 1.0
    rows = out["per_question"]
    assert {r["id"] for r in rows} == {"zh-a", "en-a", "en-b"}
    for row in rows:
        assert row["mode"] == "hybrid" and row["ranks"] and row["hit_sections"]
        assert all(isinstance(r, int) for r in row["ranks"])
    saved = list(results.glob("*-retrieval.json"))
    assert len(saved) == 1
    assert json.loads(saved[0].read_text(encoding="utf-8"))["modes"] == out["modes"]


def test_eval_all_modes_prints_tables(questions, built_index, tmp_path, monkeypatch, capsys):
    code = _run(["--questions", str(questions), "--k", "5"], built_index, tmp_path / "r",
                monkeypatch)  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    for word in ("dense", "bm25", "hybrid", "mrr@5", "lang zh", "abstract", "missed", "p95"):
        assert word in captured.out
    assert "saved" in captured.err and len(list((tmp_path / "r").glob("*.json"))) == 1


def test_eval_rejects_bad_k_and_missing_answer_evaluator(
    questions, built_index, tmp_path, monkeypatch, capsys
):
    assert _run(["--questions", str(questions), "--k", "2"], built_index, tmp_path,
                monkeypatch) == 2  # fmt: skip
    assert "k must be" in capsys.readouterr().err
    monkeypatch.setattr(evaluation_cli, "ANSWER_EVALUATOR_MODULE", "assistant._no_answer_eval")
    code = _run(["--questions", str(questions), "--answers"], built_index, tmp_path, monkeypatch)
    assert code == 1 and "--answers" in capsys.readouterr().err
    assert _run(["--questions", str(tmp_path / "none.jsonl")], built_index, tmp_path,
                monkeypatch) == 2  # fmt: skip
    with pytest.raises(SystemExit):
        _run(["--mode", "sparse"], built_index, tmp_path, monkeypatch)


class _AnswerReport:
    def __init__(self, n):
        self.n = n

    def to_json(self):
        return {"n": self.n}

    def to_text(self):
        return f"answers: {self.n} questions"


class _AnswerEvaluator:
    def __init__(self, questions, k):
        self.questions = [q for q in questions if q.answerable]

    def __call__(self, assistant):
        return _AnswerReport(len(self.questions))


def test_answer_evaluator_plugs_in_by_module(questions, built_index, tmp_path, monkeypatch, capsys):
    module = types.ModuleType("fake_answer_eval")
    module.AnswerEvaluator = _AnswerEvaluator
    monkeypatch.setitem(sys.modules, "fake_answer_eval", module)
    monkeypatch.setattr(evaluation_cli, "ANSWER_EVALUATOR_MODULE", "fake_answer_eval")
    code = _run(["--questions", str(questions), "--mode", "bm25", "--answers", "--json"],
                built_index, tmp_path / "r", monkeypatch)  # fmt: skip
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answers"] == {"n": 3} and "bm25" in out["modes"]
    saved = json.loads(next((tmp_path / "r").glob("*.json")).read_text(encoding="utf-8"))
    assert saved["answers"] == {"n": 3}


def test_eval_union_prints_per_set_tables_and_saves(tmp_path, monkeypatch, capsys):
    from tests.evaluation.test_union import write_two_chapters

    root = write_two_chapters(tmp_path / "data")
    results = tmp_path / "results"
    for key, value in {
        "CORPUS_DIR": root / "bundled",
        "EVAL_QUESTIONS_FILE": root / "questions.jsonl",
        "EVAL_HELDOUT_DIR": root / "eval",
        "EVAL_UNION_DIR": tmp_path / "bed",
        "EVAL_RESULTS_DIR": results,
        "EMBEDDER": "hash",
    }.items():
        monkeypatch.setenv(f"ASSISTANT_{key}", str(value))
    argv = ["eval", "--union", "--no-answers", "--mode", "bm25", "--sets", "heldout2,heldout10"]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["retrieval"]) == ["heldout2", "heldout10", "union"]
    assert out["retrieval"]["union"]["bm25"]["all"]["n"] == 4
    assert out["answers"] == {}
    assert out["union_corpus"]["renamed"]["heldout10"]
    saved = list(results.glob("*-union.json"))
    assert len(saved) == 1
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "heldout10" in text and "union" in text and "bm25" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["eval", "--alone"], "--alone needs --union"),
        (["eval", "--ablate", "all"], "--ablate needs --union"),
        (["eval", "--union", "--corpus", "x"], "drop --corpus"),
        (["eval", "--union", "--answers"], "--no-answers"),
    ],
)
def test_eval_union_flag_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_eval_answers_with_an_llm_backend_reports_claims(
    questions, built_index, tmp_path, monkeypatch, capsys
):
    from tests.stubs.openai_server import OpenAIStub

    with OpenAIStub(default_text="Nothing here is in any source, I am sure.") as stub:
        monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", stub.base_url)
        monkeypatch.setenv("ASSISTANT_LLM_MODEL", "stub")
        argv = ["--questions", str(questions), "--mode", "hybrid", "--answers", "--json"]
        code = _run([*argv, "--backend", "openai-compatible"], built_index, tmp_path, monkeypatch)
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    answers = out["answers"]
    assert answers["backend"] == "openai-compatible"
    check = out["claim_check"]  # the check itself, on the labelled replies of eval/claims
    assert check["claims"] >= 60 and check["precision"] >= 0.9 and check["recall"] >= 0.9
    answered = [r for r in answers["results"] if not r["refused"]]
    assert answered and answers["replaced_answers"] == len(answered)
    assert answers["unsupported_claims"] == 1.0 and answers["claims"] == len(answered)
