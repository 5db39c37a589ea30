"""A local stand-in for ``export.arxiv.org/api/query`` replaying recorded Atom responses.

By default it answers ``?id_list=…`` with a feed built like the API's: the header of the
recorded ``batch.xml`` and, for each requested ID, its recorded ``<entry>`` (from every
fixture in tests/fixtures/arxiv/), or, with ``synthesize=True``, an entry cloned from a
recorded one with the ID and title replaced. IDs it knows nothing about are left out, as
the API does for unknown IDs. Tests script other answers::

    with ArxivStub() as stub:
        stub.replies.append(Reply(status=503))             # then the default answer
        stub.replies.append(Reply(body=fixture("malformed.xml")))
        stub.requests   # [(monotonic time, [ids], headers), ...]
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.conftest import free_port

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "arxiv"
_ENTRY = re.compile(r"  <entry>.*?</entry>\n", re.DOTALL)
_ENTRY_ID = re.compile(r"<id>http://arxiv\.org/abs/(?P<id>[^<]+?)(?:v\d+)?</id>")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def recorded_entries() -> dict[str, str]:
    """arXiv ID → recorded ``<entry>`` XML, from every fixture file."""
    entries: dict[str, str] = {}
    for path in sorted(FIXTURES.glob("*.xml")):
        for entry in _ENTRY.findall(path.read_text(encoding="utf-8")):
            match = _ENTRY_ID.search(entry)
            if match and "<title></title>" not in entry:
                entries.setdefault(match.group("id"), entry)
    return entries


_METHOD = (
    "Sparse",
    "Latent",
    "Causal",
    "Recurrent",
    "Contrastive",
    "Hierarchical",
    "Bayesian",
    "Spectral",
    "Modular",
    "Adversarial",
)
_OBJECT = (
    "Diffusion",
    "Transformer",
    "Occupancy",
    "Gaussian",
    "Graph",
    "Token",
    "Memory",
    "Energy",
    "Flow",
    "Kernel",
)
_TASK = ("Robot Navigation", "Traffic Forecasting", "Protein Folding", "Weather Nowcasting",
         "Game Playing", "Surgical Planning", "Crop Monitoring", "Drone Racing",
         "Speech Synthesis", "Warehouse Picking")  # fmt: skip


def synthetic_title(arxiv_id: str) -> str:
    """A distinct title per ID (the last three digits pick the words)."""
    n = int(arxiv_id.split(".")[-1])
    return f"{_METHOD[n // 100 % 10]} {_OBJECT[n // 10 % 10]} World Models for {_TASK[n % 10]}"


@dataclass
class Reply:
    """One scripted answer to the next request."""

    status: int = 200
    body: bytes | None = None
    """None: the default feed for the requested IDs."""
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ArxivStub:
    synthesize: bool = False
    """Answer any well-formed ID with an entry cloned from a recorded one."""
    replies: deque = field(default_factory=deque)
    requests: list = field(default_factory=list)
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.entries = recorded_entries()
        batch = fixture("batch.xml").decode()
        self._head = batch[: batch.index("  <entry>")]
        self._template = self.entries["2601.14354"]
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/query"

    def feed(self, ids: list[str]) -> bytes:
        entries = []
        for arxiv_id in ids:
            if arxiv_id in self.entries:
                entries.append(self.entries[arxiv_id])
            elif self.synthesize and re.fullmatch(r"\d{4}\.\d{4,5}", arxiv_id):
                entry = self._template.replace("2601.14354", arxiv_id)
                entry = re.sub(
                    r"<title>.*?</title>",
                    f"<title>{synthetic_title(arxiv_id)}</title>",
                    entry,
                    flags=re.DOTALL,
                )
                entries.append(entry)
        head = re.sub(
            r"(<opensearch:totalResults[^>]*>)\d+", rf"\g<1>{len(ids)}", self._head, count=1
        )
        return (head + "".join(entries) + "</feed>\n").encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                ids = [i for i in query.get("id_list", [""])[0].split(",") if i]
                stub.requests.append((time.monotonic(), ids, dict(self.headers)))
                reply = stub.replies.popleft() if stub.replies else Reply()
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                if body is None:
                    body = stub.feed(ids) if reply.status == 200 else b"Service Unavailable"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/atom+xml; charset=UTF-8")
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> ArxivStub:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
