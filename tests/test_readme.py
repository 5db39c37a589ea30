"""Every code block of the README runs, as written, so that no example can rot.

The blocks run in the README's order, like a reader following it, from a copy of the
repository's data (``corpus/``, ``eval/``; the package and the virtual environment linked in)
whose index starts as the session's, so nothing in the repository changes. ``python`` blocks
run in one interpreter, sharing their names; ``bash`` blocks run with bash, and may only call
``.venv/bin/python -m assistant``. A ``text`` block is output, not code.

No block reaches the network: the arXiv API and GitHub point at closed local ports unless a
block is marked, on the line before it, ``<!-- example: stand-in=NAME[,NAME] -->``; the block
then runs against the stand-in(s) named, all on 127.0.0.1:

- ``make-dry-run``: ``make -n TARGET`` for each ``make TARGET`` line (the real targets
  install packages; ``.ci/run`` runs ``make test`` itself);
- ``serve``: the command is started on a free port instead of the one written, must answer
  HTTP there, and is stopped;
- ``llm-server``: an OpenAI-compatible stub (tests/stubs/openai_server.py) replaces the
  server at ``http://127.0.0.1:8080``;
- ``github``: tests/stubs/archive_server.py serves a small survey as any GitHub repository's
  archive;
- ``arxiv``: tests/stubs/arxiv_server.py answers for the arXiv API.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port
from tests.stubs.archive_server import ArchiveStub, survey_files, tarball
from tests.stubs.arxiv_server import ArxivStub
from tests.stubs.openai_server import OpenAIStub

README = ROOT / "README.md"
FENCE = re.compile(
    r"(?:<!-- example: stand-in=(?P<standins>[\w,-]+) -->\n)?^```(?P<lang>\w*)\n(?P<code>.*?)^```$",
    re.M | re.S,
)
STANDINS = {"make-dry-run", "serve", "llm-server", "github", "arxiv"}
PROGRAM = ".venv/bin/python -m assistant"
LLM_URL = "http://127.0.0.1:8080"
TIMEOUT = 900


@dataclass
class Block:
    lang: str
    code: str
    standins: frozenset[str]
    line: int

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.lang})"


def readme_blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    return [
        Block(
            m["lang"],
            m["code"],
            frozenset(filter(None, (m["standins"] or "").split(","))),
            text.count("\n", 0, m.start("code")),
        )
        for m in FENCE.finditer(text)
    ]


BLOCKS = readme_blocks()
RUN = [b for b in BLOCKS if b.lang in ("python", "bash")]


def test_every_block_is_run_or_output():
    assert len(RUN) >= 6 and any(b.lang == "python" for b in RUN)
    for block in BLOCKS:
        assert block.lang in ("python", "bash", "text"), f"{block}: tag it python, bash or text"
        assert block.standins <= STANDINS, f"{block}: unknown stand-in {block.standins}"
    for block in RUN:
        if block.lang != "bash" or "make-dry-run" in block.standins:
            continue
        for command in _commands(block.code):
            assert re.match(rf"(\w+=\S+ )*{re.escape(PROGRAM)} ", command), (
                f"{block}: `{command}` is not `{PROGRAM} …`"
            )
        urls = re.findall(r"https?://[^\s\"']+", block.code)
        remote = [u for u in urls if not u.startswith("http://127.0.0.1")]
        assert not remote or block.standins & {"github", "arxiv"}, (
            f"{block} reaches {remote}: mark the stand-in it runs against"
        )


def _commands(code: str) -> list[str]:
    """The block's commands: continuation lines joined, comments dropped."""
    joined = code.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if line:
            commands.append(" ".join(line.split()))
    return commands


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, built_index) -> Path:
    """What a fresh clone holds after ``make serve``, minus everything a block could harm."""
    root = tmp_path_factory.mktemp("readme")
    for folder in ("corpus", "eval"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("results"))
    shutil.copytree(built_index, root / "index")
    # a copy, not a link: the package finds its default folders next to itself
    shutil.copytree(
        ROOT / "assistant", root / "assistant", ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / ".venv").symlink_to(Path(sys.prefix))
    return root


