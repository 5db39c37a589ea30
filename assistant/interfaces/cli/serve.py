"""``python -m assistant serve``: start the chat UI (see :mod:`assistant.interfaces.ui`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path

from assistant.interfaces.cli.common import make_assistant
from assistant.invocation import command

log = logging.getLogger(__name__)


def _warm_up(assistant) -> None:
    """Load the embedder, the index and the answer stage's sentence statistics while the
    page loads, not on the first question (a cold first answer takes seconds). No LLM call."""
    try:
        assistant.answers.evidence("warm-up")  # retrieval and sentence scoring, no LLM call
        from assistant.indexing.lexicon import everyday_frequency

        for word in ("world", "世界"):  # load wordfreq's lists (refusals use them)
            everyday_frequency(word)
    except Exception as exc:  # the chat shows index problems to whoever asks
        log.warning("warm-up failed: %s", exc)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "serve",
        parents=[common],
        help="start the chat UI in the browser",
        description="Serve the chat UI (Gradio) on http://HOST:PORT. It binds 127.0.0.1 "
        "unless told otherwise, never creates a public share link and sends no analytics. "
        "When no index exists yet it builds one first.",
    )
    sup = argparse.SUPPRESS
    p.add_argument(
        "--host",
        default=sup,
        help="address to bind (default 127.0.0.1; 0.0.0.0 exposes the UI to your network)",
    )
    p.add_argument("--port", type=int, default=sup, help="port to listen on (default 7860)")
    p.add_argument(
        "--auth",
        metavar="USER:PASS",
        default=sup,
        help="require this login (default: ASSISTANT_AUTH, else no login)",
    )
    p.add_argument(
        "--mode",
        choices=["dense", "bm25", "hybrid"],
        default=sup,
        help="retrieval mode preselected in the UI (default: hybrid)",
    )
    p.add_argument(
        "--backend",
        choices=["none", "openai-compatible", "ollama"],
        default=sup,
        help="answer backend (default: ASSISTANT_LLM_BACKEND, else none = extractive)",
    )
    p.set_defaults(handler=cmd_serve)

    c = sub.add_parser(
        "chroma-server",
        help="run a Chroma server for a shared index (chroma run, tuned)",
        description="Run `chroma run` in the foreground with the settings this assistant is "
        "measured with (assistant/indexing/chroma-server.yaml: collection records cached "
        "instead of read from SQLite on every query). Point the assistant at it with "
        "--chroma-url http://HOST:PORT or ASSISTANT_CHROMA_URL.",
    )
    c.add_argument("--path", required=True, help="folder the server keeps its data in")
    c.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    c.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    c.set_defaults(handler=cmd_chroma_server)


def cmd_serve(args: argparse.Namespace) -> int:
    # Gradio wraps every event in a matplotlib backend switch; without a backend chosen the
    # first one imports pyplot to pick one (~0.7 s holding the event loop, profiled under
    # the load test). The UI draws no plots: the non-interactive backend is chosen upfront.
    os.environ.setdefault("MPLBACKEND", "agg")
    from assistant.interfaces.ui import create_app, launch

    assistant = make_assistant(args)
    settings = assistant.settings
    if assistant.manifest() is None:
        print(
            f"no index in {settings.index_dir} yet: building it now "
            f"(`{command('index')}` does this ahead of time)",
            file=sys.stderr,
        )
        assistant.build_index(progress=sys.stderr.isatty())
        assistant.prepare_answers(progress=sys.stderr.isatty())
    app = create_app(assistant)
    threading.Thread(target=_warm_up, args=(assistant,), daemon=True).start()
    url = f"http://{settings.host}:{settings.port}/"
    print(f"chat UI on {url} (Ctrl+C stops it)", file=sys.stderr)
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.auth:
        log.warning("serving on %s without --auth: anyone on the network can use it", settings.host)
    launch(app, host=settings.host, port=settings.port, auth=settings.auth)
    return 0


def cmd_chroma_server(args: argparse.Namespace) -> int:
    from assistant.indexing.chroma_server import server_command

    command, env = server_command(Path(args.path), args.host, args.port)
    print(f"Chroma server on http://{args.host}:{args.port} (Ctrl+C stops it)", file=sys.stderr)
    os.execvpe(command[0], command, env)
    return 0  # not reached: the process is now the server
