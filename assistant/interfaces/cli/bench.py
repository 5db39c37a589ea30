"""``python -m assistant bench``: the performance benchmark (:mod:`assistant.evaluation.bench`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from assistant.errors import InvalidInput
from assistant.interfaces.cli.common import make_assistant


def _sizes(value: str) -> list[int]:
    try:
        sizes = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--sizes wants comma-separated integers, got {value!r}"
        ) from None
    if not sizes or any(n < 10 for n in sizes):
        raise argparse.ArgumentTypeError("--sizes wants chunk counts of at least 10")
    return sizes


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "bench",
        parents=[common],
        help="measure indexing and query cost from the bundled corpus to 100k chunks",
        description="Build deterministic synthetic corpora of the given sizes (plus the bundled "
        "corpus), index and query each in its own process, against the local Chroma and a "
        "Chroma server started on 127.0.0.1, and write eval/results/bench-<time>.json with a "
        "log-log plot. Synthetic sizes above 1000 chunks use the hash stand-in embedder; the "
        "configured embedder's throughput is measured separately on real text. "
        "A full run takes up to about 30 minutes on 2 cores; --quick about two.",
    )
    p.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help="comma-separated synthetic corpus sizes in chunks (default: 1000,10000,100000; "
        "--quick: 1000)",
    )
    p.add_argument(
        "--queries",
        type=int,
        default=None,
        help="warm queries per retrieval mode and size (default: 200; --quick: 50)",
    )
    p.add_argument(
        "--server",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run every size against a `chroma run` server (default: on)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a short run: 1000 chunks, 50 queries, stand-in embedder for the synthetic corpus",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="where to write bench-<time>.json and .png (default: eval/results/)",
    )
    p.add_argument(
        "--no-plot-copy",
        action="store_true",
        help="do not refresh docs/bench.png and docs/bench.json (what the README shows); "
        "--quick and --sizes runs never do",
    )
    p.add_argument(
        "--show",
        metavar="FILE",
        default=None,
        help="print the tables of an earlier bench-<time>.json instead of running",
    )
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.set_defaults(handler=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from assistant.evaluation.bench import (
        BenchConfig,
        BenchReport,
        markdown_embedders,
        markdown_table,
        markdown_targets,
        run_bench,
    )

    assistant = make_assistant(args)
    queries = args.queries if args.queries is not None else (50 if args.quick else 200)
    if queries < 1:
        raise InvalidInput("--queries must be at least 1")
    config = BenchConfig(
        sizes=args.sizes or ([1000] if args.quick else [1000, 10000, 100000]),
        queries=queries,
        server=args.server,
        real_embedder_max_chunks=0 if args.quick else 1000,
        one_changed=True,
        thread_variants=not args.quick,
    )
    if args.out:
        config.out_dir = Path(args.out)
    if args.no_plot_copy or args.quick or args.sizes:
        config.plot_copy = None  # only a full run replaces the figures the README shows
    if args.show:
        try:
            report = BenchReport.model_validate_json(Path(args.show).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"cannot read benchmark report {args.show}: {exc}") from exc
    else:
        report = run_bench(config, embedder=assistant.settings.embedder)
    if args.json:
        print(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return 0
    print(markdown_table(report))
    print(markdown_targets(report))
    print(markdown_embedders(report))
    if not args.show:
        print(f"wrote {report.plot} and its JSON in {report.seconds:.0f} s", file=sys.stderr)
    return 0
