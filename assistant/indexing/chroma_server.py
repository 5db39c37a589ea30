"""A Chroma server tuned for this assistant: ``chroma run`` with ``chroma-server.yaml``.

Used by ``python -m assistant chroma-server`` (a research group's shared index), by the
benchmark and by the tests, so that what is measured and tested is what users run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from assistant.errors import AssistantError

CONFIG = Path(__file__).with_name("chroma-server.yaml")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chroma_binary() -> str:
    binary = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    if not Path(binary).exists():
        raise AssistantError("the `chroma` command is not installed; pip install chromadb")
    return binary


def server_command(
    path: Path, host: str = "127.0.0.1", port: int = 8000, env: dict[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The ``chroma run`` command line and environment (``chroma run`` takes either a
    config file or --path/--host/--port, so those go in as ``CHROMA_*`` overrides)."""
    environment = dict(os.environ if env is None else env)
    environment.update(
        CHROMA_PERSIST_PATH=str(path),
        CHROMA_LISTEN_ADDRESS=host,
        CHROMA_PORT=str(port),
        ANONYMIZED_TELEMETRY="False",
    )
    return [chroma_binary(), "run", str(CONFIG)], environment


class ChromaServer:
    """The tuned server on 127.0.0.1 and a free port, for the lifetime of a ``with``
    block; its log goes to ``log`` (discarded when None)."""

    def __init__(self, path: Path, log: Path | None = None, env: dict[str, str] | None = None):
        self.path = Path(path)
        self.port = free_port()
        self.log = log
        self.env = env
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ChromaServer:
        import httpx

        self.path.mkdir(parents=True, exist_ok=True)
        command, env = server_command(self.path, port=self.port, env=self.env)
        self._out = open(self.log, "w") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            command, stdout=self._out, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                self.__exit__()
                raise AssistantError(f"chroma run exited with {self.process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return self
            time.sleep(0.2)
        self.__exit__()
        raise AssistantError("the Chroma server did not start within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log and getattr(self, "_out", None) is not None:
            self._out.close()
