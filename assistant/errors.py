"""Exceptions the API raises; the CLI prints their message as one line and exits non-zero.

Each message says what went wrong and what to do about it, because it is often the
only thing a user sees.
"""

from __future__ import annotations

from assistant.invocation import command


class AssistantError(Exception):
    """Base class: anything the user can fix from the message alone."""

    exit_code = 1


class InvalidInput(AssistantError, ValueError):
    """A question, ``k`` or mode that the API refuses before doing any work."""

    exit_code = 2


class CorpusError(AssistantError):
    """The corpus folder or the abstracts file the user named cannot be used (missing, empty,
    not UTF-8): invalid input, like a bad question."""

    exit_code = 2


class EmbedderError(AssistantError):
    """A configured embedding backend cannot load or answer."""


class IndexError_(AssistantError):
    """Base for index problems (named with a trailing underscore to keep the builtin)."""


class IndexMissing(IndexError_):
    """No index has been built yet."""


class IndexMismatch(IndexError_):
    """The index was built by another embedder or with other chunking settings."""


class IndexCorrupt(IndexError_):
    """The manifest, collection or BM25 sidecar are missing or disagree."""


class IndexLocked(IndexError_):
    """Another ``index`` run holds the lock."""


class IndexNotWritable(IndexError_):
    """The index folder cannot be written."""


class LLMError(AssistantError):
    """The configured LLM backend failed (connection, timeout, HTTP error, broken stream)."""


class DownloadError(AssistantError):
    """A survey archive could not be downloaded or read (``add-survey``)."""


class ArxivError(AssistantError):
    """The arXiv API answered with errors or unusable feeds after all retries."""


class ArxivUnreachable(ArxivError):
    """The arXiv API host cannot be reached at all (offline, DNS, refused)."""


def rebuild_hint() -> str:
    """The fix for an unusable index, named the way the user runs the assistant."""
    return f"run `{command('index --rebuild')}`"
