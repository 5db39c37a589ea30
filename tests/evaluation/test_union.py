import json
from pathlib import Path

import pytest

from assistant.errors import InvalidInput
from assistant.evaluation.retrieval import EvalQuestion, RetrievalEvaluator, relevance_key
from assistant.evaluation.union import (
    BUNDLED,
    QuestionSet,
    UnionBed,
    UnionEvaluator,
    build_union_corpus,
    discover_sets,
    union_questions,
)
from assistant.models import Chunk, Hit
from assistant.settings import Settings

CHAPTER_A = """# 11 智能体的世界模型

## 11.2 语言世界模型

### 11.2.1 状态预测

OtterSim-70B 的单步状态预测准确率为 81.3%，见 [OtterSim](https://arxiv.org/abs/2504.13872)。

### 11.2.2 规划

HeronWeb 把网页任务的成功率从 19.4% 提高到 27.9%。
"""

CHAPTER_B = """# 11 材料科学的世界模型

## 11.2 分子动力学

### 11.2.1 潜空间模拟

LatentMD 在学习到的潜空间里运行分子动力学，比从头计算快四个数量级，见
[LatentMD](https://arxiv.org/abs/2504.13872)。
"""


def _paper(arxiv_id: str, title: str) -> dict:
    return {"id": arxiv_id, "title": title, "abstract": f"{title} abstract.", "authors": ["A"]}


def _write_set(root: Path, name: str, chapter: str, papers: list[dict], questions: list[dict]):
    folder = root / name
    (folder / "corpus").mkdir(parents=True)
    (folder / "corpus" / "chapter.md").write_text(chapter, encoding="utf-8")
    (folder / "corpus" / "README.md").write_text("# not indexed\n", encoding="utf-8")
    lines = "".join(json.dumps(p) + "\n" for p in papers)
    (folder / "corpus" / "abstracts.jsonl").write_text(lines, encoding="utf-8")
    rows = "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in questions)
    (folder / "questions.jsonl").write_text(rows, encoding="utf-8")
    return folder


@pytest.fixture
def two_chapters(tmp_path) -> Path:
    return write_two_chapters(tmp_path)


def union_settings(root: Path, bed: Path) -> Settings:
    """Settings for a union bed over :func:`write_two_chapters`' data, hash embedder."""
    return Settings(
        corpus_dir=root / "bundled",
        eval_questions_file=root / "questions.jsonl",
        eval_heldout_dir=root / "eval",
        eval_union_dir=bed,
        embedder="hash",
    )


def write_two_chapters(tmp_path: Path) -> Path:
    """Two chapters that both number a section 11.2.1 and both use arXiv ID 2504.13872,
    for different papers; a third paper appears in both abstract files as the same paper.
    Also a bundled chapter (``bundled/``, ``questions.jsonl``)."""
    shared = _paper("2501.00001", "Shared Survey Paper")
    _write_set(
        tmp_path / "eval",
        "heldout2",
        CHAPTER_A,
        [_paper("2504.13872", "OtterSim: Language World Models"), shared],
        [
            {"id": "zh-01", "question": "OtterSim-70B 的单步状态预测准确率是多少？",
             "sections": ["11.2.1"], "arxiv": ["2504.13872"]},
            {"id": "zh-02", "question": "HeronWeb 把成功率提高到了多少？", "sections": ["11.2.2"]},
            {"id": "un-01", "question": "OtterSim 用了多少张 GPU？", "answerable": False},
        ],
    )  # fmt: skip
    _write_set(
        tmp_path / "eval",
        "heldout10",
        CHAPTER_B,
        [_paper("2504.13872", "LatentMD: Molecular Dynamics in a Latent Space"), shared],
        [
            {"id": "zh-01", "question": "LatentMD 在哪里运行分子动力学？",
             "sections": ["11.2.1"], "arxiv": ["2504.13872"]},
            {"id": "en-01", "question": "How fast is LatentMD compared with ab initio runs?",
             "sections": ["11.2.1"]},
        ],
    )  # fmt: skip
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    (bundled / "trends.md").write_text(
        "# 17 趋势\n\n## 17.1 观察\n\n2024 年约有 80 篇论文。\n", encoding="utf-8"
    )
    (tmp_path / "questions.jsonl").write_text(
        json.dumps({"id": "zh-01", "question": "2024 年有多少篇论文？", "sections": ["17.1"]})
        + "\n",
        encoding="utf-8",
    )
    return tmp_path


