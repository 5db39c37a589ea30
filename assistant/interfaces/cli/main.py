"""``python -m assistant`` / ``assistant``: a thin command-line shell over :class:`Assistant`.

Errors the user can fix print as one line on stderr with a non-zero exit code (2 for
invalid input); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from assistant.errors import AssistantError
from assistant.interfaces.cli import answer, arxiv, bench, evaluation, index, serve, survey
from assistant.interfaces.cli.common import global_options
from assistant.invocation import program

COMMAND_MODULES = (index, survey, evaluation, answer, serve, arxiv, bench)
"""Each module's ``register(sub, common)`` adds its sub-commands, in this order in --help."""

log = logging.getLogger("assistant")

TYPICAL_USE = (
    ("add-survey SOURCE", "copy a whole survey in, fetch its abstracts, index it"),
    ("index", "build or update the index"),
    ("serve", "chat UI on http://127.0.0.1:7860"),
    ('ask "NetWorld 把世界模型用在了什么场景？"', ""),
    ('retrieve "哪些工作把3D几何理解引入世界模型？"', ""),
    ("eval --mode all", "retrieval metrics on eval/questions.jsonl"),
)


def description() -> str:
    """The --help text, naming commands the way this process was started."""
    rows = [(f"  {program()} {args}", what) for args, what in TYPICAL_USE]
    width = max(len(line) for line, what in rows if what) + 2
    usage = "\n".join(f"{line:<{width}}{what}".rstrip() for line, what in rows)
    return (
        "Ask questions about a research survey (Markdown) and the arXiv papers it links;\n"
        "answers cite survey sections (§17.4.1) and arXiv IDs.\n\n"
        f"typical use:\n{usage}\n\n"
        "Settings come from flags, ASSISTANT_* environment variables and assistant.toml\n"
        "(`config --markdown` prints the table; docs/configuration.md)."
    )


def build_parser() -> argparse.ArgumentParser:
    common = global_options()
    parser = argparse.ArgumentParser(
        prog=program(),
        description=description(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    for module in COMMAND_MODULES:
        module.register(sub, common)
    return parser


def _configure_logging(args: argparse.Namespace, debug: bool) -> None:
    """Level and format from --log-level, else settings (ASSISTANT_LOG_LEVEL/_FORMAT)."""
    from assistant import logs
    from assistant.settings import Settings

    settings = Settings()
    level = getattr(args, "log_level", None) or ("DEBUG" if debug else settings.log_level)
    logs.configure(level, settings.log_format)


def main(argv: Sequence[str] | None = None) -> int:
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
