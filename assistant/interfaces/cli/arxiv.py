"""``fetch-abstracts`` and ``audit-links``: thin shells over :class:`Assistant`."""

from __future__ import annotations

import argparse
import sys
import textwrap

from assistant.interfaces.cli.common import make_assistant, print_json
from assistant.invocation import command


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "fetch-abstracts",
        parents=[common],
        help="fetch missing arXiv abstracts of linked papers into the abstracts file",
        description="Collect every arXiv ID the survey links, ask the arXiv API for the ones "
        "the abstracts file lacks (batches of up to 100 IDs, one call every 3 s at least, "
        "retries with backoff) and merge them in atomically. Unknown and withdrawn IDs are "
        "recorded with a status and not asked for again unless --refresh.",
    )
    p.add_argument(
        "--ids",
        nargs="+",
        metavar="ID",
        help="fetch these arXiv IDs or URLs instead of every ID the corpus links",
    )
    p.add_argument(
        "--refresh",
        action="store_true",
        help="fetch IDs that already have a record too (ok records are never downgraded)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="list what would be fetched and how many calls it takes; no network, no write",
    )
    p.add_argument("--json", action="store_true", help="print the fetch report as JSON")
    p.set_defaults(handler=cmd_fetch_abstracts)

    p = sub.add_parser(
        "audit-links",
        parents=[common],
        help="check each arXiv link's anchor text against the paper's real title",
        description="Compare the anchor text of every arXiv link in the survey with the "
        "linked paper's title (fuzzy matching plus short-name, acronym and author rules). "
        "Reports mismatches with a suggested paper when another one fits the anchor, "
        "linked IDs without an abstract, and duplicate links.",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"links", "mismatches", "missing", "duplicates"} as JSON',
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 1 when a mismatch is found (for CI)",
    )
    p.set_defaults(handler=cmd_audit_links)


def cmd_fetch_abstracts(args: argparse.Namespace) -> int:
    assistant = make_assistant(args)
    report = assistant.fetch_abstracts(
        ids=args.ids,
        refresh=args.refresh,
        dry_run=args.dry_run,
        progress=sys.stderr.isatty() and not args.json,
    )
    if args.json:
        print_json(report.to_json())
        return 0
    todo = len(report.requested)
    if report.dry_run:
        delay = assistant.settings.arxiv_delay
        print(
            f"would fetch {todo} of {report.considered} IDs ({report.already_present} already "
            f"in {report.path}) in {report.batches} call(s), at least {delay:g}s apart"
        )
        if todo:
            print(textwrap.fill(" ".join(report.requested), 100, initial_indent="  ",
                                subsequent_indent="  "))  # fmt: skip
        return 0
    if not todo:
        print(f"nothing to fetch: all {report.considered} IDs have a record in {report.path}")
        return 0
    print(
        f"fetched {todo} IDs in {report.calls} call(s), {report.seconds:.1f}s: "
        f"{len(report.ok)} ok, {len(report.unknown)} unknown, {len(report.withdrawn)} withdrawn"
    )
    for label, ids in (("unknown", report.unknown), ("withdrawn", report.withdrawn)):
        if ids:
            print(f"  {label}: {', '.join(ids)}")
    where = "merged into" if report.written else "nothing new for"
    print(f"{where} {report.path} ({report.already_present} records were already there)")
    return 0


def _cell(text: str | None, width: int) -> str:
    return textwrap.shorten(text or "-", width, placeholder="…").ljust(width)


def cmd_audit_links(args: argparse.Namespace) -> int:
    report = make_assistant(args).audit()
    mismatched = bool(report.mismatches)
    if args.json:
        print_json(report.to_json())
        return 1 if args.strict and mismatched else 0
    counts = report.counts()
    print(
        f"{report.links} arXiv links: {counts['ok']} ok, {counts['mismatch']} mismatched, "
        f"{counts['generic']} generic, {counts['unverified']} unverifiable, "
        f"{counts['missing']} without abstract; {len(report.duplicates)} duplicate groups"
    )
    if report.mismatches:
        print("\nmismatches (anchor text vs the linked paper's real title):")
        print(f"  {'section':<10} {'anchor':<32} {'arXiv':<11} {'score':>5}  real title")
        for c in report.mismatches:
            print(
                f"  {_cell(c.section, 10)} {_cell(c.anchor, 32)} {c.arxiv_id:<11} "
                f"{c.score or 0:>5.1f}  {_cell(c.title, 60).rstrip()}"
            )
            if c.suggested:
                print(f"  {'':<10} {'':<32} → suggested arXiv:{c.suggested} "
                      f"{_cell(c.suggested_title, 60).rstrip()}")  # fmt: skip
    if report.missing:
        print(f"\nlinked IDs without a usable abstract (run `{command('fetch-abstracts')}`):")
        for m in report.missing:
            print(f"  {m.arxiv_id:<16} {m.reason:<10} §{', §'.join(m.sections)}  {m.anchors[0]}")
    if report.duplicates:
        print("\nduplicates:")
        for d in report.duplicates:
            what = "same ID linked" if d.kind == "same_id" else "same anchor links"
            print(
                f"  {what}: {', '.join(d.arxiv_ids)}  anchors: {' | '.join(d.anchors)}  "
                f"in §{', §'.join(d.sections)}"
            )
    return 1 if args.strict and mismatched else 0