def _sets(root: Path) -> list[QuestionSet]:
    return discover_sets(root / "eval", root / "bundled", root / "questions.jsonl")


def test_discover_sets_in_natural_order(two_chapters):
    sets = _sets(two_chapters)
    assert [s.name for s in sets] == [BUNDLED, "heldout2", "heldout10"]
    assert sets[0].abstracts_file is None
    assert sets[1].abstracts_file == two_chapters / "eval/heldout2/corpus/abstracts.jsonl"


def test_union_corpus_layout_and_colliding_ids(two_chapters, tmp_path):
    target = tmp_path / "union"
    union = build_union_corpus(_sets(two_chapters), target, exclude=("README.md",))
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*.md")) == [
        "bundled/trends.md",
        "heldout10/chapter.md",
        "heldout2/chapter.md",
    ]
    # the first chapter keeps the ID; the later, different paper gets a fresh one everywhere
    new = union.renamed["heldout10"]["2504.13872"]
    assert new != "2504.13872" and "heldout2" not in union.renamed
    assert f"arxiv.org/abs/{new}" in (target / "heldout10/chapter.md").read_text("utf-8")
    assert "2504.13872" not in (target / "heldout10/chapter.md").read_text("utf-8")
    assert "abs/2504.13872" in (target / "heldout2/chapter.md").read_text("utf-8")
    merged = [json.loads(line) for line in union.abstracts_file.read_text("utf-8").splitlines()]
    titles = {r["id"]: r["title"] for r in merged}
    assert len(merged) == 3 == union.papers  # the shared paper once
    assert titles["2504.13872"].startswith("OtterSim") and titles[new].startswith("LatentMD")
    own = (target / "heldout10" / "abstracts.jsonl").read_text("utf-8")
    assert new in own and "2504.13872" not in own


def test_unchanged_union_corpus_is_not_rewritten(two_chapters, tmp_path):
    target = tmp_path / "union"
    build_union_corpus(_sets(two_chapters), target)
    stamps = {p: p.stat().st_mtime_ns for p in target.rglob("*") if p.is_file()}
    build_union_corpus(_sets(two_chapters), target)
    assert {p: p.stat().st_mtime_ns for p in target.rglob("*") if p.is_file()} == stamps


def test_union_questions_keep_ids_distinct_and_follow_renames(two_chapters, tmp_path):
    sets = _sets(two_chapters)
    union = build_union_corpus(sets, tmp_path / "union")
    questions = union_questions(sets, union)
    ids = [q.id for q in questions]
    assert len(set(ids)) == len(ids) == 6
    assert {"bundled/zh-01", "heldout2/zh-01", "heldout10/zh-01"} <= set(ids)
    by_id = {q.id: q for q in questions}
    assert by_id["heldout10/zh-01"].arxiv == [union.renamed["heldout10"]["2504.13872"]]
    assert by_id["heldout2/zh-01"].arxiv == ["2504.13872"]
    assert by_id["heldout10/zh-01"].gold[0] == "§heldout10/11.2.1"


def _chunk(source: str, ref: str) -> Chunk:
    return Chunk(
        id=f"{source}-{ref}",
        kind="section",
        text="t",
        source=source,
        section_id=f"{source}#{ref}",
        section=ref,
        section_title="t",
    )


def test_gold_section_is_resolved_in_the_question_chapter():
    question = EvalQuestion(id="heldout2/q", question="q", sections=["11.2.1"], chapter="heldout2")
    mine, other = _chunk("heldout2/chapter.md", "11.2.1"), _chunk("heldout10/chapter.md", "11.2.1")
    assert question.is_relevant(mine) and not question.is_relevant(other)
    assert relevance_key(other, chapters=True) == "§heldout10/11.2.1"
    # without a chapter (one corpus) any file's section of that number counts
    plain = EvalQuestion(id="q", question="q", sections=["11.2.1"])
    assert plain.is_relevant(other)

    class Fixed:
        def retrieve(self, question, k=None, mode=None, timings=None):
            return [Hit(chunk=other, score=2.0), Hit(chunk=mine, score=1.0)]

    report = RetrievalEvaluator([question], ["bm25"], k=10)(Fixed())
    result = report.results[0]
    assert result.ranks == [2]  # the other chapter's 11.2.1 came first and is not relevant
    assert result.hit_sections == ["§heldout10/11.2.1", "§heldout2/11.2.1"]
    assert result.metrics["mrr@10"] == 0.5


