import json
import math

import pytest

from assistant.errors import InvalidInput
from assistant.evaluation.retrieval import (
    EvalQuestion,
    RetrievalEvaluator,
    load_questions,
    question_metrics,
    ranked_keys,
    relevance_key,
    save_report,
)
from assistant.models import Chunk, Hit


def _section(ref: str, n: int = 0) -> Chunk:
    return Chunk(
        id=f"s-{ref}-{n}",
        kind="section",
        text=f"text of {ref}",
        source="c.md",
        section_id=f"c.md#{ref}",
        section=ref,
        section_title=ref,
    )


def _abstract(arxiv_id: str) -> Chunk:
    return Chunk(
        id=f"a-{arxiv_id}",
        kind="abstract",
        text="abstract",
        source=f"arxiv:{arxiv_id}",
        arxiv_id=arxiv_id,
        arxiv_ids=(arxiv_id,),
        title="t",
    )


# --- metrics, checked against values computed by hand ----------------------------------------


def test_metrics_second_and_fourth_relevant():
    gold = ["§1", "arXiv:2501.00001"]
    keys = ["§2", "§1", "§3", "arXiv:2501.00001", "§4"]
    m = question_metrics(gold, keys, k=10)
    assert m["hit@1"] == 0.0
    assert m["hit@3"] == 1.0
    assert m["hit@5"] == 1.0
    assert m["mrr@10"] == pytest.approx(0.5)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3)
    assert m["ndcg@10"] == pytest.approx(dcg / idcg)
    assert m["recall@5"] == pytest.approx(1.0)


def test_metrics_relevant_beyond_five_counts_only_for_mrr_and_ndcg():
    gold = ["§9"]
    keys = ["§1", "§2", "§3", "§4", "§5", "§6", "§9"]
    m = question_metrics(gold, keys, k=10)
    assert (m["hit@1"], m["hit@3"], m["hit@5"], m["recall@5"]) == (0.0, 0.0, 0.0, 0.0)
    assert m["mrr@10"] == pytest.approx(1 / 7)
    assert m["ndcg@10"] == pytest.approx(1 / math.log2(8))


def test_metrics_cut_at_k_and_empty_results():
    m = question_metrics(["§9"], ["§1", "§2", "§3", "§4", "§5", "§9"], k=5)
    assert m["mrr@5"] == 0.0 and m["ndcg@5"] == 0.0
    empty = question_metrics(["§1"], [], k=10)
    assert set(empty.values()) == {0.0}


def test_metrics_partial_recall_and_first_rank():
    m = question_metrics(["§1", "§2"], ["§1", "§7", "§8"], k=10)
    assert m["hit@1"] == 1.0 and m["mrr@10"] == 1.0
    assert m["recall@5"] == pytest.approx(0.5)
    assert m["ndcg@10"] == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_relevance_keys_and_duplicates_collapse():
    hits = [
        Hit(chunk=_section("17.2", 0), score=3),
        Hit(chunk=_section("17.2", 1), score=2),
        Hit(chunk=_abstract("2602.00558"), score=1),
    ]
    assert relevance_key(hits[0].chunk) == "§17.2"
    assert ranked_keys(hits) == ["§17.2", "arXiv:2602.00558"]


def test_unnumbered_section_key_falls_back_to_its_id():
    chunk = _section("x").model_copy(update={"section": None, "section_id": "c.md#引言"})
    assert relevance_key(chunk) == "§c.md#引言"
    q = EvalQuestion(id="q", question="引言讲了什么？", sections=["c.md#引言"])
    assert q.gold == ["§c.md#引言"] and q.kind == "section" and q.language == "zh"


# --- question files ---------------------------------------------------------------------------


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_load_questions_names_the_bad_line(tmp_path):
    good = {"id": "a", "question": "q?", "sections": ["1"]}
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(good) + "\n\n{not json}\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"q\.jsonl:3"):
        load_questions(path)
    _write(path, [good, {"id": "b", "sections": ["1"]}])
    with pytest.raises(InvalidInput, match=r"q\.jsonl:2"):
        load_questions(path)


def test_load_questions_rejects_duplicates_missing_files_and_no_gold(tmp_path):
    row = {"id": "a", "question": "q?", "sections": ["1"]}
    with pytest.raises(InvalidInput, match="more than once"):
        load_questions(_write(tmp_path / "d.jsonl", [row, row]))
    with pytest.raises(InvalidInput, match="--questions"):
        load_questions(tmp_path / "missing.jsonl")
    unanswerable = {"id": "u", "question": "q?", "answerable": False}
    with pytest.raises(InvalidInput, match="no answerable"):
        load_questions(_write(tmp_path / "u.jsonl", [unanswerable]))


