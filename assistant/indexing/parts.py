"""What a build keeps of each corpus file, so that the next build parses only changed files.

Under ``index_dir``::

    files/<key>.jsonl                  the file's section chunks, one JSON object a line
    files/<key>.npz                    their ids and content hashes, BM25 term counts, links
    files/<key>-<papers>.checks.json   the link audit of the file's links against one
                                       abstracts file (``<papers>`` is that file's key)
    papers/<key>.npz                   the abstracts file's chunk ids, content hashes and
                                       BM25 term counts (the chunks themselves depend on
                                       every file's links, so each build writes them)

A key hashes everything the content depends on (the file's path and bytes, the chunking
parameters and the token counter's embedder, :data:`PARTS_VERSION`), so a part is written
once and never changed; a build that reads it can rely on it until the store's garbage
collection removes it, which spares the active and the previous build's parts.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import TypeAdapter

from assistant.files import atomic_save_arrays, atomic_write_lines, atomic_write_text
from assistant.indexing.lexical import TermCounts
from assistant.ingest.audit import LinkCheck, SectionLinks
from assistant.models import Chunk

log = logging.getLogger(__name__)

PARTS_VERSION = 1
"""Bumped when what a part holds or how it is derived changes (chunking, tokenising)."""
FILES = "files"
PAPERS = "papers"

_LINKS = TypeAdapter(list[SectionLinks])
_CHECKS = TypeAdapter(list[LinkCheck])


def part_key(*parts: str | bytes) -> str:
    """A key for content made from ``parts`` (24 hex digits of SHA-256)."""
    digest = hashlib.sha256(f"parts-v{PARTS_VERSION}".encode())
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()[:24]


@dataclass
class FilePart:
    """One corpus file as a build needs it (not its chunks: a build reads those back only
    for texts it must embed, so that 100k chunks are never in memory at once)."""

    key: str
    ids: list[str]
    hashes: list[str]
    counts: TermCounts | None
    """None once the build has made BM25 of it (released to save memory)."""
    links_json: str
    """The file's arXiv links (:class:`SectionLinks` as JSON), parsed only when they must be
    checked: a build reuses an unchanged file's stored link checks instead."""

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def links(self) -> list[SectionLinks]:
        return _LINKS.validate_json(self.links_json)


@dataclass
class PapersPart:
    """The abstracts file's chunk ids, content hashes and term counts (indexable papers)."""

    key: str
    ids: list[str]
    hashes: list[str]
    counts: TermCounts


class PartStore:
    """Reads and writes the parts under ``root`` (the index folder)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _file(self, key: str, suffix: str) -> Path:
        return self.root / FILES / f"{key}{suffix}"

    # -- corpus files ----------------------------------------------------------------------

    def file(self, key: str) -> FilePart | None:
        """The stored part, or None when absent or damaged (the file is then parsed again)."""
        path = self._file(key, ".npz")
        if not path.is_file():
            return None
        try:
            with np.load(path) as data:
                part = FilePart(
                    key=key,
                    ids=data["ids"].tolist(),
                    hashes=data["hashes"].tolist(),
                    counts=TermCounts.from_arrays(data),
                    links_json=str(data["links"]),
                )
            if count_lines(self._file(key, ".jsonl")) != len(part.ids):
                raise ValueError("chunk file does not match")
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring damaged index part %s (%s); parsing the file again", key, exc)
            return None
        return part

    def write_file(
        self, key: str, chunks: Sequence[Chunk], links: Sequence[SectionLinks], counts: TermCounts
    ) -> FilePart:
        """Store a parsed file's part: the chunks first, the arrays last (their presence
        marks the part complete)."""
        atomic_write_lines(self._file(key, ".jsonl"), (c.model_dump_json() for c in chunks))
        part = FilePart(
            key=key,
            ids=[c.id for c in chunks],
            hashes=[c.content_hash for c in chunks],
            counts=counts,
            links_json=_LINKS.dump_json(list(links)).decode("utf-8"),
        )
        atomic_save_arrays(
            self._file(key, ".npz"),
            ids=np.asarray(part.ids, dtype=str),
            hashes=np.asarray(part.hashes, dtype=str),
            links=np.asarray(part.links_json),
            **counts.arrays(),
        )
        return part

    def chunks(self, key: str) -> list[Chunk]:
        """The section chunks of the file part ``key``."""
        path = self._file(key, ".jsonl")
        with open(path, encoding="utf-8") as lines:
            return [Chunk.model_validate_json(line) for line in lines if line.strip()]

    def chunk_file(self, key: str) -> Path:
        return self._file(key, ".jsonl")

    # -- link audit per file -----------------------------------------------------------------

    def checks(self, key: str, papers: str) -> list[LinkCheck] | None:
        path = self._file(f"{key}-{papers}", ".checks.json")
        if not path.is_file():
            return None
        try:
            return _CHECKS.validate_json(path.read_bytes())
        except (OSError, ValueError) as exc:
            log.warning("ignoring damaged link checks %s (%s)", path.name, exc)
            return None

    def write_checks(self, key: str, papers: str, checks: list[LinkCheck]) -> None:
        path = self._file(f"{key}-{papers}", ".checks.json")
        atomic_write_text(path, _CHECKS.dump_json(checks).decode("utf-8"))

    # -- the abstracts file ------------------------------------------------------------------

    def papers(self, key: str) -> PapersPart | None:
        path = self.root / PAPERS / f"{key}.npz"
        if not path.is_file():
            return None
        try:
            with np.load(path) as data:
                return PapersPart(
                    key=key,
                    ids=data["ids"].tolist(),
                    hashes=data["hashes"].tolist(),
                    counts=TermCounts.from_arrays(data),
                )
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring damaged index part %s (%s)", path.name, exc)
            return None

    def write_papers(self, key: str, chunks: Sequence[Chunk], counts: TermCounts) -> PapersPart:
        part = PapersPart(
            key=key,
            ids=[c.id for c in chunks],
            hashes=[c.content_hash for c in chunks],
            counts=counts,
        )
        atomic_save_arrays(
            self.root / PAPERS / f"{key}.npz",
            ids=np.asarray(part.ids, dtype=str),
            hashes=np.asarray(part.hashes, dtype=str),
            **counts.arrays(),
        )
        return part

    # -- garbage collection ------------------------------------------------------------------

    def collect(self, files: set[str], papers: set[str]) -> int:
        """Delete parts whose file key is not in ``files`` (or whose abstracts key, for link
        checks, is not in ``papers``) and abstracts parts not in ``papers``; returns how many
        files were deleted."""
        removed = 0
        folder = self.root / FILES
        for path in folder.iterdir() if folder.is_dir() else ():
            name = path.name
            if name.endswith(".checks.json"):
                key, _, rest = name.partition("-")
                keep = key in files and rest.removesuffix(".checks.json") in papers
            else:
                keep = name.split(".", 1)[0] in files
            if not keep:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        folder = self.root / PAPERS
        for path in folder.iterdir() if folder.is_dir() else ():
            if path.name.split(".", 1)[0] not in papers:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        return removed


def count_lines(path: Path) -> int:
    """Newline count, read in blocks: cheap enough for every start-up check."""
    count = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
    return count
