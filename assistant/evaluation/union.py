"""The union test bed: every chapter with a question set, indexed together as one survey.

One chapter's figures say little about a whole survey: with 16 chunks nearly any retriever
finds the right section, and a threshold fitted there does not carry over. So the bundled
chapter and every ``eval/heldout*/corpus`` chapter are copied into one corpus, each into its
own folder (``bundled/trends.md``, ``heldout8/chapter.md``, ...), with their abstracts merged
into one file, and every question set is asked against that one index.

Section numbers repeat across chapters (two held-out chapters both have an ``11.2.1``), so
a question's gold sections are resolved in its own chapter: a section hit is relevant when
its number is gold *and* its file is in the question's chapter folder
(:attr:`EvalQuestion.chapter`); abstracts are matched by arXiv ID.

The held-out chapters were written independently and some reuse an invented arXiv ID for a
different paper. A real survey has one paper per ID, so the union keeps the ID for the first
chapter that uses it (in set order) and gives each later, different paper a fresh ID, in the
chapter's copy, its abstract and its questions' gold. Records of the same paper (same title)
are merged.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from assistant.errors import InvalidInput
from assistant.evaluation.answers import AnswerEvaluator, AnswerMetrics
from assistant.evaluation.retrieval import (
    EvalQuestion,
    RetrievalEvaluator,
    RetrievalReport,
    load_questions,
)
from assistant.files import atomic_write_text
from assistant.indexing.store import CACHE_FILE
from assistant.ingest.corpus import markdown_files, normalize_arxiv_id
from assistant.interfaces.api import Assistant
from assistant.settings import RetrievalMode, Settings

ABSTRACTS = "abstracts.jsonl"
BUNDLED = "bundled"
"""Folder (and question-id prefix) of the bundled chapter in the union."""

_ID_IN_TEXT = r"(?<![\d.]){}(?![\d])"


class QuestionSet(BaseModel):
    """One chapter and the questions written for it."""

    name: str
    """Folder of the chapter in the union corpus and prefix of its question ids."""
    corpus_dir: Path
    questions_file: Path
    abstracts_file: Path | None = None


def _natural(name: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def discover_sets(
    eval_dir: Path, bundled_corpus: Path, bundled_questions: Path
) -> list[QuestionSet]:
    """The bundled chapter, then every ``<eval_dir>/<name>/`` holding ``corpus/`` and
    ``questions.jsonl``, in natural order (``heldout2`` before ``heldout10``)."""
    sets = [QuestionSet(name=BUNDLED, corpus_dir=bundled_corpus, questions_file=bundled_questions)]
    folders = [p for p in Path(eval_dir).iterdir() if p.is_dir()] if Path(eval_dir).is_dir() else []
    for folder in sorted(folders, key=lambda p: _natural(p.name)):
        if (folder / "corpus").is_dir() and (folder / "questions.jsonl").is_file():
            sets.append(
                QuestionSet(
                    name=folder.name,
                    corpus_dir=folder / "corpus",
                    questions_file=folder / "questions.jsonl",
                )
            )
    for s in sets:
        if s.abstracts_file is None and (s.corpus_dir / ABSTRACTS).is_file():
            s.abstracts_file = s.corpus_dir / ABSTRACTS
    return sets


class UnionCorpus(BaseModel):
    """Where the union corpus was written and what had to be renamed."""

    root: Path
    abstracts_file: Path
    sets: list[str]
    renamed: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Set name → {arXiv ID in its own files: ID in the union}, for colliding papers."""
    files: int = 0
    papers: int = 0


