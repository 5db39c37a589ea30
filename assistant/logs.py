"""Structured logging: every record carries the id of the question it belongs to.

``request(...)`` opens a scope with a fresh request id (a context variable, so threads
and the chat UI's concurrent events keep theirs apart); ``configure`` installs one
stderr handler, as text (``time level [request] logger: message key=value``) or as one
JSON object per line (``ASSISTANT_LOG_FORMAT=json``). Fields passed as
``extra={"fields": {...}}`` come out as key=value pairs or JSON keys.

At INFO, records hold sizes, languages, counts and timings only: no question or corpus
text and no API keys (the question itself is logged at DEBUG).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("assistant_request_id", default="")
"""The id of the question being handled; empty outside a request (a line then shows none)."""
NOISY = ("bm25s", "chromadb", "httpx", "httpcore", "jieba", "urllib3", "gradio", "uvicorn")

log = logging.getLogger("assistant.requests")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def _request_id(record: logging.LogRecord) -> str:
    return getattr(record, "request_id", None) or REQUEST_ID.get()


def _fields(record: logging.LogRecord) -> dict:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, dict) else {}


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s%(request_tag)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = _request_id(record)
        record.request_tag = f" [{request_id}]" if request_id else ""
        line = super().format(record)
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        return f"{line} {extra}" if extra else line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record),
            "level": record.levelname,
            **({"request_id": request_id} if (request_id := _request_id(record)) else {}),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure(level: str = "WARNING", fmt: str = "text") -> None:
    """One stderr handler on the root logger; noisy libraries kept at WARNING or above."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


@contextlib.contextmanager
def request(kind: str, question: str = "", **fields: object) -> Iterator[dict]:
    """A scope with a new request id (or the enclosing one: the retrieval inside an
    ``ask`` shares its id); logs its start and, at exit, the fields put in the yielded
    dict (timings, counts) with the total duration."""
    current = REQUEST_ID.get()
    token = REQUEST_ID.set(current or uuid.uuid4().hex[:12])
    done: dict = {}
    start = time.perf_counter()
    log.info("%s started", kind, extra={"fields": {"chars": len(question), **fields}})
    if question:
        log.debug("%s question: %s", kind, question)
    try:
        yield done
    except Exception as exc:
        from assistant.errors import AssistantError

        # The user sees an AssistantError's message anyway; only surprises are warnings.
        level = logging.INFO if isinstance(exc, AssistantError) else logging.WARNING
        log.log(level, "%s failed: %s", kind, type(exc).__name__)
        raise
    else:
        done["total_ms"] = round((time.perf_counter() - start) * 1000, 1)
        log.info("%s done", kind, extra={"fields": done})
    finally:
        try:
            REQUEST_ID.reset(token)
        except ValueError:
            # A generator (``stream``) resumed by a server in another context than the
            # one it started in (Gradio runs each step in a copied context).
            REQUEST_ID.set(current)
