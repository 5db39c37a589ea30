"""A local stand-in for GitHub's archive downloads (and any https://…/x.tar.gz), plus a
small VitePress-style survey to serve.

``ArchiveStub(files={"/OWNER/REPO/archive/HEAD.tar.gz": data})`` answers those paths with
the bytes, ``redirects`` with a 302 (GitHub sends archive downloads on to codeload), and
anything else with 404; ``requests`` lists the paths asked for.
"""

from __future__ import annotations

import io
import tarfile
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import free_port

LINKED = ["2601.14354", "2601.12939", "2602.00558", "2502.10498", "2511.16333"]
"""Papers of the recorded arXiv replies (tests/fixtures/arxiv), which the survey links."""


def survey_files(chapters: int = 3, papers: list[str] | None = None) -> dict[str, bytes]:
    """A VitePress survey: numbered chapters under docs/, each linking arXiv papers, plus
    what a site keeps beside them (theme, public assets, node_modules, a README)."""
    papers = papers or LINKED
    files: dict[str, bytes] = {
        "README.md": b"# A survey of world models\n\nRead it at https://example.org.\n",
        "package.json": b'{"scripts": {"docs:build": "vitepress build docs"}}\n',
        "docs/index.md": b"---\nlayout: home\nhero:\n  name: World models\n---\n",
        "docs/.vitepress/config.md": b"# not a chapter\n",
        "docs/.vitepress/theme/custom.md": b"# theme\n",
        "docs/public/logo.md": b"# an asset\n",
        "node_modules/vitepress/README.md": b"# VitePress\n",
    }
    for n in range(1, chapters + 1):
        paper = papers[(n - 1) % len(papers)]
        other = papers[n % len(papers)]
        files[f"docs/part{1 + (n - 1) // 10}/chapter{n:02d}.md"] = (
            f"# {n} 第{n}章 世界模型的第 {n} 个方向\n\n"
            f"本章讨论方向 {n} 的代表工作。\n\n"
            f"## {n}.1 代表方法\n\n"
            f"[Paper {n}](https://arxiv.org/abs/{paper}) 在方向 {n} 上的成功率为 {50 + n}%。\n\n"
            f"## {n}.2 开放问题\n\n"
            f"方向 {n} 仍缺少统一基准，参见 [arXiv:{other}](https://arxiv.org/pdf/{other}v1)。\n"
        ).encode()
    return files


def tarball(
    files: dict[str, bytes],
    top: str = "survey-main",
    symlinks: dict[str, str] | None = None,
    raw_names: dict[str, bytes] | None = None,
) -> bytes:
    """A .tar.gz like GitHub's: every member under ``top/``; ``symlinks`` (name -> target)
    and ``raw_names`` (member names used as given: ``../x.md``) for the hostile cases."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        members = {f"{top}/{name}" if top else name: data for name, data in files.items()}
        members.update(raw_names or {})
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def zipball(files: dict[str, bytes], top: str = "survey-main") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"{top}/{name}" if top else name, data)
    return buffer.getvalue()


@dataclass
class ArchiveStub:
    files: dict[str, bytes] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve_github(self, owner: str, repo: str, data: bytes, ref: str = "HEAD") -> None:
        """Serve ``data`` as GitHub does: archive/REF.tar.gz redirects to codeload's path."""
        codeload = f"/codeload/{owner}/{repo}/tar.gz/{ref}"
        self.redirects[f"/{owner}/{repo}/archive/{ref}.tar.gz"] = codeload
        self.files[codeload] = data

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.requests.append(self.path)
                if self.path in stub.redirects:
                    self.send_response(302)
                    self.send_header("Location", stub.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = stub.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                body = body if body is not None else b"Not Found"
                self.send_header("Content-Type", "application/x-gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> ArchiveStub:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