def test_union_bed_end_to_end(two_chapters, tmp_path):
    settings = union_settings(two_chapters, tmp_path / "bed")
    bed = UnionBed(settings)
    bed.build()
    sources = {c.source for c in bed.assistant.index.chunks if c.kind == "section"}
    assert sources == {"bundled/trends.md", "heldout2/chapter.md", "heldout10/chapter.md"}
    both = [c for c in bed.assistant.index.chunks if c.kind == "section" and c.section == "11.2.1"]
    assert len({c.section_id for c in both}) == 2  # neither 11.2.1 overwrote the other
    alone = bed.alone()
    assert set(alone) == {BUNDLED, "heldout2", "heldout10"}
    assert (tmp_path / "bed/alone/heldout2/embeddings.sqlite").is_file()
    assert alone["heldout2"].build_index(progress=False).unchanged
    assert alone["heldout2"].build_index(progress=False).manifest.chunks < len(
        bed.assistant.index.chunks
    )
    report = UnionEvaluator(bed.questions(), modes=["bm25"], answers=True)(
        bed.assistant, alone=alone
    )
    table = report.retrieval_table()
    assert set(table) == {BUNDLED, "heldout2", "heldout10", "union"}
    assert table["union"]["bm25"]["all"]["n"] == 5
    assert table["heldout10"]["bm25"]["en"]["n"] == 1
    by_id = {r.id: r for r in report.retrieval.results}
    # LatentMD's question: its own chapter's 11.2.1 is found; the other 11.2.1 never counts
    latent = by_id["heldout10/zh-01"]
    assert latent.ranks and latent.ranks[0] == 1
    assert "§heldout2/11.2.1" not in [latent.hit_sections[r - 1] for r in latent.ranks]
    answers = report.answer_table()
    assert answers["heldout2"]["unanswerable"] == 1 and answers["union"]["answerable"] == 5
    # untagged and not off-topic: a near miss
    assert answers["heldout2"]["near_miss_refused"] in ("0/1", "1/1")
    assert answers["heldout2"]["off_topic_refused"] == "0/0"
    assert set(report.alone) == {BUNDLED, "heldout2", "heldout10"}
    assert "§11.2.1" in report.alone["heldout10"].results[0].hit_sections  # one chapter: no folder
    text = report.to_text()
    assert "heldout10" in text and "union" in text and "alone" in text
    report.union = bed.corpus
    payload = report.to_json()
    assert payload["union_corpus"]["renamed"] == {"heldout10": {"2504.13872": "2504.13873"}}


def test_union_bed_rejects_unknown_sets(two_chapters, tmp_path):
    settings = Settings(
        corpus_dir=two_chapters / "bundled",
        eval_questions_file=two_chapters / "questions.jsonl",
        eval_heldout_dir=two_chapters / "eval",
        eval_union_dir=tmp_path / "bed",
        embedder="hash",
    )
    with pytest.raises(InvalidInput, match="heldout99"):
        UnionBed(settings, only=["heldout99"])
    with pytest.raises(InvalidInput, match="set prefix"):
        UnionEvaluator([EvalQuestion(id="q", question="q", sections=["1"])])


def test_ablation_counts_per_set_with_each_family_off(two_chapters, tmp_path):
    from assistant.evaluation.union import ablation, format_ablation

    settings = union_settings(two_chapters, tmp_path / "bed")
    bed = UnionBed(settings)
    bed.build()
    table = ablation(bed.assistant, bed.questions(), ["threshold", "everyday"])
    assert list(table) == ["", "threshold", "everyday"]
    assert set(table[""]) == {BUNDLED, "heldout2", "heldout10", "union"}
    union = table[""]["union"]
    assert sum(table[""][name][3] for name in (BUNDLED, "heldout2", "heldout10")) == union[3]
    for family in ("threshold", "everyday"):  # fewer rules never refuse more
        assert table[family]["union"][2] <= union[2] and table[family]["union"][3] <= union[3]
    text = format_ablation(table)
    assert text.splitlines()[0].startswith("| family off | bundled |")
    assert "| threshold |" in text and "(all on: counts)" in text
