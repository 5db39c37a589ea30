"""``ask``, ``eval-answers`` and ``eval-claims``: thin shells over the answer API."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from assistant.interfaces.cli.common import backend_option, make_assistant, print_json
from assistant.models import Answer, Citation


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "ask",
        parents=[common],
        help="answer a question with cited sources",
        description="Answer a question from the survey and the papers it links. Every "
        "claim carries a marker [n]; the numbered sources follow with their links. Without "
        "an LLM the answer quotes the best-matching sentences. Questions the survey does "
        "not cover are refused. Exits 1 when a configured LLM failed (its one-line error "
        "goes to stderr and the quoted answer is printed, marked as a fallback).",
    )
    p.add_argument("question", help="the question, in Chinese or English")
    backend_option(p)
    p.add_argument(
        "--format",
        choices=["text", "json", "markdown", "bibtex"],
        default="text",
        help="text (the answer, numbered sources and small print; the default), json (one "
        "object: question, answer, refused, grounded, backend, citations, hits), markdown (the "
        "answer with numbered references, to paste into notes) or bibtex (an entry for each "
        "cited paper, from the abstracts file; nothing when it cites none)",
    )
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.set_defaults(handler=cmd_ask)

    p = sub.add_parser(
        "eval-answers",
        parents=[common],
        help="measure answer quality on the eval question set",
        description="Ask every question of the eval set and report citation precision "
        "and recall, refusal accuracy and false refusals, expected strings present, "
        "answer-language match (LLM backends) and mean grounded share.",
    )
    backend_option(p)
    p.add_argument(
        "--questions",
        metavar="FILE",
        type=Path,
        default=None,
        help="question set (JSONL; default: eval/questions.jsonl)",
    )
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument(
        "--out", metavar="FILE", type=Path, default=None, help="also write per-question results"
    )
    p.set_defaults(handler=cmd_eval_answers)

    p = sub.add_parser(
        "eval-claims",
        parents=[common],
        help="measure the claim check on labelled LLM replies",
        description="Check every labelled reply in eval/claims/ (recorded replies of a real "
        "small model, and written cases: wrong figure, wrong row, wrong source, no marker, "
        "English over Chinese, lists) against the sources of its question, and report the "
        "check's precision and recall on the hand-written labels; then replay the recorded "
        "replies through the answer pipeline and count how often what the user is shown "
        "(the checked answer and its quotes) holds the expected figure or name, next to the "
        "extractive answer.",
    )
    p.add_argument(
        "--folder",
        metavar="DIR",
        type=Path,
        default=None,
        help="labelled replies (default: eval/claims; setting eval_claims_dir)",
    )
    p.add_argument(
        "--questions",
        metavar="FILE",
        type=Path,
        default=None,
        help="question set giving the expected strings (default: eval/questions.jsonl)",
    )
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(handler=cmd_eval_claims)


def _source_lines(citation: Citation) -> list[str]:
    lines = [f"[{citation.marker}] {citation.label}"]
    if citation.url:
        lines.append(f"    {citation.url}")
    for arxiv_id in citation.linked_arxiv_ids:
        lines.append(f"    links arXiv:{arxiv_id}  https://arxiv.org/abs/{arxiv_id}")
    if citation.quote:
        quote = textwrap.shorten(citation.quote, 200, placeholder=" …")
        lines.append(f"    “{quote}”")
    return lines


def print_answer(answer: Answer) -> None:
    print(answer.text)
    if answer.citations:
        print("\nSources:")
        for citation in answer.citations:
            print("\n".join(_source_lines(citation)))
    facts = [f"backend {answer.backend}"]
    if not answer.refused:
        facts.append(f"grounded {answer.grounded:.0%}")
    facts.append(f"{answer.timings.get('total_ms', 0) / 1000:.1f}s")
    print(f"\n({' · '.join(facts)})")
    for repair in answer.repaired:
        was = f"[{repair.before}]" if repair.before else "no marker"
        print(f"repaired: {was} -> [{repair.after}]: {repair.claim}", file=sys.stderr)
    if answer.unsupported:
        print(
            f"warning: {len(answer.unsupported)} claim(s) no source supports:",
            file=sys.stderr,
        )
        for claim in answer.unsupported:
            print(f"  - {claim}", file=sys.stderr)


def cmd_ask(args: argparse.Namespace) -> int:
    assistant = make_assistant(args)
    answer = assistant.ask(args.question)
    form = "json" if args.json else args.format
    if form == "json":
        print_json(answer.to_json())
    elif form == "markdown":
        print(answer.to_markdown(), end="")
    elif form == "bibtex":
        bibtex = answer.bibtex(assistant.papers())
        print(bibtex if bibtex else "", end="\n" if bibtex else "")
        if not bibtex:
            print("note: the answer cites no arXiv paper", file=sys.stderr)
    else:
        print_answer(answer)
    if answer.error:
        print(f"error: {answer.error}", file=sys.stderr)
        return 1
    return 0


def cmd_eval_answers(args: argparse.Namespace) -> int:
    from assistant.evaluation.answers import AnswerEvaluator, write_report
    from assistant.evaluation.retrieval import load_questions

    assistant = make_assistant(args)
    questions = load_questions(args.questions or assistant.settings.eval_questions_file)
    metrics = AnswerEvaluator(questions)(assistant)
    if args.out:
        write_report(metrics, args.out)
    if args.json:
        print_json(metrics.model_dump(exclude={"results"}))
        return 0
    print(metrics.to_text())
    return 0


def cmd_eval_claims(args: argparse.Namespace) -> int:
    from assistant.evaluation.claims import evaluate_claims, replay_transcripts
    from assistant.evaluation.retrieval import load_questions

    assistant = make_assistant(args)
    settings = assistant.settings
    folder = args.folder or settings.eval_claims_dir
    checked = evaluate_claims(assistant, folder)
    questions = load_questions(args.questions or settings.eval_questions_file)
    replayed = replay_transcripts(assistant, folder, questions)
    if args.json:
        print_json({"claims": checked.model_dump(), "replay": replayed.model_dump()})
        return 0
    print(checked.to_text())
    print()
    print(replayed.to_text())
    return 0
