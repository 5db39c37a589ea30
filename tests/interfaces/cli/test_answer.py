import json

import pytest

from assistant.interfaces.cli.main import main
from tests.conftest import BUNDLED_CORPUS, free_port

QUESTIONS = [
    {
        "id": "a",
        "question": "FLARE 在真实 GR-1 机器人上取得了多高的成功率？",
        "lang": "zh",
        "sections": ["17.2"],
        "arxiv": [],
        "answerable": True,
        "expect": ["95.1%"],
    },
    {
        "id": "b",
        "question": "What does arXiv:2602.00558v1 propose?",
        "lang": "en",
        "sections": ["17.4.2"],
        "arxiv": ["2602.00558"],
        "answerable": True,
        "expect": ["Communication-based Diffusion World Model"],
    },
    {
        "id": "u",
        "question": "法国的首都是哪里？",
        "lang": "zh",
        "sections": [],
        "arxiv": [],
        "answerable": False,
        "expect": [],
    },
]


@pytest.fixture
def base(built_index, tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_REFUSAL_CALIBRATION_FILE", str(tmp_path / "none.json"))
    return ["--corpus", str(BUNDLED_CORPUS), "--index-dir", str(built_index)]


def test_ask_json_has_the_issue_shape(base, capsys):
    assert main(["ask", "Wan2.1-14B 的 VBench 得分是多少？", "--json", *base]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"question", "answer", "refused", "grounded", "backend", "citations", "hits"} <= set(
        data
    )
    assert data["backend"] == "none" and data["refused"] is False and "83.7%" in data["answer"]
    assert data["citations"][0]["section"] == "17.3" and data["hits"]


def test_ask_prints_numbered_sources_with_links(base, capsys):
    assert main(["ask", "What does arXiv:2602.00558v1 propose?", *base]) == 0
    out = capsys.readouterr().out
    assert "Sources:" in out
    assert "[1] arXiv:2602.00558 — NetWorld" in out
    assert "https://arxiv.org/abs/2602.00558" in out


def test_failed_backend_prints_one_line_error_and_exits_1(base, capsys, monkeypatch):
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("ASSISTANT_LLM_MODEL", "m")
    code = main(
        ["ask", "Wan2.1-14B 的 VBench 得分是多少？", "--backend", "openai-compatible", *base]
    )
    captured = capsys.readouterr()
    assert code == 1
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: LLM backend openai-compatible")
    assert captured.err.rstrip().endswith(errors[0])
    assert "Traceback" not in captured.err
    assert "83.7%" in captured.out


def test_eval_answers(base, tmp_path, capsys):
    path = tmp_path / "questions.jsonl"
    path.write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS), encoding="utf-8"
    )
    assert main(["eval-answers", "--questions", str(path), "--json", *base]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["answerable"] == 2 and metrics["unanswerable"] == 1
    assert metrics["citation_recall"] == 1.0 and metrics["expect_any"] == 1.0


def test_ask_help_explains_options(capsys):
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    out = capsys.readouterr().out
    assert "--backend" in out and "openai-compatible" in out and "--json" in out


def test_ask_prints_markdown_and_bibtex_for_the_cited_papers(base, capsys):
    question = "What does arXiv:2602.00558v1 propose?"
    assert main(["ask", question, "--format", "markdown", *base]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith(f"**{question}**") and "**References**" in markdown
    assert "[1] [arXiv:2602.00558](https://arxiv.org/abs/2602.00558) — NetWorld" in markdown
    assert "ASSISTANT_LLM_BACKEND" not in markdown  # the no-LLM notice stays out
    assert main(["ask", question, "--format", "bibtex", *base]) == 0
    bibtex = capsys.readouterr().out
    assert bibtex.startswith("@misc{meng2026networld,") and "eprint = {2602.00558}" in bibtex
    assert "archivePrefix = {arXiv}" in bibtex and "primaryClass = {" in bibtex
    assert main(["ask", "Wan2.1-14B 的 VBench 得分是多少？", "--format", "bibtex", *base]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "cites no arXiv paper" in captured.err


def test_eval_claims_reports_the_check_and_the_replay(base, tmp_path, capsys):
    from tests.conftest import ROOT

    folder = tmp_path / "claims"
    folder.mkdir()
    source = ROOT / "eval" / "claims"
    rows = (source / "qwen2.5-coder-1.5b-q4.jsonl").read_text(encoding="utf-8").splitlines()
    labels = (source / "transcript-labels.jsonl").read_text(encoding="utf-8").splitlines()
    (folder / "recorded.jsonl").write_text(rows[0] + "\n", encoding="utf-8")
    (folder / "transcript-labels.jsonl").write_text(labels[0] + "\n", encoding="utf-8")
    case = {
        "id": "w",
        "question": "FLARE 在真实 GR-1 机器人上取得了多高的成功率？",
        "reply": "FLARE 的成功率为 91.5% {§17.2}。",
        "claims": [{"claim": "FLARE 的成功率为 91.5%。", "support": [], "reason": "95.1%"}],
    }
    (folder / "cases.jsonl").write_text(json.dumps(case, ensure_ascii=False) + "\n")
    assert main(["eval-claims", "--folder", str(folder), "--json", *base]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["claims"]["claims"] == 2 and data["claims"]["accuracy"] == 1.0
    assert data["replay"]["questions"] == 1 and data["replay"]["replayed"] == 1
    (folder / "cases.jsonl").write_text("{not json\n")
    assert main(["eval-claims", "--folder", str(folder), *base]) == 2
    assert "cases.jsonl:1: not JSON" in capsys.readouterr().err


def test_eval_answers_against_an_openai_compatible_server_reports_claims(
    base, tmp_path, capsys, monkeypatch
):
    from tests.stubs.openai_server import OpenAIStub, Reply

    path = tmp_path / "questions.jsonl"
    path.write_text(json.dumps(QUESTIONS[0], ensure_ascii=False) + "\n", encoding="utf-8")
    reply = "[1] FLARE 在真实 GR-1 上的成功率为 95.1%。\n另一句无据的话。"
    argv = ["eval-answers", "--backend", "openai-compatible", "--questions", str(path), *base]
    with OpenAIStub() as stub:
        stub.replies.extend([Reply(text=reply), Reply(text=reply)])
        monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", stub.base_url)
        monkeypatch.setenv("ASSISTANT_LLM_MODEL", "stub")
        assert main([*argv, "--json"]) == 0
        metrics = json.loads(capsys.readouterr().out)
        assert main(argv) == 0
    assert metrics["claims"] == 2 and metrics["unsupported_claims"] == 0.5
    assert metrics["claim_citation_precision"] == 1.0 and metrics["language_match"] == 1.0
    assert metrics["replaced_answers"] == 0 and metrics["expect_any"] == 1.0
    out = capsys.readouterr().out
    for row in ("claim-level citation precision", "unsupported claims", "repaired markers"):
        assert row in out
