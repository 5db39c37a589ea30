"""Is the configured LLM backend up? A cheap check for the chat UI's side panel.

It lists the server's models (``GET {base}/models``; Ollama: ``GET /api/tags``) instead of
asking for a completion: no tokens spent, and the same URL and key answering will use.
"""

from __future__ import annotations

import os
from typing import Literal

import httpx
from pydantic import BaseModel

from assistant.settings import Settings

BackendState = Literal["extractive", "reachable", "unreachable", "misconfigured"]


class BackendStatus(BaseModel):
    """What :meth:`assistant.Assistant.backend_status` reports."""

    backend: str
    state: BackendState
    model: str | None = None
    where: str | None = None
    detail: str = ""
    """One line: why it is unreachable or misconfigured, or what the server said."""


def probe_backend(settings: Settings, timeout: float = 3.0) -> BackendStatus:
    """Check that the configured LLM server answers; never raises."""
    backend = settings.llm_backend
    if backend == "none":
        return BackendStatus(backend=backend, state="extractive")
    where = settings.ollama_url if backend == "ollama" else settings.llm_base_url
    status = BackendStatus(
        backend=backend, state="reachable", model=settings.llm_model, where=where
    )
    missing = "MODEL" if not settings.llm_model else "BASE_URL" if not where else None
    if missing:
        return status.model_copy(
            update={"state": "misconfigured", "detail": f"set ASSISTANT_LLM_{missing}"}
        )
    url = where.rstrip("/") + ("/api/tags" if backend == "ollama" else "/models")
    key = os.environ.get(settings.llm_api_key_env) if backend != "ollama" else None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.get(url, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        detail = f"no answer within {timeout:g} s"
    except httpx.ConnectError:
        detail = "connection refused (or the host is unknown)"
    except httpx.HTTPError as exc:
        detail = type(exc).__name__
    else:
        if response.status_code in (401, 403):
            detail = f"HTTP {response.status_code}: the server refuses the API key"
        elif response.status_code >= 500:
            detail = f"HTTP {response.status_code}"
        else:
            return status
    return status.model_copy(update={"state": "unreachable", "detail": detail})
