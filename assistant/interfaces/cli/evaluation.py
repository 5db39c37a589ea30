"""``python -m assistant eval``: score retrieval on a question file, print and save the report.

A thin shell over :mod:`assistant.evaluation.retrieval`. Further evaluators plug in by module:
``--answers`` imports :data:`ANSWER_EVALUATOR_MODULE`, which must provide
``AnswerEvaluator(questions, k=…)``; like
:class:`~assistant.evaluation.retrieval.RetrievalEvaluator`, calling it with the
:class:`~assistant.Assistant` returns a report with ``to_json()`` (stored under the
``"answers"`` key of the output) and ``to_text()``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from assistant.errors import AssistantError
from assistant.evaluation.retrieval import RetrievalEvaluator, load_questions, save_report
from assistant.interfaces.cli.common import make_assistant, print_json
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
        help="also evaluate generated answers (needs the answer evaluation module)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
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


def cmd_eval(args: argparse.Namespace) -> int:
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

    saved = save_report(report, assistant.settings.eval_results_dir, payload)
    if args.json:
        print_json(payload)
    else:
        print("\n\n".join(texts))
    print(f"saved {saved}", file=sys.stderr)
    return 0
