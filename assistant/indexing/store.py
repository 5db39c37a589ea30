"""Chroma + BM25 index on disk: incremental, atomic builds and checked loads.

Layout of ``index_dir``::

    manifest.json           the active build (replaced last, by atomic rename)
    builds/<build_id>/      what is the build's own: manifest.json (a copy), abstracts.jsonl
                            (abstract chunks), bm25/, lexicon.json, vectors.npz (content
                            hashes in use)
    files/, papers/         per corpus file and per abstracts file: chunks, term counts,
                            links and their link checks (assistant/ingest/audit.py), stored
                            once by content key (assistant/indexing/parts.py)
    chroma/                 Chroma's persistent store (unused with a Chroma server)
    collections.json        every Chroma collection this folder made and has not deleted
    embeddings.sqlite       every passage vector computed so far (see embeddings/cache.py)
    .lock                   held while a build runs (PID inside)

How a build updates the index in place (measurements: docs/performance.md):

- Only changed files are parsed, chunked and tokenised; every other file's part is
  reused. The abstract chunks (which list the sections citing each paper) are remade
  from the parts' link checks, and only the links of changed files are checked again.
- Vectors live in one Chroma collection per chunk kind with one row per content hash
  (:mod:`assistant.indexing.chroma`); a build writes only the rows for texts the
  collections lack, taking vectors from the embedding cache (so no text is embedded
  twice, even across ``--rebuild``) and embedding the rest.
- BM25 is assembled from the parts' term counts (:meth:`BM25Index.from_counts`), the
  lexicon from the previous one plus the dictionary entries of new words.

Why that is atomic: parts are immutable, the build's own files go to a new
``builds/<build_id>/``, and Chroma rows are keyed by content, so until ``manifest.json``
is replaced the previous build has everything it had (new rows are invisible to it: its
queries drop hashes it does not use). A kill before the rename leaves the previous build,
after it the new one. Deleting comes after the rename and spares what the previous build
uses (readers that loaded it keep working until the next build): its files, its
collections and, for one more build, the rows it used (``Manifest.retired``). Rows a
killed build added are found by a count and removed by the next build.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import hashlib
import json
import logging
import os
import secrets
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import chromadb
import numpy as np
from tqdm.auto import tqdm

from assistant.errors import (
    AssistantError,
    IndexCorrupt,
    IndexLocked,
    IndexMismatch,
    IndexMissing,
    IndexNotWritable,
    rebuild_hint,
)
from assistant.files import atomic_save_arrays, atomic_write_lines, atomic_write_text
from assistant.indexing.chroma import (
    ChunkVectorStore,
    by_hash,
    chroma_client,
    collection_names,
)
from assistant.indexing.embeddings import Embedder
from assistant.indexing.embeddings.cache import EmbeddingCache, text_key
from assistant.indexing.lexical import BM25Index, TermCounts
from assistant.indexing.lexicon import Lexicon
from assistant.indexing.parts import (
    FilePart,
    PapersPart,
    PartStore,
    count_lines,
    part_key,
)
from assistant.ingest.audit import LinkCheck, LinkChecker, SectionLinks
from assistant.ingest.chunking import chunk_paper, chunk_section, indexable, paper_chunks
from assistant.ingest.corpus import (
    corpus_files,
    corpus_fingerprint,
    decode_markdown,
    feed_abstracts,
    feed_file,
    load_papers,
    parse_markdown,
)
from assistant.invocation import command
from assistant.models import Chunk, IndexedFile, Manifest
from assistant.settings import Settings

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".lock"
CACHE_FILE = "embeddings.sqlite"
LEXICON_FILE = "lexicon.json"
ABSTRACTS_FILE = "abstracts.jsonl"
VECTORS_FILE = "vectors.npz"
COLLECTIONS_FILE = "collections.json"
NO_PAPERS = "none"
"""The abstracts key of link checks made without an abstracts file."""
INDEX_FORMAT = 6
"""Bumped when chunk fields or how chunk text is made change (4: abstracts carry their
authors; 5: which are not embedded; 6: parts per file, a collection per kind), so older
indexes are rebuilt instead of half-read."""
KINDS = ("section", "abstract")
COMPACT_SHARE = 0.25
"""Once rows deleted from a build's collections exceed this share of the rows in use, the
next build writes fresh collections (HNSW keeps deleted points in its graph)."""
_EMBED_GROUP = 256
"""Texts handed to the embedder at once: it batches inside; the cache is written per group."""


@dataclass
class BuildReport:
    """What an ``index`` run did."""

    manifest: Manifest
    embedded: int = 0
    reused: int = 0
    """Chunks whose vector was not computed in this run (embedding cache or previous build)."""
    removed: int = 0
    unchanged: bool = False
    seconds: dict[str, float] = field(default_factory=dict)
    link_mismatches: int = 0
    """Survey links whose anchor does not describe the linked paper (see the audit)."""
    parsed: int = 0
    """Corpus files parsed in this run (the others' parts were reused)."""
    written: int = 0
    """Vector rows written to Chroma in this run."""


@dataclass
class LoadedIndex:
    """A checked, ready-to-query index."""

    manifest: Manifest
    chunks: list[Chunk]
    collections: dict[str, chromadb.Collection]
    bm25: BM25Index
    lexicon: Lexicon | None = None
    """Chinese–English term lexicon of the corpus (None when ``cross_lingual_terms`` is off)."""
    by_id: dict[str, Chunk] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {c.id: c for c in self.chunks}

    def hashes(self, kind: str) -> list[str]:
        """The distinct content hashes of the kind's chunks, in chunk order."""
        return list(dict.fromkeys(c.content_hash for c in self.chunks if c.kind == kind))

    def vector_store(self, kind: str) -> ChunkVectorStore:
        """The llama-index vector store over the kind's collection."""
        return ChunkVectorStore(
            self.collections[kind],
            by_hash([c for c in self.chunks if c.kind == kind]),
            slack=self.manifest.retired.get(kind, 0),
        )


class IndexStore:
    """Owns ``settings.index_dir`` (and the Chroma collections it names)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.root = Path(settings.index_dir)
        self.parts = PartStore(self.root)
        self._client: chromadb.ClientAPI | None = None

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def client(self) -> chromadb.ClientAPI:
        if self._client is None:
            self._client = chroma_client(self.settings)
        return self._client

    def _build_dir(self, build_id: str) -> Path:
        return self.root / "builds" / build_id

    def read_manifest(self) -> Manifest | None:
        """The active manifest, or None when nothing has been built here."""
        path = self.root / MANIFEST_FILE
        if not path.exists():
            return None
        try:
            return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(
                f"index manifest {path} is unreadable ({exc}); {rebuild_hint()}"
            ) from exc

    def record_refusal(self, manifest: Manifest) -> None:
        """Store the refusal threshold derived for the active build (``manifest``'s), unless
        another build became active meanwhile."""
        with self.lock():
            current = self.read_manifest()
            if current is not None and current.build_id == manifest.build_id:
                text = current.model_copy(update={"refusal": manifest.refusal}).model_dump_json(
                    indent=2
                )
                atomic_write_text(self._build_dir(current.build_id) / MANIFEST_FILE, text)
                atomic_write_text(self.root / MANIFEST_FILE, text)

    def check_writable(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{os.getpid()}"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise IndexNotWritable(
                f"index folder {self.root} is not writable ({exc.strerror or exc}); "
                "pass --index-dir DIR or fix its permissions"
            ) from exc

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive build lock; a lock left by a dead process is taken over."""
        path = self.root / LOCK_FILE
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _lock_holder(path)
                if holder is not None and _pid_alive(holder):
                    raise IndexLocked(
                        f"another index run (PID {holder}) is building {self.root}; "
                        "wait for it to finish"
                    ) from None
                log.warning("removing stale index lock %s (PID %s is gone)", path, holder)
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(str(os.getpid()))
            break
        else:
            raise IndexLocked(f"could not take the index lock {path}")
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    # -- build -----------------------------------------------------------------------------

    def build(
        self, embedder: Embedder, rebuild: bool = False, progress: bool = True
    ) -> BuildReport:
        """Bring the index up to date with the corpus; a no-op when nothing changed.

        ``rebuild`` parses every file again and writes fresh collections (vectors still
        come from the embedding cache)."""
        self.check_writable()
        with self.lock():
            if not rebuild:
                # an unchanged corpus is recognised from raw bytes, before parsing anything
                start = time.perf_counter()
                current = self.up_to_date(self.fingerprint(), embedder)
                if current is not None:
                    self._tidy(current)
                    seconds = {"check": time.perf_counter() - start}
                    return BuildReport(manifest=current, unchanged=True, seconds=seconds)
            build = _Build(self, embedder, self._previous_manifest(), rebuild, progress)
            try:
                report = build.run()
            except BaseException:
                shutil.rmtree(self._build_dir(build.build_id), ignore_errors=True)
                raise
            del build
            _release_memory()
            return report

    def fingerprint(self) -> str | None:
        """The corpus hash from the raw bytes (see :func:`corpus_fingerprint`)."""
        return corpus_fingerprint(
            self.settings.corpus_dir, self.settings.abstracts_file, self.settings.corpus_exclude
        )

    def link_checks(self) -> tuple[str, list[LinkCheck]] | None:
        """The corpus hash and every survey link's check (in reading order) that the active
        build stored, when it was built from the corpus as it is now; None otherwise (then
        the corpus must be audited afresh)."""
        manifest = self.read_manifest()
        if manifest is None or manifest.corpus_hash != self.fingerprint():
            return None
        papers_key = manifest.papers_key or NO_PAPERS
        checks: list[LinkCheck] = []
        for indexed in manifest.files:
            found = self.parts.checks(indexed.key, papers_key)
            if found is None:
                return None
            checks.extend(found)
        return manifest.corpus_hash, checks

    def up_to_date(self, corpus_hash: str | None, embedder: Embedder) -> Manifest | None:
        """The active manifest if it was built from ``corpus_hash`` with this embedder and
        chunking and is intact; None when a build is needed."""
        if corpus_hash is None:
            return None
        previous = self._previous_manifest()
        if (
            previous is not None
            and previous.embedder == embedder.id
            and previous.chunking == self.settings.chunking_params()
            and previous.corpus_hash == corpus_hash
            and previous.version == INDEX_FORMAT
            and previous.hnsw == self.hnsw_params()
            and self._healthy(previous)
        ):
            return previous
        return None

    def hnsw_params(self) -> dict[str, int]:
        return {
            "hnsw:M": self.settings.hnsw_m,
            "hnsw:construction_ef": self.settings.hnsw_construction_ef,
            "hnsw:search_ef": self.settings.hnsw_search_ef,
        }

    def _previous_manifest(self) -> Manifest | None:
        try:
            return self.read_manifest()
        except IndexCorrupt as exc:
            log.warning("ignoring the previous index: %s", exc)
            return None

    def _tidy(self, manifest: Manifest) -> None:
        """Finish what a build killed after its switch left: rows neither it nor its
        previous build uses (the counts tell), older build folders and parts."""
        try:
            self._delete_strays(manifest)
        except Exception as exc:
            log.warning("could not remove unused vectors (%s); the next build will", exc)
        keep = [manifest]
        if manifest.previous is not None:
            with contextlib.suppress(OSError, ValueError):
                path = self._build_dir(manifest.previous) / MANIFEST_FILE
                keep.append(Manifest.model_validate_json(path.read_text(encoding="utf-8")))
        builds = self.root / "builds"
        folders = {p.name for p in builds.iterdir()} if builds.is_dir() else set()
        if folders - {m.build_id for m in keep}:
            self.collect_garbage(keep)

    def _delete_strays(self, manifest: Manifest) -> None:
        """Delete rows of the build's collections that neither it nor its predecessor uses
        (only when the counts show there are some)."""
        collections = {
            kind: self.client.get_collection(name, embedding_function=None)
            for kind, name in manifest.collections.items()
        }
        expected = {
            kind: manifest.vectors.get(kind, 0) + manifest.retired.get(kind, 0)
            for kind in collections
        }
        if all(c.count() == expected[kind] for kind, c in collections.items()):
            return
        with np.load(self._build_dir(manifest.build_id) / VECTORS_FILE) as data:
            kept = {
                kind: set(data[f"live_{kind}"].tolist()) | set(data[f"retired_{kind}"].tolist())
                for kind in KINDS
            }
        for kind, collection in collections.items():
            stray = sorted(set(_all_ids(collection)) - kept[kind])
            for start in range(0, len(stray), 1000):
                collection.delete(ids=stray[start : start + 1000])

    def _healthy(self, manifest: Manifest) -> bool:
        """Whether the build's files and collections are intact (cheap checks only, so the
        unchanged-corpus path stays fast); a damaged build is rebuilt."""
        try:
            self._check(manifest)
        except IndexCorrupt as exc:
            log.warning("rebuilding: %s", exc)
            return False
        return True

    def open_cache(self) -> EmbeddingCache | None:
        """The embedding cache, or None when switched off; a damaged file is set aside."""
        if not self.settings.embed_cache:
            return None
        path = self.root / CACHE_FILE
        try:
            return EmbeddingCache(path)
        except sqlite3.DatabaseError as exc:
            aside = path.with_name(f"{path.name}.damaged-{int(time.time())}")
            log.warning("embedding cache %s is damaged (%s); moved to %s", path, exc, aside)
            with contextlib.suppress(OSError):
                path.rename(aside)
            return EmbeddingCache(path)

    # -- collections this folder made ------------------------------------------------------

    def _made(self) -> list[str]:
        path = self.root / COLLECTIONS_FILE
        try:
            return list(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return []

    def _record_made(self, names: list[str]) -> None:
        """Remember collections before making them, so that a killed build's are found and
        deleted later; only these are ever deleted (others on a shared server are not ours)."""
        atomic_write_text(
            self.root / COLLECTIONS_FILE, json.dumps(list(dict.fromkeys(names)), indent=1)
        )

    def collect_garbage(self, keep: list[Manifest]) -> dict[str, float]:
        """Delete what none of the builds in ``keep`` uses: build folders, parts and
        collections this folder made. Returns seconds per kind of clean-up."""
        seconds: dict[str, float] = {}
        start = time.perf_counter()
        wanted = {name for m in keep for name in m.collections.values()}
        legacy = [m.collection for m in keep if m.collection]
        made = self._made()
        left = []
        for name in made:
            if name in wanted or name in legacy:
                left.append(name)
                continue
            try:
                self.client.delete_collection(name)
            except Exception as exc:
                if name in collection_names(self.client):
                    log.warning("could not delete old collection %s: %s", name, exc)
                    left.append(name)
        if left != made:
            self._record_made(left)
        seconds["collections"] = time.perf_counter() - start
        start = time.perf_counter()
        builds = self.root / "builds"
        ids = {m.build_id for m in keep}
        for folder in builds.iterdir() if builds.is_dir() else ():
            if folder.name not in ids:
                shutil.rmtree(folder, ignore_errors=True)
        self.parts.collect(
            {f.key for m in keep for f in m.files},
            {m.papers_key for m in keep if m.papers_key},
        )
        seconds["files"] = time.perf_counter() - start
        return seconds

    # -- load --------------------------------------------------------------------------------

    def _check(self, manifest: Manifest) -> dict[str, chromadb.Collection]:
        folder = self._build_dir(manifest.build_id)
        if manifest.version != INDEX_FORMAT:
            raise IndexCorrupt(f"index format {manifest.version} is not {INDEX_FORMAT}")
        for part in manifest.files:
            path = self.parts.chunk_file(part.key)
            size = path.stat().st_size if path.is_file() else -1
            if size != part.size:
                raise IndexCorrupt(
                    f"the chunks of {part.path} in build {manifest.build_id} are missing or "
                    f"damaged; {rebuild_hint()}"
                )
        abstracts = folder / ABSTRACTS_FILE
        if not abstracts.is_file() or count_lines(abstracts) != manifest.abstracts:
            raise IndexCorrupt(
                f"the abstract chunks of build {manifest.build_id} are missing or damaged; "
                f"{rebuild_hint()}"
            )
        if not (folder / "bm25").is_dir():
            raise IndexCorrupt(
                f"index build {manifest.build_id} has no BM25 sidecar; {rebuild_hint()}"
            )
        collections: dict[str, chromadb.Collection] = {}
        for kind, name in manifest.collections.items():
            try:
                collection = self.client.get_collection(name, embedding_function=None)
            except Exception as exc:
                raise IndexCorrupt(
                    f"Chroma collection {name} is missing ({type(exc).__name__}); {rebuild_hint()}"
                ) from exc
            count = collection.count()
            if count < manifest.vectors.get(kind, 0):
                raise IndexCorrupt(
                    f"Chroma collection {name} holds {count} vectors, the build uses "
                    f"{manifest.vectors.get(kind, 0)}; {rebuild_hint()}"
                )
            collections[kind] = collection
        return collections

    def load(self, embedder_id: str, embedder_dim: int) -> LoadedIndex:
        """Open the active build after checking it matches the configured embedder."""
        manifest = self.read_manifest()
        if manifest is None:
            raise IndexMissing(f"no index in {self.root}; build it with `{command('index')}`")
        if manifest.version != INDEX_FORMAT:
            raise IndexMismatch(
                f"index format {manifest.version} is not {INDEX_FORMAT}; {rebuild_hint()}"
            )
        if manifest.embedder != embedder_id or manifest.dim != embedder_dim:
            raise IndexMismatch(
                f"the index in {self.root} was built with embedder {manifest.embedder} "
                f"(dim {manifest.dim}) but {embedder_id} (dim {embedder_dim}) is configured; "
                f"re-index with this embedder ({rebuild_hint()}) or configure {manifest.embedder}"
            )
        collections = self._check(manifest)
        folder = self._build_dir(manifest.build_id)
        try:
            reader = _ChunkReader()
            paths = [self.parts.chunk_file(part.key) for part in manifest.files]
            chunks = reader.read([*paths, folder / ABSTRACTS_FILE])
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(
                f"chunks of build {manifest.build_id} are unreadable; {rebuild_hint()}"
            ) from exc
        if len(chunks) != manifest.chunks:
            raise IndexCorrupt(
                f"build {manifest.build_id} lists {len(chunks)} chunks, the manifest "
                f"{manifest.chunks}; {rebuild_hint()}"
            )
        bm25 = BM25Index.load(folder / "bm25")
        if bm25.ids != [c.id for c in chunks]:
            raise IndexCorrupt(
                f"BM25 sidecar of build {manifest.build_id} does not match its chunks; "
                f"{rebuild_hint()}"
            )
        return LoadedIndex(
            manifest=manifest,
            chunks=chunks,
            collections=collections,
            bm25=bm25,
            lexicon=self.lexicon(bm25, folder),
        )

    def lexicon(
        self, bm25: BM25Index, folder: Path, previous: Path | None = None
    ) -> Lexicon | None:
        """The corpus's lexicon, made at build time and kept in the build folder."""
        if not self.settings.cross_lingual_terms:
            return None
        return Lexicon.for_vocabulary(bm25.vocabulary, folder / LEXICON_FILE, previous)


class _Build:
    """One run of :meth:`IndexStore.build` (state shared by its steps)."""

    def __init__(
        self,
        store: IndexStore,
        embedder: Embedder,
        previous: Manifest | None,
        rebuild: bool,
        progress: bool,
    ) -> None:
        self.store = store
        self.settings = store.settings
        self.parts = store.parts
        self.embedder = embedder
        self.previous = previous
        self.rebuild = rebuild
        self.progress = progress
        self.build_id = (
            datetime.now(timezone.utc).strftime("%Y%m%dt%H%M%S") + "-" + secrets.token_hex(3)
        )
        self.folder = store._build_dir(self.build_id)
        self.timings: dict[str, float] = {}
        self.same_vectors = (
            previous is not None
            and previous.version == INDEX_FORMAT
            and previous.embedder == embedder.id
            and previous.dim == embedder.dim
        )
        self.chunking = json.dumps(self.settings.chunking_params(), sort_keys=True)
        self.max_tokens = min(self.settings.chunk_max_tokens, embedder.max_tokens)

    def _timed(self, name: str, start: float) -> None:
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    # -- the steps ---------------------------------------------------------------------------

    def run(self) -> BuildReport:
        root = Path(self.settings.corpus_dir)
        if self.previous is not None and self.previous.collection:
            # index format 5 and older: its one collection goes once nothing uses it
            self.store._record_made([*self.store._made(), self.previous.collection])
        digest = hashlib.sha256()
        t0 = time.perf_counter()
        files: list[tuple[str, FilePart]] = []
        parsed = 0
        for path in corpus_files(root, self.settings.corpus_exclude):
            rel = path.relative_to(root).as_posix()
            raw = path.read_bytes()
            feed_file(digest, rel, raw)
            key = part_key("file", self.chunking, self.embedder.id, rel, raw)
            part = None if self.rebuild else self.parts.file(key)
            if part is None:
                part = self._parse(path, rel, raw, key)
                parsed += 1
            files.append((rel, part))
        self._timed("parse", t0)

        t0 = time.perf_counter()
        papers, papers_part = self._papers(digest)
        corpus_hash = digest.hexdigest()[:16]
        checks = self._checks(files, papers, papers_part)
        abstracts = paper_chunks(indexable(papers), checks)
        mismatches = sum(1 for c in checks if c.verdict == "mismatch")
        del checks, papers
        for _, part in files:
            part.links_json = ""
        self._timed("chunk", t0)

        # BM25 and the lexicon before the Chroma writes: their transient arrays then
        # never coincide with the vector store's growth, and the term counts they are made
        # of (a vocabulary per file) are released first.
        t0 = time.perf_counter()
        ids = [i for _, part in files for i in part.ids] + [c.id for c in abstracts]
        bm25 = BM25Index.from_counts(ids, _take_counts(files, papers_part))
        bm25.save(self.folder / "bm25")
        atomic_write_lines(self.folder / ABSTRACTS_FILE, (c.model_dump_json() for c in abstracts))
        self._timed("bm25", t0)
        t0 = time.perf_counter()
        earlier = None
        if self.previous is not None:
            earlier = self.store._build_dir(self.previous.build_id) / LEXICON_FILE
        self.store.lexicon(bm25, self.folder, earlier)
        del bm25
        self._timed("lexicon", t0)

        section_hashes = list(dict.fromkeys(h for _, part in files for h in part.hashes))
        abstract_hashes = list(dict.fromkeys(c.content_hash for c in abstracts))
        needed = {"section": section_hashes, "abstract": abstract_hashes}
        rows = _Rows(self, needed)
        rows.write(files, abstracts)

        manifest = Manifest(
            version=INDEX_FORMAT,
            build_id=self.build_id,
            embedder=self.embedder.id,
            dim=self.embedder.dim,
            chunking=self.settings.chunking_params(),
            corpus_hash=corpus_hash,
            chunks=len(ids),
            sections=len(ids) - len(abstracts),
            abstracts=len(abstracts),
            built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            corpus_dir=str(root),
            abstracts_file=str(self.settings.abstracts_file)
            if self.settings.abstracts_file
            else None,
            hnsw=self.store.hnsw_params(),
            collections=rows.names,
            files=[
                IndexedFile(
                    path=rel,
                    key=part.key,
                    chunks=len(part),
                    size=self.parts.chunk_file(part.key).stat().st_size,
                )
                for rel, part in files
            ],
            papers_key=papers_part.key if papers_part is not None else None,
            vectors={kind: len(hashes) for kind, hashes in needed.items()},
            retired={kind: len(hashes) for kind, hashes in rows.retired.items()},
            deleted=rows.deleted_before + rows.deleting,
            previous=self.previous.build_id if self.previous is not None else None,
        )
        rows.save(self.folder / VECTORS_FILE)
        atomic_write_text(self.folder / MANIFEST_FILE, manifest.model_dump_json(indent=2))
        atomic_write_text(self.store.root / MANIFEST_FILE, manifest.model_dump_json(indent=2))

        t0 = time.perf_counter()
        rows.delete_unused()
        keep = [manifest] + ([self.previous] if self.previous is not None else [])
        self.store.collect_garbage(keep)
        self._timed("cleanup", t0)
        removed = max(0, self.previous.chunks - manifest.chunks) if self.previous else 0
        return BuildReport(
            manifest=manifest,
            embedded=rows.embedded,
            reused=manifest.chunks - rows.embedded_chunks(files, abstracts),
            removed=removed,
            seconds={**self.timings, **rows.timings},
            link_mismatches=mismatches,
            parsed=parsed,
            written=rows.written,
        )

    def _parse(self, path: Path, rel: str, raw: bytes, key: str) -> FilePart:
        """Parse, chunk and tokenise one file and store its part."""
        sections = parse_markdown(decode_markdown(path, raw), rel)
        chunks = [
            chunk
            for section in sections
            for chunk in chunk_section(
                section,
                self.embedder.count_tokens,
                self.max_tokens,
                self.settings.chunk_overlap_tokens,
            )
        ]
        links = [SectionLinks.of(s) for s in sections]
        links = [s for s in links if s.links]
        counts = TermCounts.of(c.indexed_text for c in chunks)
        return self.parts.write_file(key, chunks, links, counts)

    def _papers(self, digest) -> tuple[list, PapersPart | None]:
        """The abstracts file's papers and its part (term counts of the indexable ones)."""
        source = self.settings.abstracts_file
        if source is None:
            return [], None
        raw = Path(source).read_bytes()
        papers, problems = load_papers(Path(source))
        for problem in problems:
            log.warning(problem)
        feed_abstracts(digest, raw)
        key = part_key("papers", raw)
        part = None if self.rebuild else self.parts.papers(key)
        if part is None:
            chunks = [chunk_paper(p) for p in indexable(papers)]
            counts = TermCounts.of(c.indexed_text for c in chunks)
            part = self.parts.write_papers(key, chunks, counts)
        return papers, part

    def _checks(
        self, files: list[tuple[str, FilePart]], papers: list, papers_part: PapersPart | None
    ) -> list[LinkCheck]:
        """Every survey link's check against this abstracts file, in reading order, from each
        file's stored checks; only files without them (changed, or a changed abstracts file)
        are checked. The corpus-wide report (``audit-links``) is not made here: at 100k
        chunks it was half of a one-section update, and nothing the index serves needs it."""
        checker = LinkChecker(papers)
        papers_key = papers_part_key(papers_part) or NO_PAPERS
        earlier: dict[str, str] = {}
        if self.previous is not None and self.previous.papers_key == papers_part_key(papers_part):
            earlier = {f.path: f.key for f in self.previous.files}
        checks: list[LinkCheck] = []
        for rel, part in files:
            found = None if self.rebuild else self.parts.checks(part.key, papers_key)
            if found is None:
                known = self.parts.checks(earlier[rel], papers_key) if rel in earlier else None
                found = checker.check(part.links, known or ())
                self.parts.write_checks(part.key, papers_key, found)
            checks.extend(found)
        return checks


def _release_memory() -> None:
    """Hand the heap a build freed back to the system (glibc's ``malloc_trim``), so that a
    process that goes on serving after a build (the UI adding a survey) does not keep the
    build's peak: freed memory otherwise stays with the process. Elsewhere a no-op."""
    gc.collect()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def _take_counts(
    files: list[tuple[str, FilePart]], papers_part: PapersPart | None
) -> Iterator[TermCounts]:
    """The term counts of every file, then of the abstracts, each released from its part
    as it is handed over (BM25 is made from them once per build)."""
    for _, part in files:
        counts, part.counts = part.counts, None
        if counts is None:
            raise ValueError(f"the term counts of part {part.key} were already used")
        yield counts
    if papers_part is not None:
        yield papers_part.counts


def papers_part_key(part: PapersPart | None) -> str | None:
    return part.key if part is not None else None


class _Rows:
    """The build's Chroma side: where each kind's vectors go, which rows are there, and
    writing the missing ones."""

    def __init__(self, build: _Build, needed: dict[str, list[str]]) -> None:
        self.build = build
        self.store = build.store
        self.settings = build.settings
        self.embedder = build.embedder
        self.needed = needed
        self.timings: dict[str, float] = {}
        self.embedded = 0
        self.written = 0
        self._embedded_hashes: set[str] = set()
        previous = build.previous
        live: dict[str, set[str]] = {kind: set() for kind in KINDS}
        kept: dict[str, set[str]] = {kind: set() for kind in KINDS}
        self.deleted_before = 0
        loaded = self._in_place(previous)
        if loaded is not None and previous is not None:
            live, kept = loaded
            self.deleted_before = previous.deleted
            self.names = dict(previous.collections)
            self.collections = {
                kind: self.store.client.get_collection(name, embedding_function=None)
                for kind, name in self.names.items()
            }
        else:
            self.names = {
                kind: f"{self.settings.collection}-{build.build_id}-{kind}" for kind in KINDS
            }
            self.store._record_made([*self.store._made(), *self.names.values()])
            self.collections = {
                kind: self.store.client.create_collection(
                    name=name,
                    embedding_function=None,
                    metadata={
                        "hnsw:space": "cosine",
                        **self.store.hnsw_params(),
                        "assistant_kind": kind,
                        "assistant_embedder": self.embedder.id,
                    },
                )
                for kind, name in self.names.items()
            }
        self.fresh = loaded is None
        self.previous_kept = kept
        self.present = {kind: live[kind] | kept[kind] for kind in KINDS}
        wanted = {kind: set(hashes) for kind, hashes in needed.items()}
        self.retired = {kind: sorted(live[kind] - wanted[kind]) for kind in KINDS}
        """Rows only the previous build uses: they stay for its readers until the next build."""
        self.unused = {kind: kept[kind] - wanted[kind] for kind in KINDS}
        """Rows neither build uses (retired by the previous build): deleted after the switch."""

    def _in_place(self, previous: Manifest | None) -> tuple[dict, dict] | None:
        """The previous build's rows in use and kept, when this build can update its
        collections in place (same embedder and HNSW parameters, not too many deleted
        rows, not ``--rebuild``); None when it writes fresh collections."""
        build = self.build
        if previous is None or not build.same_vectors or build.rebuild:
            return None
        if previous.hnsw != self.store.hnsw_params():
            log.info("HNSW parameters changed: writing fresh collections")
            return None
        if previous.deleted > COMPACT_SHARE * max(sum(previous.vectors.values()), 1):
            log.info("%d rows deleted from the collections: writing fresh ones", previous.deleted)
            return None
        path = self.store._build_dir(previous.build_id) / VECTORS_FILE
        try:
            with np.load(path) as data:
                live = {kind: set(data[f"live_{kind}"].tolist()) for kind in KINDS}
                kept = {kind: set(data[f"retired_{kind}"].tolist()) for kind in KINDS}
            for name in previous.collections.values():
                self.store.client.get_collection(name, embedding_function=None)
        except Exception as exc:
            log.warning("cannot update the collections in place (%s); writing new ones", exc)
            return None
        return live, kept

    def save(self, path: Path) -> None:
        """What the next build needs to know of this one's rows (``vectors.npz``)."""
        arrays = {}
        for kind in KINDS:
            arrays[f"live_{kind}"] = np.asarray(self.needed[kind], dtype=str)
            arrays[f"retired_{kind}"] = np.asarray(self.retired[kind], dtype=str)
        atomic_save_arrays(path, **arrays)

    # -- writing -------------------------------------------------------------------------------

    def write(self, files: list[tuple[str, FilePart]], abstracts: list[Chunk]) -> None:
        """Write a row for every needed hash the collections lack, then check the counts
        (rows found missing are written again)."""
        todo = {
            kind: {h for h in self.needed[kind] if h not in self.present[kind]} for kind in KINDS
        }
        total = sum(len(v) for v in todo.values())
        log.info(
            "writing %d new vectors (%d section, %d abstract), %d already stored",
            total,
            len(todo["section"]),
            len(todo["abstract"]),
            sum(len(v) for v in self.needed.values()) - total,
        )
        cache = self.store.open_cache()
        try:
            self._write(files, abstracts, todo, cache)
            missing = self._verify()
            if any(missing.values()):
                self._write(files, abstracts, missing, cache)
        finally:
            if cache is not None:
                cache.close()

    def _write(self, files, abstracts, todo: dict[str, set[str]], cache) -> None:
        total = sum(len(v) for v in todo.values())
        with tqdm(
            total=total,
            desc=f"embedding ({self.embedder.id})",
            unit="chunk",
            disable=not self.build.progress or not total,
            leave=False,
        ) as bar:
            sections = self._section_texts(files, todo["section"])
            self._write_kind("section", sections, cache, bar)
            wanted = todo["abstract"]
            texts = ((c.content_hash, c.embedded_text) for c in abstracts)
            self._write_kind("abstract", (t for t in texts if t[0] in wanted), cache, bar)

    def _section_texts(
        self, files: list[tuple[str, FilePart]], todo: set[str]
    ) -> Iterator[tuple[str, str]]:
        """(hash, embedded text) of the section chunks with hashes in ``todo``, one file's
        chunks in memory at a time."""
        if not todo:
            return
        for _rel, part in files:
            if todo.isdisjoint(part.hashes):
                continue
            for chunk in self.build.parts.chunks(part.key):
                if chunk.content_hash in todo:
                    yield chunk.content_hash, chunk.embedded_text

    def _write_kind(self, kind: str, texts: Iterator[tuple[str, str]], cache, bar) -> None:
        group = max(_EMBED_GROUP, self.settings.embed_batch_size * self.settings.embed_concurrency)
        pending: dict[str, str] = {}
        for content_hash, text in texts:
            if content_hash in pending or content_hash in self.present[kind]:
                continue
            pending[content_hash] = text
            if len(pending) >= group:
                self._flush(kind, pending, cache, bar)
                pending = {}
        if pending:
            self._flush(kind, pending, cache, bar)

    def _flush(self, kind: str, pending: dict[str, str], cache, bar) -> None:
        """Vectors for ``pending`` (hash → text) from the cache, the previous build's
        collection (cache off) or the embedder; then one upsert per Chroma batch."""
        t0 = time.perf_counter()
        hashes = list(pending)
        keys = {h: text_key(pending[h]) for h in hashes}
        vectors: dict[str, np.ndarray] = {}
        if cache is not None:
            found = cache.get_many(self.embedder.id, self.embedder.dim, list(keys.values()))
            vectors = {h: found[k] for h, k in keys.items() if k in found}
        elif not self.build.rebuild:
            vectors = self._from_previous(kind, hashes)
        self._time("reuse", t0)
        todo = [h for h in hashes if h not in vectors]
        if todo:
            t0 = time.perf_counter()
            embedded = self.embedder.embed_documents([pending[h] for h in todo])
            if embedded.shape != (len(todo), self.embedder.dim):
                raise AssistantError(
                    f"embedder {self.embedder.id} returned shape {embedded.shape}, "
                    f"expected ({len(todo)}, {self.embedder.dim})"
                )
            if cache is not None:
                cache.put_many(
                    self.embedder.id, ((keys[h], v) for h, v in zip(todo, embedded, strict=True))
                )
            vectors.update(zip(todo, embedded, strict=True))
            self.embedded += len(todo)
            self._embedded_hashes.update(todo)
            self._time("embed", t0)
        t0 = time.perf_counter()
        batch = self.settings.chroma_batch_size
        with contextlib.suppress(Exception):
            batch = min(batch, int(self.store.client.get_max_batch_size()))
        for start in range(0, len(hashes), batch):
            part = hashes[start : start + batch]
            matrix = np.stack([vectors[h] for h in part]).astype(np.float32, copy=False)
            self.collections[kind].upsert(ids=part, embeddings=matrix)
        self.present[kind].update(hashes)
        self.written += len(hashes)
        self._time("store", t0)
        bar.update(len(hashes))

    def _time(self, name: str, start: float) -> None:
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    def _from_previous(self, kind: str, hashes: list[str]) -> dict[str, np.ndarray]:
        """Vectors the previous build's collection holds (when it used this embedder)."""
        previous = self.build.previous
        if not hashes or previous is None or not self.build.same_vectors:
            return {}
        name = previous.collections.get(kind)
        if name is None or name == self.names[kind]:
            return {}
        try:
            collection = self.store.client.get_collection(name, embedding_function=None)
            got = collection.get(ids=hashes, include=["embeddings"])
        except Exception as exc:
            log.warning("cannot reuse vectors of %s (%s); embedding again", name, exc)
            return {}
        return {
            h: np.asarray(v, dtype=np.float32)
            for h, v in zip(got["ids"], got["embeddings"], strict=True)
        }

    def _verify(self) -> dict[str, set[str]]:
        """Compare each collection's row count with the rows this build knows of: rows a
        killed build added are marked for deletion after the switch; needed rows that are
        missing (a damaged store) are returned, to be written again."""
        missing: dict[str, set[str]] = {kind: set() for kind in KINDS}
        for kind in KINDS:
            if self.collections[kind].count() == len(self.present[kind]):
                continue
            stored = set(_all_ids(self.collections[kind]))
            wanted = set(self.needed[kind]) | set(self.retired[kind])
            self.unused[kind] |= stored - wanted
            missing[kind] = set(self.needed[kind]) - stored
            if missing[kind]:
                log.warning(
                    "%d %s vectors were missing from %s; writing them again",
                    len(missing[kind]),
                    kind,
                    self.names[kind],
                )
                self.present[kind] -= missing[kind]
        return missing

    def delete_unused(self) -> None:
        """After the switch: delete rows neither the new nor the previous build uses."""
        for kind in KINDS:
            gone = sorted(self.unused[kind])
            for start in range(0, len(gone), 1000):
                self.collections[kind].delete(ids=gone[start : start + 1000])

    @property
    def deleting(self) -> int:
        return sum(len(v) for v in self.unused.values())

    def embedded_chunks(self, files: list[tuple[str, FilePart]], abstracts: list[Chunk]) -> int:
        """Chunks whose vector was computed in this run."""
        done = self._embedded_hashes
        return sum(1 for _, part in files for h in part.hashes if h in done) + sum(
            1 for c in abstracts if c.content_hash in done
        )


class _ChunkReader:
    """Reads chunk files into :class:`Chunk` s that share what they repeat.

    A validated pydantic model keeps its own set of the fields given (21 names, ~2.2 KB
    a chunk) and its own copy of every string; at 100k chunks that was 480 MB of the
    serving process. Here all chunks share one fields set (pydantic copies it before any
    change, so sharing is safe) and equal strings and tuples (file, section, heading
    path, context, citing sections) are one object: 260 MB at 100k chunks.
    """

    _SHARED = ("kind", "source", "section_id", "section", "section_title", "section_path",
               "context", "arxiv_ids", "authors", "published", "cited_in", "anchors",
               "mislinked_anchors")  # fmt: skip

    def __init__(self) -> None:
        self._fields = set(Chunk.model_fields)
        self._pool: dict[object, object] = {}

    def _one(self, value: object) -> object:
        if isinstance(value, tuple):
            value = tuple(self._one(v) for v in value)
        elif not isinstance(value, str):
            return value
        return self._pool.setdefault(value, value)

    def read(self, paths: list[Path]) -> list[Chunk]:
        chunks: list[Chunk] = []
        for path in paths:
            with open(path, encoding="utf-8") as lines:
                for line in lines:
                    if not line.strip():
                        continue
                    chunk = Chunk.model_validate_json(line)
                    object.__setattr__(chunk, "__pydantic_fields_set__", self._fields)
                    fields = chunk.__dict__
                    for name in self._SHARED:
                        fields[name] = self._one(fields[name])
                    chunks.append(chunk)
        self._pool.clear()
        return chunks


def _all_ids(collection: chromadb.Collection) -> list[str]:
    ids: list[str] = []
    total = collection.count()
    for offset in range(0, total, 5000):
        ids.extend(collection.get(include=[], limit=5000, offset=offset)["ids"])
    return ids


def _lock_holder(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or "0") or None
    except (OSError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
