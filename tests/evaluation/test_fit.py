import pytest

from assistant.errors import InvalidInput
from assistant.evaluation.fit import LeaveOneCorpusOut, parse_grid
from assistant.evaluation.retrieval import EvalQuestion, QuestionResult
from assistant.evaluation.union import UnionBed
from tests.evaluation.test_union import union_settings, write_two_chapters

SETS = ("a", "b", "c", "d")


def _questions() -> list[EvalQuestion]:
    return [
        EvalQuestion(id=f"{s}/q{n}", question="q", sections=["1"], chapter=s, lang=lang)
        for s in SETS
        for n, lang in enumerate(("zh", "en"))
    ]


def _result(qid: str, mode: str, rank: int | None) -> QuestionResult:
    hit = float(rank is not None and rank <= 5)
    return QuestionResult(
        id=qid, mode=mode, lang="zh" if qid.endswith("0") else "en", kind="section",
        question="q", gold=["§1"], ranks=[rank] if rank else [], hit_sections=[],
        metrics={"hit@5": hit, "mrr@10": 1 / rank if rank else 0.0}, latency_ms=0, embed_ms=0,
    )  # fmt: skip


def test_each_chapter_gets_the_value_the_others_choose(monkeypatch):
    """Value 2 ranks every answer first except on chapter c, where value 1 does; so c's
    fold still picks 2 (chosen on a, b and d) and its held-out figure is 2's, not its best."""

    def run(self, assistant, value, questions, modes):
        out = []
        for q in questions:
            chapter = q.id.split("/")[0]
            good = (value == 2.0) != (chapter == "c")
            out += [_result(q.id, m, 1 if good else 3) for m in modes]
        return out

    monkeypatch.setattr(LeaveOneCorpusOut, "_run", run)
    fit = LeaveOneCorpusOut(_questions(), "bm25_weight", [1.0, 2.0])
    report = fit(union=object(), alone={s: object() for s in SETS})
    chosen = {f.held_out: f.chosen for f in report.folds}
    assert chosen == {"a": 2.0, "b": 2.0, "c": 2.0, "d": 2.0}
    fold_c = next(f for f in report.folds if f.held_out == "c")
    assert fold_c.alone["mrr@10"] == pytest.approx(1 / 3)  # held out: not fitted to c
    assert report.held_out_union["all"]["mrr@10"] == pytest.approx((6 * 1 + 2 / 3) / 8)
    assert report.held_out_union["en"]["n"] == 4
    assert report.chosen_on_all == 2.0
    assert "held-out union" in report.to_text()


def test_grid_parsing_and_errors():
    assert parse_grid("bm25_weight=0.8,1,1.2") == ("bm25_weight", [0.8, 1.0, 1.2])
    for bad in ("bm25_weight", "top_k=1,2", "bm25_weight=1", "bm25_weight=a,b"):
        with pytest.raises(InvalidInput):
            parse_grid(bad)
    with pytest.raises(InvalidInput, match="two question sets"):
        LeaveOneCorpusOut([q for q in _questions() if q.id.startswith("a/")], "bm25_weight", [1, 2])


def test_fit_runs_on_a_real_union_bed(tmp_path):
    root = write_two_chapters(tmp_path / "data")
    bed = UnionBed(union_settings(root, tmp_path / "bed"))
    bed.build()
    report = LeaveOneCorpusOut(bed.questions(), "bm25_weight", [0.5, 2.0])(
        bed.assistant, bed.alone()
    )
    assert [f.held_out for f in report.folds] == ["bundled", "heldout2", "heldout10"]
    assert all(f.chosen in (0.5, 2.0) for f in report.folds)
    assert report.held_out_union["all"]["n"] == 5
    assert set(report.by_value) == {"0.5", "2"}
    assert 0 < report.held_out_union["all"]["hit@5"] <= 1
