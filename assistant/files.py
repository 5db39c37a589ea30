"""Crash-safe file writes shared by the modules that own a file (abstracts, audit results)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Literal

import numpy as np


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so readers see the old file or the new one, never half.

    The text goes to a uniquely named temporary file in the same folder (so the final
    ``os.replace`` is a rename within one file system), is fsynced, then renamed over
    ``path``. On any failure the temporary file is removed and ``path`` is untouched.
    """
    atomic_write_lines(path, [text], newline="")


def atomic_write_lines(path: Path, lines: Iterable[str], newline: str = "\n") -> None:
    """:func:`atomic_write_text` for many lines, streamed instead of joined in memory
    (a 100k-chunk index would otherwise hold its whole JSONL twice)."""
    with atomic_file(path, "w") as handle:
        for line in lines:
            handle.write(line)
            handle.write(newline)


def atomic_save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """``np.savez`` with the same guarantee (index parts, the sentence-vector cache)."""
    with atomic_file(path, "wb") as handle:
        np.savez(handle, **arrays)


@contextlib.contextmanager
def atomic_file(path: Path, mode: Literal["w", "wb"]) -> Iterator[IO]:
    """The file :func:`atomic_write_text` writes through: a temporary file in ``path``'s
    folder, fsynced and renamed over ``path`` when the block ends, removed if it raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _mode_for(path))
        text = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
        with os.fdopen(fd, mode, **text) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual 0o666 minus umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
