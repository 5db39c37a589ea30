"""A bounded load test of the served chat UI: N concurrent users.

Each simulated user opens its own session (as a browser tab would), asks its share of
the questions through the UI's ``/chat`` endpoint and clears its history between
questions. A request counts as failed when the client raises or when the reply carries
no finished answer (a problem line instead of an answer footer).

Two clients with the same semantics: ``http`` (default) speaks Gradio's HTTP API with one
``httpx`` connection per user (``POST /gradio_api/call/chat`` with the user's session
hash, then the event's server-sent stream, then ``POST /gradio_api/run/clear``);
``gradio`` uses ``gradio_client``. On a 2-core machine the load generator shares the
cores with the server, and ``gradio_client`` costs about three times the server's own
CPU per question (docs/performance.md), so it measures mostly itself.
"""

from __future__ import annotations

import json
import logging
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal
from uuid import uuid4

log = logging.getLogger(__name__)

ANSWER_FOOTER = 'class="meta"'
"""Every finished answer in the chat ends with this footer (see ``ui.footer_html``)."""


@dataclass
class LoadReport:
    clients: int
    requests: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(q) - 1]

    def to_json(self) -> dict:
        return {
            "clients": self.clients,
            "requests": self.requests,
            "errors": len(self.errors),
            "seconds": round(self.seconds, 2),
            "throughput_per_s": round(self.throughput, 2),
            "p50_ms": round(self.percentile(50) * 1000, 1),
            "p95_ms": round(self.percentile(95) * 1000, 1),
            "first_errors": self.errors[:5],
        }


def _answered(result: object) -> bool:
    messages = result[0] if isinstance(result, (list, tuple)) and result else []
    if not messages or messages[-1].get("role") != "assistant":
        return False
    content = messages[-1].get("content")
    if isinstance(content, list):
        content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ANSWER_FOOTER in str(content)


def _ask_http(http, session: str, data: list) -> object:
    """One question through Gradio's HTTP API: the last output of the finished event."""
    joined = http.post("/gradio_api/call/chat", json={"data": data, "session_hash": session})
    joined.raise_for_status()
    event_id = joined.json()["event_id"]
    event, payload = None, None
    with http.stream("GET", f"/gradio_api/call/chat/{event_id}") as stream:
        stream.raise_for_status()
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line[5:])
                break
    if event != "complete":
        raise RuntimeError(f"event {event}: {payload}")
    return payload


def run_load(
    url: str,
    questions: Sequence[str],
    clients: int = 20,
    per_client: int = 50,
    auth: tuple[str, str] | None = None,
    mode: str = "hybrid",
    k: int = 5,
    client: Literal["http", "gradio"] = "http",
) -> LoadReport:
    """Ask ``clients × per_client`` questions concurrently; latencies are per question."""
    if not questions:
        raise ValueError("the load test needs at least one question")
    if client not in ("http", "gradio"):
        raise ValueError(f"unknown load-test client {client!r} (http or gradio)")
    lock = threading.Lock()
    report = LoadReport(clients=clients, requests=clients * per_client, seconds=0.0)

    def ask(n: int, i: int, send: Callable[[str], object]) -> None:
        """Time one question of client ``n`` sent by ``send``; any failure is an error."""
        question = questions[(n * per_client + i) % len(questions)]
        start = time.perf_counter()
        try:
            problem = (
                None if _answered(send(question)) else f"client {n}: no answer to {question!r}"
            )
        except Exception as exc:
            problem = f"client {n}: {type(exc).__name__}: {exc}"
        elapsed = time.perf_counter() - start
        with lock:
            report.latencies.append(elapsed)
            if problem:
                report.errors.append(problem)

    def http_user(n: int) -> None:
        import httpx

        base = url.rstrip("/")
        session = uuid4().hex
        with httpx.Client(base_url=base, timeout=300) as http:
            if auth:
                try:
                    http.post(
                        "/login", data={"username": auth[0], "password": auth[1]}
                    ).raise_for_status()
                except httpx.HTTPError as exc:
                    with lock:
                        report.errors.extend([f"client {n}: login: {exc}"] * per_client)
                    return
            for i in range(per_client):
                ask(n, i, lambda q: _ask_http(http, session, [q, mode, k]))
                try:
                    http.post(
                        "/gradio_api/run/clear", json={"data": [], "session_hash": session}
                    ).raise_for_status()
                except httpx.HTTPError as exc:
                    log.warning("client %d: clear failed: %s", n, exc)

    def gradio_user(n: int) -> None:
        from gradio_client import Client

        try:
            gc = Client(url, auth=auth, verbose=False)
        except Exception as exc:
            with lock:
                report.errors.extend([f"client {n}: {exc}"] * per_client)
            return
        for i in range(per_client):
            ask(n, i, lambda q: gc.predict(q, mode, k, api_name="/chat"))
            try:
                gc.predict(api_name="/clear")
            except Exception as exc:
                log.warning("client %d: clear failed: %s", n, exc)
        gc.close()

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(http_user if client == "http" else gradio_user, range(clients)))
    report.seconds = time.perf_counter() - start
    return report
