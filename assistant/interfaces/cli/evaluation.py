"""``python -m assistant eval``: score retrieval on a question file, print and save the report.

A thin shell over :mod:`assistant.evaluation.retrieval`. Further evaluators plug in by module:
``--answers`` imports :data:`ANSWER_EVALUATOR_MODULE`, which must provide
``AnswerEvaluator(questions, k=…)``; like
:class:`~assistant.evaluation.retrieval.RetrievalEvaluator`, calling it with the
:class:`~assistant.Assistant` returns a report with ``to_json()`` (stored under the
``"answers"`` key of the output) and ``to_text()``. ``--answers`` also reports the claim
check's precision and recall on the labelled replies of eval/claims/ (``"claim_check"``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path

from assistant.errors import AssistantError, InvalidInput
from assistant.evaluation.retrieval import RetrievalEvaluator, load_questions, save_report
from assistant.interfaces.cli.common import backend_option, make_assistant, print_json
from assistant.search.retrieval import MODES

log = logging.getLogger(__name__)

ANSWER_EVALUATOR_MODULE = "assistant.evaluation.answers"


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "eval",
        parents=[common],
        help="measure retrieval quality on a question file",
        description="Run every answerable question of a JSONL question file through the "
        "retriever and report hit@1/3/5, MRR@k, nDCG@k and recall@5, overall, by question "
        "language and by gold kind, with warm query latency (embedding reported "
        "separately) and the questions that missed. Each run is saved as JSON under "
        "eval/results/ (setting eval_results_dir).",
    )
    p.add_argument(
        "--questions",
        metavar="FILE",
        type=Path,
        default=None,
        help="question file (default: eval/questions.jsonl; setting eval_questions_file)",
    )
    p.add_argument(
        "--mode",
        dest="eval_mode",
        choices=[*MODES, "all"],
        default="all",
        help="retrieval mode to evaluate, or all of them (default: all)",
    )
    p.add_argument(
        "--k",
        type=int,
        default=10,
        help="results scored per question, 5 to 100; sets MRR@k and nDCG@k (default: 10)",
    )
    p.add_argument(
        "--answers",
        action="store_true",
        help="also evaluate generated answers (needs the answer evaluation module); with an "
        "LLM backend, claim by claim",
    )
    backend_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    union = p.add_argument_group("union test bed")
    union.add_argument(
        "--union",
        action="store_true",
        help="index the bundled chapter and every eval/heldout*/corpus chapter together as "
        "one survey (under index/union/, setting eval_union_dir; only the first build "
        "embeds) and ask every question set against it: retrieval per mode and language "
        "and answers, per set and for the union",
    )
    union.add_argument(
        "--alone",
        action="store_true",
        help="with --union: also index each chapter on its own and report its retrieval",
    )
    union.add_argument(
        "--no-answers",
        action="store_true",
        help="with --union: retrieval only (answers take most of the time)",
    )
    union.add_argument(
        "--ablate",
        metavar="FAMILIES",
        default=None,
        help="with --union: answers only, once with everything on and once with each rule "
        "family of the answer stage off (comma-separated, or 'all'); prints how gold "
        "citations, expected strings and both kinds of refusal change, per set",
    )
    union.add_argument(
        "--fit",
        metavar="SETTING=V1,V2,...",
        default=None,
        help="with --union: choose a retrieval setting (bm25_weight, rrf_k, candidate_k) "
        "from these values leave-one-chapter-out and report the held-out figures "
        "(hybrid retrieval only; see docs/evaluation.md)",
    )
    union.add_argument(
        "--sets",
        metavar="NAMES",
        default=None,
        help="with --union: comma-separated question sets to ask (default: all; the index "
        "always holds every chapter), e.g. bundled,heldout8",
    )
    p.set_defaults(handler=cmd_eval)


def _answer_evaluator(questions: list, k: int):
    try:
        module = importlib.import_module(ANSWER_EVALUATOR_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name is None or not ANSWER_EVALUATOR_MODULE.startswith(exc.name):
            raise
        raise AssistantError(
            "answer evaluation is not available in this version; run `eval` without --answers"
        ) from exc
    return module.AnswerEvaluator(questions, k=k)


def _claim_check(assistant):
    """The claim check's precision and recall on the labelled replies of ``eval_claims_dir``
    (``eval-claims`` details them); None when those replies are about another corpus."""
    from assistant.evaluation.claims import evaluate_claims

    try:
        return evaluate_claims(assistant, assistant.settings.eval_claims_dir)
    except InvalidInput as exc:
        log.warning("claim check not measured: %s", exc)
        return None


def cmd_eval(args: argparse.Namespace) -> int:
    if args.union:
        return cmd_union(args)
    for flag in ("alone", "no_answers", "sets", "ablate", "fit"):
        if getattr(args, flag):
            raise InvalidInput(f"--{flag.replace('_', '-')} needs --union")
    assistant = make_assistant(args)
    path = args.questions or assistant.settings.eval_questions_file
    questions = load_questions(path)
    modes = list(MODES) if args.eval_mode == "all" else [args.eval_mode]
    evaluator = RetrievalEvaluator(questions, modes=modes, k=args.k, questions_file=str(path))
    extra = [_answer_evaluator(questions, args.k)] if args.answers else []

    report = evaluator(assistant, progress=lambda mode: log.info("evaluated %s", mode))
    report.meta = {
        "corpus_dir": str(assistant.settings.corpus_dir),
        "index_dir": str(assistant.settings.index_dir),
        "manifest": assistant.index.manifest.model_dump(),
        "settings": assistant.settings.model_dump(
            mode="json",
            include={
                "retrieval_mode",
                "fusion",
                "bm25_weight",
                "candidate_k",
                "rrf_k",
                "rerank_model",
            },
        ),
    }
    payload = report.to_json()
    texts = [report.to_text()]
    for other in extra:
        result = other(assistant)
        payload["answers"] = result.to_json()
        texts.append(result.to_text())
    if args.answers and (claims := _claim_check(assistant)) is not None:
        payload["claim_check"] = claims.model_dump(exclude={"results"})
        texts.append(claims.to_text())

    saved = save_report(report, assistant.settings.eval_results_dir, payload)
    if args.json:
        print_json(payload)
    else:
        print("\n\n".join(texts))
    print(f"saved {saved}", file=sys.stderr)
    return 0


def cmd_union(args: argparse.Namespace) -> int:
    from assistant.evaluation.union import UnionBed, UnionEvaluator

    for flag in ("corpus", "abstracts", "index_dir", "questions"):
        if getattr(args, flag, None) is not None:
            raise InvalidInput(
                f"--union builds its own corpus and index; drop --{flag.replace('_', '-')}"
            )
    if args.answers:
        raise InvalidInput("--union evaluates answers already (--no-answers skips them)")
    settings = make_assistant(args).settings
    only = [name.strip() for name in args.sets.split(",") if name.strip()] if args.sets else None
    bed = UnionBed(settings, only=only)
    log.info("union corpus: %d files, %d papers", bed.corpus.files, bed.corpus.papers)
    families = _families(args.ablate) if args.ablate else None
    bed.build(progress=not args.json)
    if families is not None:
        return _ablate(args, bed, families)
    if args.fit:
        return _fit(args, bed, settings)
    alone = bed.alone() if args.alone else None
    modes = list(MODES) if args.eval_mode == "all" else [args.eval_mode]
    evaluator = UnionEvaluator(bed.questions(), modes=modes, k=args.k, answers=not args.no_answers)
    report = evaluator(bed.assistant, alone=alone, progress=lambda what: log.info("done %s", what))
    report.union = bed.corpus
    payload = report.to_json()
    payload["meta"] = {
        "settings": settings.model_dump(
            mode="json",
            include={"retrieval_mode", "fusion", "bm25_weight", "candidate_k", "rrf_k"},
        ),
        "manifest": bed.assistant.index.manifest.model_dump(mode="json"),
    }
    saved = save_report(report.retrieval, settings.eval_results_dir, payload, kind="union")
    if args.json:
        print_json(payload)
    else:
        print(report.to_text())
    print(f"saved {saved}", file=sys.stderr)
    return 0


def _families(wanted: str) -> list[str]:
    from assistant.answer.rules import FAMILIES

    names = [f.strip() for f in wanted.split(",") if f.strip()]
    families = list(FAMILIES) if names == ["all"] else names
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        raise InvalidInput(
            f"unknown rule families {', '.join(unknown)}; known: {', '.join(FAMILIES)}"
        )
    return families


def _ablate(args: argparse.Namespace, bed, families: list[str]) -> int:
    from assistant.evaluation.union import ablation, format_ablation

    table = ablation(bed.assistant, bed.questions(), families, progress=log.info)
    if args.json:
        print_json(table)
    else:
        print(format_ablation(table))
    return 0


def _fit(args: argparse.Namespace, bed, settings) -> int:
    from assistant.evaluation.fit import LeaveOneCorpusOut, parse_grid

    setting, grid = parse_grid(args.fit)
    report = LeaveOneCorpusOut(bed.questions(), setting, grid)(bed.assistant, bed.alone())
    payload = report.model_dump(mode="json")
    folder = Path(settings.eval_results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    saved = folder / f"{stamp}-fit.json"
    saved.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print_json(payload)
    else:
        print(report.to_text())
    print(f"saved {saved}", file=sys.stderr)
    return 0
