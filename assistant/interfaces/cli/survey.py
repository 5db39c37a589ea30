"""``add-survey``: a whole survey in one command (:meth:`Assistant.add_survey`)."""

from __future__ import annotations

import argparse
import sys
import textwrap

from assistant.interfaces.cli.common import make_assistant, print_json
from assistant.invocation import command


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "add-survey",
        parents=[common],
        help="copy a whole survey into the corpus, fetch its papers' abstracts, index it",
        description="Copy the Markdown chapters of a survey into the corpus folder (in a "
        "folder named after it; theme, build, asset and hidden folders skipped), fetch the "
        "arXiv abstracts of every paper it links into the abstracts file, audit the links and "
        "index. Adding the same survey again replaces its folder. Offline, the survey is "
        "still indexed and the summary lists the abstracts still missing.",
        epilog="SOURCE examples: https://github.com/OWNER/REPO (its default branch), "
        "https://github.com/OWNER/REPO/tree/BRANCH/docs, https://host/survey.tar.gz, "
        "survey.zip, ../my-survey/",
    )
    p.add_argument(
        "source",
        metavar="SOURCE",
        help="a GitHub repository URL, the URL or path of a .tar.gz/.zip archive, or a folder",
    )
    p.add_argument(
        "--no-abstracts",
        action="store_true",
        help="do not ask the arXiv API for the linked papers' abstracts",
    )
    p.add_argument(
        "--name",
        help="folder name inside the corpus (default: the repository, archive or folder name)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=cmd_add_survey)


def _ids(ids: list[str], shown: int = 8) -> str:
    more = f", … ({len(ids) - shown} more)" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more


def cmd_add_survey(args: argparse.Namespace) -> int:
    assistant = make_assistant(args)
    progress = sys.stderr.isatty() and not args.json
    report = assistant.add_survey(
        args.source, abstracts=not args.no_abstracts, name=args.name, progress=progress
    )
    if args.json:
        print_json(report.to_json())
        return 0
    copied = report.copied
    replaced = " (replacing the earlier copy)" if copied.replaced else ""
    print(f"added {copied.source.given} to {copied.target}{replaced}")
    if copied.duplicates:
        same = ", ".join(f"{rel} = {have}" for rel, have in copied.duplicates.items())
        print(textwrap.fill(f"  already in the corpus, not copied twice: {same}", 100,
                            subsequent_indent="    ", break_on_hyphens=False))  # fmt: skip
    if copied.skipped_links or copied.skipped_large:
        print(
            f"  skipped: {copied.skipped_links} link(s) or path(s) outside the survey, "
            f"{len(copied.skipped_large)} oversized file(s)"
        )
    print(
        f"  {report.chapters} chapters · {report.numbered_sections} numbered sections "
        f"({report.sections} in all) · {report.links} arXiv links to {len(report.papers)} papers"
    )
    fetched = report.fetched
    if args.no_abstracts:
        print("  abstracts: not fetched (--no-abstracts)")
    elif report.fetch_error:
        print(f"  abstracts: not fetched: {report.fetch_error}")
    elif fetched is not None:
        print(
            f"  abstracts: {len(fetched.ok)} fetched now, {fetched.already_present} already "
            f"in {fetched.path}"
            + (f", {len(fetched.unknown)} unknown to arXiv" if fetched.unknown else "")
            + (f", {len(fetched.withdrawn)} withdrawn" if fetched.withdrawn else "")
        )
    if report.missing:
        print(textwrap.fill(
            f"  missing abstracts ({len(report.missing)}): {_ids(report.missing)}; when "
            f"online: `{command('fetch-abstracts')}`, then `{command('index')}`",
            100, subsequent_indent="    ", break_on_hyphens=False))  # fmt: skip
    else:
        print("  missing abstracts: none")
    if report.mismatches:
        print(
            f"  mismatched links: {len(report.mismatches)} (anchor text names another "
            f"paper; `{command('audit-links')}` lists them)"
        )
    else:
        print("  mismatched links: none")
    seconds = report.seconds
    print(
        f"  index: {report.chunks} chunks, {report.embedded} embedded, "
        f"in {seconds.get('total', 0):.1f}s"
    )
    return 0
