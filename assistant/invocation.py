"""How the user runs the assistant, so that every hint names a command they can paste.

A hint saying ``python -m assistant index`` is wrong for someone who typed
``.venv/bin/python -m assistant ask …`` (their ``python`` may not have the package) or
used the ``assistant`` console script. The interpreter's original command line
(:data:`sys.orig_argv`) says which; a process that is not the CLI (the Python API in a
script or notebook) gets the portable ``python -m assistant``.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

DEFAULT = "python -m assistant"


def program() -> str:
    """The assistant's command as this process was started: ``.venv/bin/python -m assistant``,
    ``python3 -m assistant``, ``assistant``, or :data:`DEFAULT` when not started as the CLI."""
    argv = list(getattr(sys, "orig_argv", ()) or ())
    for i, arg in enumerate(argv[1:-1], 1):
        if arg == "-m" and argv[i + 1] == "assistant":
            return f"{shlex.quote(argv[0])} -m assistant"
    script = sys.argv[0] if sys.argv else ""
    if Path(script).name == "assistant":
        on_path = shutil.which("assistant")
        if on_path and Path(on_path).resolve() == Path(script).resolve():
            return "assistant"
        return shlex.quote(script)
    return DEFAULT


def command(args: str) -> str:
    """A full command line for the sub-command ``args``, e.g. ``command("index --rebuild")``."""
    return f"{program()} {args}".rstrip()
