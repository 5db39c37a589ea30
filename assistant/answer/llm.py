"""LLM backends through llama-index: ``openai-compatible`` (OpenAILike), ``ollama``, ``none``.

:class:`ChatBackend` adds what the pipeline needs beyond llama-index: every failure becomes
one :class:`LLMError` line naming the backend, and a stream that ends without the server's
end-of-message mark is reported as broken (llama-index's OpenAI stream ends silently).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.llms import LLM

from assistant.errors import AssistantError, LLMError
from assistant.settings import Settings

log = logging.getLogger(__name__)


class ChatBackend:
    """One configured LLM, called through llama-index's chat interface."""

    def __init__(self, name: str, llm: LLM, where: str) -> None:
        self.name = name
        self.llm = llm
        self.where = where
        """``model m at http://…`` for messages."""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.where})"

    def chat(self, messages: Sequence[ChatMessage]) -> str:
        """The whole reply; :class:`LLMError` on any failure."""
        try:
            response = self.llm.chat(list(messages))
        except Exception as exc:
            raise LLMError(self.describe(exc)) from exc
        return response.message.content or ""

    def stream(self, messages: Sequence[ChatMessage]) -> Iterator[str]:
        """Text deltas; :class:`LLMError` on failure, including a stream cut short."""
        finished = False
        try:
            for response in self.llm.stream_chat(list(messages)):
                finished = finished or _is_final(response.raw)
                if response.delta:
                    yield response.delta
        except Exception as exc:
            raise LLMError(self.describe(exc)) from exc
        if not finished:
            raise LLMError(
                f"LLM backend {self.label}: the stream ended before the model finished "
                "(broken or truncated response)"
            )

    def describe(self, exc: BaseException) -> str:
        """One line naming the backend and what went wrong."""
        return f"LLM backend {self.label}: {_reason(exc)}"


def _field(raw: object, name: str) -> object:
    return raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)


def _is_final(raw: object) -> bool:
    """Whether a streamed chunk carries the end-of-message mark: Ollama's ``done``, or an
    OpenAI choice's ``finish_reason`` (the raw chunk is an object or a dict)."""
    if raw is None:
        return False
    choices = _field(raw, "choices") or ()
    return bool(_field(raw, "done")) or any(_field(c, "finish_reason") for c in choices)


def _reason(exc: BaseException) -> str:
    """Short cause for the usual failures of both client libraries (openai, ollama/httpx)."""
    import httpx
    import openai

    chain: list[BaseException] = []
    cursor: BaseException | None = exc
    while cursor is not None and len(chain) < 6:
        chain.append(cursor)
        cursor = cursor.__cause__ or cursor.__context__
    for err in chain:
        if isinstance(err, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
            return "timed out (raise ASSISTANT_LLM_TIMEOUT or check the server)"
        if isinstance(err, openai.APIStatusError):
            return f"HTTP {err.status_code} {_short(_message(err))}".rstrip()
        status = getattr(err, "status_code", None)
        if isinstance(status, int) and status >= 400:
            return f"HTTP {status} {_short(str(getattr(err, 'error', '') or err))}".rstrip()
        if isinstance(err, openai.APIConnectionError | httpx.ConnectError | ConnectionError):
            return "connection refused or unreachable (is the server running at that URL?)"
    return _short(f"{type(exc).__name__}: {exc}")


def _message(err: BaseException) -> str:
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(err, "message", "") or "")


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def create_backend(settings: Settings) -> ChatBackend | None:
    """The configured LLM, or None for ``llm_backend = none``; :class:`AssistantError` when
    one is chosen but not fully configured: it never silently becomes another."""
    backend = settings.llm_backend
    if backend == "none":
        return None
    if not settings.llm_model:
        raise AssistantError(
            f"llm_backend is {backend} but no model is set; set ASSISTANT_LLM_MODEL "
            "(or use --backend none)"
        )
    if backend == "openai-compatible":
        if not settings.llm_base_url:
            raise AssistantError(
                "llm_backend is openai-compatible but no URL is set; set "
                "ASSISTANT_LLM_BASE_URL, e.g. http://127.0.0.1:8080/v1"
            )
        from llama_index.llms.openai_like import OpenAILike

        llm = OpenAILike(
            model=settings.llm_model,
            api_base=settings.llm_base_url,
            api_key=os.environ.get(settings.llm_api_key_env) or "not-needed",
            is_chat_model=True,
            context_window=settings.llm_context_window,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            timeout=settings.llm_timeout,
            max_retries=0,
        )
        where = f"model {settings.llm_model} at {settings.llm_base_url}"
        return ChatBackend(backend, llm, where)
    if backend == "ollama":
        from llama_index.llms.ollama import Ollama

        llm = Ollama(
            model=settings.llm_model,
            base_url=settings.ollama_url,
            temperature=settings.llm_temperature,
            context_window=settings.llm_context_window,
            request_timeout=settings.llm_timeout,
            additional_kwargs={"num_predict": settings.llm_max_tokens},
        )
        return ChatBackend(backend, llm, f"model {settings.llm_model} at {settings.ollama_url}")
    raise AssistantError(f"unknown llm_backend {backend!r}; use none, openai-compatible or ollama")