# --- the evaluator ------------------------------------------------------------------------------


class FakeRetriever:
    """Returns fixed rankings per question and records a fake embedding time."""

    def __init__(self, rankings: dict[str, list[Chunk]]):
        self.rankings = rankings
        self.calls: list[tuple[str, str]] = []

    def retrieve(self, question, k=None, mode=None, timings=None):
        self.calls.append((question, mode))
        if timings is not None and mode != "bm25":
            timings["embed_ms"] = 0.0
        return [
            Hit(chunk=c, score=1.0 / n, rank=n) for n, c in enumerate(self.rankings[question], 1)
        ][:k]


QUESTIONS = [
    EvalQuestion(id="zh-1", question="第一节讲什么？", lang="zh", sections=["1"]),
    EvalQuestion(id="en-1", question="What is in one?", lang="en", sections=["1"]),
    EvalQuestion(
        id="en-2", question="Which paper?", lang="en", sections=["2"], arxiv=["2501.00001"]
    ),
    EvalQuestion(id="no", question="Unknown?", answerable=False),
]
RANKINGS = {
    "第一节讲什么？": [_section("1"), _section("2")],
    "What is in one?": [_section(str(n)) for n in range(2, 8)] + [_section("1")],
    "Which paper?": [_section("9"), _abstract("2501.00001"), _section("2")],
}


def test_evaluator_aggregates_by_language_and_kind():
    fake = FakeRetriever(RANKINGS)
    report = RetrievalEvaluator(QUESTIONS, modes=["dense", "bm25"], k=10, warmup=0)(fake)
    assert len(fake.calls) == 6  # three answerable questions, two modes, no warm-up
    s = report.summary("dense")
    assert s["n"] == 3
    assert s["hit@1"] == pytest.approx(1 / 3, abs=1e-4)
    assert s["hit@5"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["mrr@10"] == pytest.approx((1 + 1 / 7 + 1 / 2) / 3, abs=1e-4)
    assert s["by_language"]["zh"]["n"] == 1 and s["by_language"]["zh"]["hit@1"] == 1.0
    assert s["by_language"]["en"]["mrr@10"] == pytest.approx((1 / 7 + 1 / 2) / 2, abs=1e-4)
    assert s["by_kind"]["abstract"]["n"] == 1
    assert s["by_kind"]["abstract"]["recall@5"] == 1.0
    assert s["by_kind"]["section"]["n"] == 2
    assert {"p50_ms", "p95_ms", "embed_p50_ms", "embed_p95_ms"} <= set(s)
    assert [r.id for r in report.misses("dense")] == ["en-1"]


def test_evaluator_json_shape_and_text():
    report = RetrievalEvaluator(QUESTIONS, modes=["hybrid"], k=5, warmup=1)(FakeRetriever(RANKINGS))
    data = report.to_json()
    assert set(data["modes"]) == {"hybrid"}
    mode = data["modes"]["hybrid"]
    for key in ("n", "hit@1", "hit@3", "hit@5", "mrr@5", "ndcg@5", "recall@5", "p50_ms"):
        assert key in mode
    assert set(mode["by_language"]) == {"zh", "en"}
    rows = {r["id"]: r for r in data["per_question"]}
    assert set(rows) == {"zh-1", "en-1", "en-2"}
    assert rows["en-2"]["ranks"] == [2, 3]
    assert rows["en-2"]["hit_sections"] == ["§9", "arXiv:2501.00001", "§2"]
    assert rows["en-1"]["ranks"] == [] and rows["zh-1"]["mode"] == "hybrid"
    text = report.to_text()
    assert "hit@5" in text and "lang en" in text and "en-1" in text and "1 missed" in text


def test_evaluator_validates_k_and_questions():
    with pytest.raises(InvalidInput, match="k must be"):
        RetrievalEvaluator(QUESTIONS, k=3)
    with pytest.raises(InvalidInput, match="k must be"):
        RetrievalEvaluator(QUESTIONS, k=101)
    with pytest.raises(InvalidInput, match="no answerable"):
        RetrievalEvaluator(QUESTIONS[-1:])


def test_save_report_writes_timestamped_json(tmp_path):
    report = RetrievalEvaluator(QUESTIONS, modes=["dense"], warmup=0)(FakeRetriever(RANKINGS))
    first = save_report(report, tmp_path / "results")
    second = save_report(report, tmp_path / "results")
    assert first != second and first.name.endswith("-retrieval.json")
    saved = json.loads(first.read_text(encoding="utf-8"))
    assert saved["modes"]["dense"]["n"] == 3 and len(saved["per_question"]) == 3
