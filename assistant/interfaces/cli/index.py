"""The index commands: ``index``, ``retrieve``, ``sections``, ``info``, ``config``."""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap

from assistant.interfaces.cli.common import make_assistant, print_json
from assistant.invocation import command

log = logging.getLogger("assistant")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "index",
        parents=[common],
        help="build or update the index",
        description="Parse the corpus, chunk it, embed new or changed chunks and "
        "store them in Chroma with a BM25 sidecar. Unchanged chunks are reused. Then embed "
        "the sentences answers quote (up to prepare_sentences_max; cached beside the index), "
        "so that no question waits for them.",
    )
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="rebuild the collection and BM25 sidecar from scratch; vectors still come "
        "from the embedding cache (ASSISTANT_EMBED_CACHE=false re-embeds everything)",
    )
    p.add_argument("--json", action="store_true", help="print the build report as JSON")
    p.set_defaults(handler=cmd_index)

    p = sub.add_parser(
        "retrieve",
        parents=[common],
        help="show the chunks a question retrieves",
        description="Retrieve the best chunks for a question, with their scores "
        "and the retrievers that found them.",
    )
    p.add_argument("question", help="the question, in Chinese or English")
    p.add_argument("--k", type=int, default=None, help="number of hits (default: 5)")
    p.add_argument(
        "--mode",
        choices=["dense", "bm25", "hybrid"],
        default=argparse.SUPPRESS,
        help="retrieval mode (default: hybrid)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_retrieve)

    p = sub.add_parser(
        "sections", parents=[common], help="list sections with chunk and link counts"
    )
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(handler=cmd_sections)

    p = sub.add_parser("info", parents=[common], help="show the index manifest and settings")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_info)

    p = sub.add_parser(
        "config",
        parents=[common],
        help="show every setting and its value",
        description="Print the effective settings (flags > ASSISTANT_* env > "
        "assistant.toml > defaults), or the settings table of docs/configuration.md.",
    )
    p.add_argument("--markdown", action="store_true", help="print the settings table as Markdown")
    p.set_defaults(handler=cmd_config)


def cmd_index(args: argparse.Namespace) -> int:
    assistant = make_assistant(args)
    report = assistant.update(rebuild=args.rebuild, progress=sys.stderr.isatty())
    m = report.manifest
    total = report.seconds["total"]
    if args.json:
        print_json(
            {
                "unchanged": report.unchanged,
                "embedded": report.embedded,
                "reused": report.reused,
                "removed": report.removed,
                "seconds": report.seconds,
                "manifest": m.model_dump(),
            }
        )
        return 0
    if report.unchanged:
        print(
            f"index is up to date: {m.chunks} chunks ({m.sections} section, {m.abstracts} "
            f"abstract) in {assistant.settings.index_dir}, embedder {m.embedder} "
            f"({total:.1f}s)"
        )
    else:
        print(
            f"indexed {m.chunks} chunks ({m.sections} section, {m.abstracts} abstract): "
            f"{report.parsed} of {len(m.files)} files parsed, {report.embedded} embedded, "
            f"{report.reused} reused, in {total:.1f}s "
            f"(sentences for answers {report.seconds['sentences']:.1f}s)"
        )
        print(
            f"  collections {', '.join(m.collections.values())} · embedder {m.embedder} "
            f"(dim {m.dim}) · corpus {m.corpus_hash} · {assistant.settings.index_dir}"
        )
    return 0


def cmd_retrieve(args: argparse.Namespace) -> int:
    assistant = make_assistant(args)
    hits = assistant.retrieve(args.question, k=args.k)
    if args.json:
        print_json({"question": args.question, "hits": [h.to_json() for h in hits]})
        return 0
    for hit in hits:
        found = ", ".join(f"{name}#{rank}" for name, rank in hit.retrievers.items())
        print(f"{hit.rank}. {hit.chunk.label}   score {hit.score:.4f}   [{found}]")
        snippet = " ".join(hit.chunk.text.split())
        print(textwrap.indent(textwrap.shorten(snippet, 220, placeholder=" …"), "   "))
    if not hits:
        print("no hits")
    return 0


def cmd_sections(args: argparse.Namespace) -> int:
    rows = make_assistant(args).sections()
    if args.json:
        print_json([r.to_json() for r in rows])
        return 0
    for row in rows:
        links = f"  arXiv: {', '.join(row.arxiv_ids)}" if row.arxiv_ids else ""
        depth = "  " * max(0, len(row.path) - 1)
        print(f"{depth}{row.section:>8}  {row.title}  ({row.chunks} chunks){links}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    facts = make_assistant(args).info()
    if args.json:
        print_json(facts)
        return 0
    manifest = facts.pop("manifest")
    refusal = facts.pop("refusal")
    for key, value in facts.items():
        print(f"{key:>15}: {value}")
    if manifest:
        print("index:")
        for key, value in manifest.items():
            if key != "refusal":
                print(f"{key:>15}: {value}")
    else:
        print(f"index: none yet (run `{command('index')}`)")
    print(f"refusal: {refusal['source']}")
    for asked, pairs in (refusal["thresholds"] or {}).items():
        limits = ", ".join(f"{sentences} sentences {t:+.4f}" for sentences, t in pairs.items())
        print(f"{asked + ' questions':>15}: {limits}")
    derivation = refusal.get("derivation")
    if derivation:
        print(f"{'how':>15}: {derivation['method']} ({derivation['seconds']:.1f} s)")
        for pair, f in derivation["off_topic"].items():
            spread = f"{f['least']:+.4f} … {f['most']:+.4f}"
            print(f"{'off-topic ' + pair:>15}: {f['n']} probes, {spread}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from assistant.settings import settings_table

    settings = make_assistant(args).settings
    if args.markdown:
        print(settings_table())
        return 0
    for name, value in settings.model_dump().items():
        if name == "auth" and value:
            value = value.split(":", 1)[0] + ":***"
        print(f"{name:>24} = {value}")
    return 0