def _write_if_changed(path: Path, text: str) -> None:
    """Leave unchanged files alone, so an unchanged union is recognised as such."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    atomic_write_text(path, text)


def _read_records(path: Path | None) -> list[dict]:
    if path is None:
        return []
    records = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if line.strip():
            records.append(json.loads(line))
    return records


def _jsonl(records) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _fresh_id(old: str, taken: set[str]) -> str:
    """The next free arXiv ID after ``old`` in the same month."""
    month, number = old.split(".")
    width = len(number)
    value = int(number)
    while True:
        value = (value + 1) % 10**width
        candidate = f"{month}.{value:0{width}d}"
        if candidate not in taken and normalize_arxiv_id(candidate) == candidate:
            return candidate


def _replace_ids(text: str, renamed: dict[str, str]) -> str:
    for old, new in renamed.items():
        text = re.sub(_ID_IN_TEXT.format(re.escape(old)), new, text)
    return text


def build_union_corpus(
    sets: Sequence[QuestionSet], target: Path, exclude: tuple[str, ...] = ()
) -> UnionCorpus:
    """Copy each set's Markdown into ``target/<name>/`` and merge the abstracts into
    ``target/abstracts.jsonl``; each set's own abstracts, IDs renamed like the union's, go
    to ``target/<name>/abstracts.jsonl`` (for indexing the chapter alone). Files already
    up to date are not rewritten."""
    target = Path(target)
    names = [s.name for s in sets]
    if len(set(names)) != len(names):
        raise InvalidInput(f"question set names must be distinct: {names}")
    records = {s.name: _read_records(s.abstracts_file) for s in sets}
    texts = {
        s.name: {
            p.relative_to(s.corpus_dir).as_posix(): p.read_text(encoding="utf-8-sig")
            for p in markdown_files(s.corpus_dir, exclude)
        }
        for s in sets
    }
    taken = {normalize_arxiv_id(str(r.get("id", ""))) for rs in records.values() for r in rs}
    for files in texts.values():
        for text in files.values():
            taken.update(re.findall(r"\d{4}\.\d{4,5}", text))
    taken.discard(None)

    merged: dict[str, dict] = {}
    renamed: dict[str, dict[str, str]] = {}
    own: dict[str, list[dict]] = {}
    for s in sets:
        own[s.name] = []
        for record in records[s.name]:
            arxiv_id = normalize_arxiv_id(str(record.get("id", "")))
            if arxiv_id is None:
                continue  # indexing reports malformed lines itself
            first = merged.get(arxiv_id)
            if first is not None and first.get("title") != record.get("title"):
                new = _fresh_id(arxiv_id, taken)
                taken.add(new)
                renamed.setdefault(s.name, {})[arxiv_id] = new
                arxiv_id = new
            merged.setdefault(arxiv_id, {**record, "id": arxiv_id})
            own[s.name].append({**record, "id": arxiv_id})

    wanted: set[Path] = set()
    for s in sets:
        for rel, text in texts[s.name].items():
            path = target / s.name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_if_changed(path, _replace_ids(text, renamed.get(s.name, {})))
            wanted.add(path)
        if own[s.name]:
            _write_if_changed(target / s.name / ABSTRACTS, _jsonl(own[s.name]))
    for stale in [p for p in target.rglob("*.md") if p not in wanted]:
        stale.unlink()
    for folder in [p for p in target.iterdir() if p.is_dir() and p.name not in names]:
        shutil.rmtree(folder)
    abstracts = target / ABSTRACTS
    _write_if_changed(abstracts, _jsonl(merged.values()))
    return UnionCorpus(
        root=target,
        abstracts_file=abstracts,
        sets=names,
        renamed=renamed,
        files=len(wanted),
        papers=len(merged),
    )


def union_questions(sets: Sequence[QuestionSet], union: UnionCorpus) -> list[EvalQuestion]:
    """Every set's questions with ids ``<set>/<id>``, gold resolved in the set's chapter
    and arXiv IDs renamed as in the union corpus."""
    out: list[EvalQuestion] = []
    for s in sets:
        renamed = union.renamed.get(s.name, {})
        for q in load_questions(s.questions_file):
            out.append(
                q.model_copy(
                    update={
                        "id": f"{s.name}/{q.id}",
                        "question": _replace_ids(q.question, renamed),
                        "arxiv": [renamed.get(a, a) for a in q.arxiv],
                        "chapter": s.name,
                    }
                )
            )
    return out


def set_of(question_id: str) -> str:
    return question_id.split("/", 1)[0]


# --- the evaluator and its report -------------------------------------------------------------

RETRIEVAL_SHOWN = ("hit@5", "mrr@10", "ndcg@10", "recall@5")
"""Retrieval metrics of the compact table (k is 10)."""
UNION = "union"


def _mean(values: Sequence[float]) -> float | None:
    return round(float(np.mean(values)), 4) if len(values) else None


class UnionReport(BaseModel):
    """Retrieval per mode and language, and answers, for each set and for the union."""

    sets: list[str]
    modes: list[str]
    retrieval: RetrievalReport
    answers: AnswerMetrics | None = None
    alone: dict[str, RetrievalReport] = Field(default_factory=dict)
    """Each chapter indexed on its own (the secondary table), when measured."""
    union: UnionCorpus | None = None

    def retrieval_table(self, report: RetrievalReport | None = None) -> dict:
        """``{group: {mode: {lang: {metric: value, "n": n}}}}``, ``lang`` in all/zh/en."""
        report = report or self.retrieval
        out: dict = {}
        groups = [*self.sets, UNION] if report is self.retrieval else [UNION]
        for group in groups:
            out[group] = {}
            for mode in self.modes:
                rows = [r for r in report.for_mode(mode) if group == UNION or set_of(r.id) == group]
                by_lang: dict = {}
                for lang in ("all", "zh", "en"):
                    sel = [r for r in rows if lang == "all" or r.lang == lang]
                    by_lang[lang] = {"n": len(sel)} | {
                        m: _mean([r.metrics[m] for r in sel]) for m in RETRIEVAL_SHOWN
                    }
                out[group][mode] = by_lang
        return out

    def answer_table(self) -> dict:
        """``{group: metrics}``: gold citation, citation precision, expected string, and
        refusals (unanswerable refused, split into off-topic and near misses: every
        unanswerable question not tagged off-topic; answerable refused)."""
        if self.answers is None:
            return {}
        out = {}
        for group in [*self.sets, UNION]:
            rows = [r for r in self.answers.results if group == UNION or set_of(r.id) == group]
            m = AnswerEvaluator.summarise(self.answers.backend, rows)
            unanswerable = [r for r in rows if not r.answerable]
            out[group] = {
                "answerable": m.answerable,
                "unanswerable": m.unanswerable,
                "gold_citation": _round(m.citation_recall),
                "citation_precision": _round(m.citation_precision),
                "expected": _round(m.expect_any),
                "expected_all": _round(m.expect_all),
                "unanswerable_refused": sum(r.refused for r in unanswerable),
                "off_topic_refused": _count([r for r in unanswerable if _OFF in r.tags]),
                "near_miss_refused": _count([r for r in unanswerable if _OFF not in r.tags]),
                "answerable_refused": sum(r.refused for r in rows if r.answerable),
            }
        return out

    def to_json(self) -> dict:
        return {
            "sets": self.sets,
            "modes": self.modes,
            "retrieval": self.retrieval_table(),
            "answers": self.answer_table(),
            "alone": {name: self.retrieval_table(r)[UNION] for name, r in self.alone.items()},
            "union_corpus": self.union.model_dump(mode="json") if self.union else None,
            "per_question": {
                "retrieval": [r.to_json() for r in self.retrieval.results],
                "answers": [r.model_dump() for r in self.answers.results] if self.answers else [],
            },
        }

    def to_text(self) -> str:
        return format_union(self)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


_OFF = "off-topic"
"""The tag of a question about another field; every other unanswerable question is a near
miss (its entity is in the survey, the detail is not), tagged ``near-miss`` or not."""


def _count(rows: Sequence) -> str:
    return f"{sum(r.refused for r in rows)}/{len(rows)}"


class UnionEvaluator:
    """Asks every question of the union through each retrieval mode and, optionally,
    the answer pipeline; the report splits every figure per set.

    ``alone`` maps a set name to something that retrieves over that chapter indexed on
    its own, for the secondary single-chapter table.
    """

    name = "union"

    def __init__(
        self,
        questions: Sequence[EvalQuestion],
        modes: Sequence[RetrievalMode] = ("dense", "bm25", "hybrid"),
        k: int = 10,
        answers: bool = True,
    ) -> None:
        if k != 10:
            raise InvalidInput("the union report is measured at k=10 (MRR@10, nDCG@10)")
        self.questions = list(questions)
        missing = [q.id for q in self.questions if "/" not in q.id]
        if missing:
            raise InvalidInput(f"union question ids need a set prefix (<set>/<id>): {missing[0]}")
        self.sets = list(dict.fromkeys(set_of(q.id) for q in self.questions))
        self.modes = list(modes)
        self.k = k
        self.answers = answers

    def __call__(
        self,
        assistant,
        alone: dict[str, object] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> UnionReport:
        retrieval = RetrievalEvaluator(self.questions, self.modes, k=self.k)(
            assistant, progress=progress
        )
        report = UnionReport(sets=self.sets, modes=self.modes, retrieval=retrieval)
        for name, retriever in (alone or {}).items():
            own = [
                q.model_copy(update={"chapter": None})
                for q in self.questions
                if set_of(q.id) == name
            ]
            report.alone[name] = RetrievalEvaluator(own, self.modes, k=self.k)(retriever)
            if progress:
                progress(f"{name} alone")
        if self.answers:
            report.answers = AnswerEvaluator(self.questions)(assistant)
        return report


def _cell(value: float | None) -> str:
    return "    –" if value is None else f"{value:.3f}"


def format_union(report: UnionReport) -> str:
    """The compact tables: retrieval per set × mode (all / zh / en), answers per set, and
    each chapter alone when measured."""
    table = report.retrieval_table()
    lines = ["retrieval on the union index (hit@5 / MRR@10; all, zh, en):", ""]
    head = f"{'set':<10} {'n':>4}"
    for mode in report.modes:
        head += f" | {mode:^35}"
    lines += [head, "-" * len(head)]
    for group, modes in table.items():
        n = modes[report.modes[0]]["all"]["n"]
        row = f"{group:<10} {n:>4}"
        for mode in report.modes:
            cells = "  ".join(
                f"{_cell(modes[mode][lang]['hit@5'])}/{_cell(modes[mode][lang]['mrr@10'])}"
                for lang in ("all", "zh", "en")
            )
            row += f" | {cells}"
        lines.append(row)
    if report.alone:
        lines += ["", "each chapter indexed alone (hit@5 / MRR@10, all questions):", ""]
        head = f"{'set':<10} " + " ".join(f"{m:>13}" for m in report.modes)
        lines += [head, "-" * len(head)]
        for name, r in report.alone.items():
            modes = report.retrieval_table(r)[UNION]
            cells = " ".join(
                f"{_cell(modes[m]['all']['hit@5'])}/{_cell(modes[m]['all']['mrr@10'])}"
                for m in report.modes
            )
            lines.append(f"{name:<10} {cells}")
    answers = report.answer_table()
    if answers:
        lines += [
            "",
            f"answers ({report.answers.backend if report.answers else ''} backend): gold "
            "citation, citation precision, expected string; refused: unanswerable, "
            "off-topic, near miss, answerable",
            "",
        ]
        head = (
            f"{'set':<10} {'gold':>6} {'prec':>6} {'expect':>6}  "
            f"{'unans':>7} {'off':>6} {'near':>6} {'ans':>7}"
        )
        lines += [head, "-" * len(head)]
        for group, a in answers.items():
            lines.append(
                f"{group:<10} {_cell(a['gold_citation']):>6} {_cell(a['citation_precision']):>6} "
                f"{_cell(a['expected']):>6}  "
                f"{a['unanswerable_refused']:>3}/{a['unanswerable']:<3} "
                f"{a['off_topic_refused']:>6} {a['near_miss_refused']:>6} "
                f"{a['answerable_refused']:>3}/{a['answerable']:<3}"
            )
    return "\n".join(lines)


# --- building the test bed ---------------------------------------------------------------------

CORPUS_FOLDER = "corpus"
INDEX_FOLDER = "index"
ALONE_FOLDER = "alone"


class UnionBed:
    """The union corpus, its index and (optionally) each chapter's own index, built or
    brought up to date under ``settings.eval_union_dir``.

    Every index there reuses the union index's embedding cache (a chapter alone embeds
    exactly the texts it has in the union), so only the first build embeds anything.
    """

    def __init__(
        self,
        settings: Settings,
        sets: Sequence[QuestionSet] | None = None,
        only: Sequence[str] | None = None,
    ) -> None:
        self.settings = settings
        self.folder = Path(settings.eval_union_dir)
        self.sets = list(sets) if sets is not None else default_sets(settings)
        if not self.sets:
            raise InvalidInput("no question sets found for the union test bed")
        names = [s.name for s in self.sets]
        unknown = sorted(set(only or ()) - set(names))
        if unknown:
            raise InvalidInput(f"unknown question set(s) {', '.join(unknown)}; known: {names}")
        self.only = list(only) if only else names
        self.corpus = build_union_corpus(
            self.sets, self.folder / CORPUS_FOLDER, settings.corpus_exclude
        )
        self.assistant = Assistant(
            settings,
            corpus_dir=self.corpus.root,
            abstracts_file=self.corpus.abstracts_file,
            index_dir=self.folder / INDEX_FOLDER,
        )

    def questions(self) -> list[EvalQuestion]:
        chosen = [s for s in self.sets if s.name in self.only]
        return union_questions(chosen, self.corpus)

    def build(self, progress: bool = False) -> None:
        """Index the union and embed the sentences answers quote (no-ops when done)."""
        self.assistant.build_index(progress=progress)
        self.assistant.prepare_answers(progress=progress)

    def alone(self, progress: bool = False) -> dict[str, Assistant]:
        """Each chosen chapter indexed on its own, from its folder of the union corpus."""
        cache = self.folder / INDEX_FOLDER / CACHE_FILE
        out: dict[str, Assistant] = {}
        for name in self.only:
            index_dir = self.folder / ALONE_FOLDER / name
            if cache.is_file() and not (index_dir / CACHE_FILE).exists():
                index_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(cache, index_dir / CACHE_FILE)
            chapter = self.corpus.root / name
            abstracts = chapter / ABSTRACTS
            assistant = Assistant(
                self.settings,
                corpus_dir=chapter,
                abstracts_file=abstracts if abstracts.is_file() else None,
                index_dir=index_dir,
            )
            assistant.build_index(progress=progress)
            out[name] = assistant
        return out


def default_sets(settings: Settings) -> list[QuestionSet]:
    """The bundled chapter and questions, then the held-out sets of ``eval_heldout_dir``."""
    return discover_sets(
        settings.eval_heldout_dir, settings.corpus_dir, settings.eval_questions_file
    )


# --- ablation of the answer stage's rule families ----------------------------------------------


def _tally(rows: Sequence) -> tuple[int, int, int, int]:
    """(gold cited, expected found, unanswerable refused, answerable refused) counts."""
    answerable = [r for r in rows if r.answerable]
    return (
        sum(r.cites_gold for r in answerable),
        sum(bool(r.expect_any) for r in answerable),
        sum(r.refused for r in rows if not r.answerable),
        sum(r.refused for r in answerable),
    )


def ablation(
    assistant,
    questions: Sequence[EvalQuestion],
    families: Sequence[str],
    progress: Callable[[str], None] | None = None,
) -> dict[str, dict[str, tuple[int, int, int, int]]]:
    """``{family: {set or "union": counts}}`` (see :func:`_tally`), answering every question
    with that one family of :mod:`assistant.answer.rules` off; ``""`` is everything on."""
    from assistant.answer.rules import ablated

    sets = list(dict.fromkeys(set_of(q.id) for q in questions))
    out: dict[str, dict[str, tuple[int, int, int, int]]] = {}
    for family in ["", *families]:
        with ablated([family] if family else []):
            results = AnswerEvaluator(questions)(assistant).results
        out[family] = {name: _tally([r for r in results if set_of(r.id) == name]) for name in sets}
        out[family][UNION] = _tally(results)
        if progress:
            progress(family or "all on")
    return out


def format_ablation(table: dict[str, dict[str, tuple[int, int, int, int]]]) -> str:
    """A Markdown table: per family and set, how the counts change with the family off
    (gold cited / expected found / unanswerable refused / answerable refused; blank: no
    change)."""
    base = table[""]
    groups = list(base)
    lines = [
        "| family off | " + " | ".join(groups) + " |",
        "|---|" + "---|" * len(groups),
        "| (all on: counts) | " + " | ".join("/".join(map(str, base[g])) for g in groups) + " |",
    ]
    for family, counts in table.items():
        if not family:
            continue
        cells = []
        for g in groups:
            delta = [now - then for now, then in zip(counts[g], base[g], strict=True)]
            cells.append("/".join(f"{d:+d}" for d in delta) if any(delta) else "")
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