@pytest.fixture(scope="module")
def env(workdir, tmp_path_factory) -> dict[str, str]:
    """No ASSISTANT_* setting from outside; the network only through stand-ins."""
    closed = f"http://127.0.0.1:{free_port()}"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    environ.update(
        ASSISTANT_SETTINGS_FILE=str(tmp_path_factory.getbasetemp() / "none.toml"),
        ASSISTANT_ARXIV_API_URL=f"{closed}/api/query",
        ASSISTANT_ARXIV_CONNECT_TIMEOUT="2",
        ASSISTANT_GITHUB_URL=closed,
        PYTHONDONTWRITEBYTECODE="1",
    )
    return environ


def _bash(code: str, workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def _check(block: Block, proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, (
        f"{block} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    assert "Traceback" not in proc.stderr, f"{block}:\n{proc.stderr[-3000:]}"


def _make_dry_run(block: Block) -> None:
    targets = [c.split()[1] for c in _commands(block.code)]
    assert targets and all(c.startswith("make ") for c in _commands(block.code))
    if shutil.which("make") is None:
        pytest.skip("make is not installed here (the CI image has it)")
    proc = subprocess.run(
        ["make", "-n", *targets], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    runs = {"serve": "-m assistant serve", "test": "-m pytest"}
    for target in targets:
        assert runs.get(target, target) in proc.stdout, f"make -n {target}:\n{proc.stdout}"


def _serve(block: Block, workdir: Path, env: dict[str, str]) -> None:
    (command,) = _commands(block.code)
    port = free_port()
    args = shlex.split(re.sub(r"--port \d+", f"--port {port}", command))
    server = subprocess.Popen(
        args,
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, f"{block} exited:\n{server.stderr.read()[-3000:]}"
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"{block} never answered on {port}"
                time.sleep(1)
                continue
            assert response.status_code == 200
            auth = re.search(r"--auth ([^:\s]+):(\S+)", command)
            config = httpx.get(f"http://127.0.0.1:{port}/config", timeout=5)
            assert config.status_code == (401 if auth else 200)
            if auth:
                login = {"username": auth[1], "password": auth[2]}
                reply = httpx.post(f"http://127.0.0.1:{port}/login", data=login, timeout=5)
                assert reply.status_code == 200, f"{block}: the login written does not work"
            break
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.parametrize("block", RUN, ids=[f"line{b.line}" for b in RUN])
def test_readme_block_runs(block, workdir, env, monkeypatch):
    if block.lang == "python":
        _python(block, workdir, env)
        return
    if "make-dry-run" in block.standins:
        _make_dry_run(block)
        return
    if "serve" in block.standins:
        _serve(block, workdir, env)
        return
    code, environ = block.code, dict(env)
    with _standins(block, environ) as replace:
        for old, new in replace.items():
            code = code.replace(old, new)
        _check(block, _bash(code, workdir, environ))


class _standins:
    """Start what the block is marked to need; yields text replacements for the block."""

    def __init__(self, block: Block, environ: dict[str, str]):
        self.block, self.environ, self.servers = block, environ, []

    def __enter__(self) -> dict[str, str]:
        replace: dict[str, str] = {}
        if "llm-server" in self.block.standins:
            stub = OpenAIStub()
            self.servers.append(stub)
            replace[LLM_URL] = stub.base_url.removesuffix("/v1")
        if "arxiv" in self.block.standins:
            stub = ArxivStub(synthesize=True)
            self.servers.append(stub)
            self.environ.update(ASSISTANT_ARXIV_API_URL=stub.url, ASSISTANT_ARXIV_DELAY="0")
        if "github" in self.block.standins:
            stub = ArchiveStub()
            for owner, repo in re.findall(r"github\.com/([\w.-]+)/([\w.-]+)", self.block.code):
                stub.serve_github(owner, repo, tarball(survey_files(2)))
            self.servers.append(stub)
            self.environ["ASSISTANT_GITHUB_URL"] = stub.url
        for server in self.servers:
            server.__enter__()
        return replace

    def __exit__(self, *exc: object) -> None:
        for server in reversed(self.servers):
            server.__exit__(*exc)


def _python(block: Block, workdir: Path, env: dict[str, str]) -> None:
    """All python blocks up to this one, in one interpreter, as a reader would have run them
    (a later block may use names an earlier one defined); this block is the one checked."""
    earlier = [b for b in RUN if b.lang == "python" and b.line <= block.line]
    script = "\n".join(b.code for b in earlier)
    proc = subprocess.run(
        [str(workdir / ".venv" / "bin" / "python"), "-c", script],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    _check(block, proc)
    assert proc.stdout.strip(), f"{block} printed nothing"
