"""Chroma + BM25 index on disk: atomic, incremental builds and checked loads.

Layout of ``index_dir``::

    manifest.json           the active build (written last, by atomic rename)
    audit.json              the link audit of the active build's corpus (assistant/ingest/audit.py)
    chroma/                 Chroma's persistent store (unused with a Chroma server)
    builds/<build_id>/      chunks.jsonl, the BM25 sidecar and lexicon.json of one build
    embeddings.sqlite       every passage vector computed so far (see embeddings/cache.py)
    .lock                   held while a build runs (PID inside)

Every build writes a *new* collection ``<prefix>-<build_id>`` and a new build folder;
``manifest.json`` switches to them only when both are complete, and only then is the
previous build deleted. A crash or kill mid-build leaves the previous index answering.
Vectors come from the persistent embedding cache, so no text is embedded twice, even
across ``--rebuild`` (with the cache switched off, unchanged chunks' vectors are copied
from the previous collection instead); Chroma's own embedding function is never used
(``embedding_function=None``), since it would download a model. An unchanged corpus is
recognised from its raw bytes before any Markdown is parsed (:meth:`IndexStore.up_to_date`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQueryResult
from llama_index.vector_stores.chroma import ChromaVectorStore
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
from assistant.files import atomic_write_lines, atomic_write_text
from assistant.indexing.embeddings import Embedder
from assistant.indexing.embeddings.cache import EmbeddingCache, text_key
from assistant.indexing.lexical import BM25Index
from assistant.indexing.lexicon import Lexicon
from assistant.ingest.audit import AuditReport, audit_corpus
from assistant.ingest.chunking import chunk_corpus
from assistant.ingest.corpus import Corpus
from assistant.invocation import command
from assistant.models import Chunk, Manifest
from assistant.settings import Settings

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".lock"
CACHE_FILE = "embeddings.sqlite"
LEXICON_FILE = "lexicon.json"
AUDIT_FILE = "audit.json"
"""The link audit of the indexed corpus: staged in the build folder, moved beside the
manifest when the build becomes active."""
INDEX_FORMAT = 5
"""Bumped when chunk fields or how chunk text is made change (4: abstracts carry their
authors; 5: which are not embedded), so older indexes are rebuilt instead of half-read."""
_CHROMA_BATCH = 1000
_EMBED_GROUP = 256
"""Texts handed to the embedder at once: it batches inside; the cache is written per group."""
_CACHE_SLICE = 5000
"""Content hashes looked up in the embedding cache at once."""


def chroma_client(settings: Settings) -> chromadb.ClientAPI:
    """A persistent client under ``index_dir/chroma``, or an HTTP client for ``chroma_url``."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(
            settings.chroma_url if "//" in settings.chroma_url else f"http://{settings.chroma_url}"
        )
        host, ssl = url.hostname or "127.0.0.1", url.scheme == "https"
        port = url.port or (443 if ssl else 8000)
        try:
            client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=chroma_settings)
            client.heartbeat()
        except Exception as exc:
            raise AssistantError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}); "
                "start one with `chroma run --path DIR --host 127.0.0.1 --port 8000` "
                "or unset ASSISTANT_CHROMA_URL to use the local index"
            ) from exc
        return client
    path = Path(settings.index_dir) / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise IndexCorrupt(
            f"cannot open the Chroma store at {path}: {exc}; {rebuild_hint()}"
        ) from exc


class VectorTable:
    """A build's vectors: one float32 matrix with a row per content hash.

    One allocation instead of an array per chunk is smaller (no per-vector object), and,
    being one large block, goes back to the operating system when freed; a hundred
    thousand small arrays leave their space in the heap, where the BM25 arrays built
    next cannot use it (at 100k chunks that space was ~150 MB of the build's peak).
    """

    def __init__(self, hashes: Iterable[str], dim: int) -> None:
        self.rows = {h: n for n, h in enumerate(hashes)}
        self.matrix = np.zeros((len(self.rows), dim), dtype=np.float32)
        self._filled = np.zeros(len(self.rows), dtype=bool)

    def put(self, content_hash: str, vector: np.ndarray) -> None:
        row = self.rows[content_hash]
        self.matrix[row] = vector
        self._filled[row] = True

    def __contains__(self, content_hash: object) -> bool:
        row = self.rows.get(content_hash)  # type: ignore[arg-type]
        return row is not None and bool(self._filled[row])

    def __getitem__(self, content_hash: str) -> np.ndarray:
        if content_hash not in self:
            raise KeyError(content_hash)
        return self.matrix[self.rows[content_hash]]

    def __len__(self) -> int:
        return int(self._filled.sum())


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
    """Survey links whose anchor does not describe the linked paper (see ``audit.json``)."""


@dataclass
class LoadedIndex:
    """A checked, ready-to-query index."""

    manifest: Manifest
    chunks: list[Chunk]
    collection: chromadb.Collection
    bm25: BM25Index
    lexicon: Lexicon | None = None
    """Chinese–English term lexicon of the corpus (None when ``cross_lingual_terms`` is off)."""
    by_id: dict[str, Chunk] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {c.id: c for c in self.chunks}

    def vector_store(self) -> ChromaVectorStore:
        return ChunkVectorStore(self.collection, self.by_id)


class ChunkVectorStore(ChromaVectorStore):
    """llama-index's Chroma store, answering plain similarity queries from ids alone.

    Chroma finds the nearest ids and distances; the nodes are rebuilt from the chunks
    already loaded in memory instead of Chroma reading every hit's document and
    metadata back from SQLite, which is most of a dense query's cost (at 10k chunks
    about 5 of 6 ms). Scores are llama-index's own (``exp(-distance)``); metadata
    filters still run inside Chroma. Extra Chroma arguments, and any id missing from
    the loaded chunks, take the library's path.
    """

    _chunks: dict[str, Chunk] = PrivateAttr()

    def __init__(self, collection: chromadb.Collection, chunks: dict[str, Chunk]) -> None:
        super().__init__(chroma_collection=collection)
        self._chunks = chunks

    def _query(
        self, query_embeddings: list[float], n_results: int, where: dict, **kwargs: object
    ) -> VectorStoreQueryResult:
        if kwargs:
            return super()._query(query_embeddings, n_results, where, **kwargs)
        found = self._collection.query(
            query_embeddings=query_embeddings,
            n_results=n_results,
            include=["distances"],
            **({"where": where} if where else {}),
        )
        ids, distances = found["ids"][0], found["distances"][0]
        if any(node_id not in self._chunks for node_id in ids):
            return super()._query(query_embeddings, n_results, where)
        return VectorStoreQueryResult(
            nodes=[_to_node(self._chunks[node_id]) for node_id in ids],
            similarities=[math.exp(-distance) for distance in distances],
            ids=list(ids),
        )


class IndexStore:
    """Owns ``settings.index_dir`` (and the Chroma collections it names)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.root = Path(settings.index_dir)
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
                self._write_manifest(current.model_copy(update={"refusal": manifest.refusal}))

    def _write_manifest(self, manifest: Manifest) -> None:
        atomic_write_text(self.root / MANIFEST_FILE, manifest.model_dump_json(indent=2))

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
        self,
        load: Callable[[], Corpus],
        embedder: Embedder,
        rebuild: bool = False,
        progress: bool = True,
    ) -> BuildReport:
        """Bring the index up to date with the corpus ``load`` parses; a no-op when nothing
        changed.

        The corpus is parsed here, under the lock, rather than passed in, so that nothing
        holds it once it is chunked: its sections and link audit (~0.6 GB at 100k chunks)
        would otherwise stay alive through embedding, Chroma writes and BM25.
        """
        self.check_writable()
        with self.lock():
            return self._build_locked(load, embedder, rebuild, progress)

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
            and previous.hnsw == self._hnsw_params()
            and self._healthy(previous)
        ):
            return previous
        return None

    def _hnsw_params(self) -> dict[str, int]:
        return {
            "hnsw:M": self.settings.hnsw_m,
            "hnsw:construction_ef": self.settings.hnsw_construction_ef,
            "hnsw:search_ef": self.settings.hnsw_search_ef,
        }

    def _build_locked(
        self, load: Callable[[], Corpus], embedder: Embedder, rebuild: bool, progress: bool
    ) -> BuildReport:
        timings: dict[str, float] = {}
        previous = self._previous_manifest()
        t0 = time.perf_counter()
        corpus = load()
        timings["parse"] = time.perf_counter() - t0
        for problem in corpus.problems:
            log.warning(problem)
        if not rebuild:
            current = self.up_to_date(corpus.content_hash, embedder)
            if current is not None:
                return BuildReport(manifest=current, unchanged=True, seconds=timings)

        t0 = time.perf_counter()
        max_tokens = min(self.settings.chunk_max_tokens, embedder.max_tokens)
        audit = audit_corpus(
            corpus
        )  # computed once: chunks carry its findings, the build stores it
        chunks = chunk_corpus(
            corpus, embedder.count_tokens, max_tokens, self.settings.chunk_overlap_tokens, audit
        )
        if not chunks:
            raise AssistantError(f"the corpus at {corpus.root} produced no text to index")
        timings["chunk"] = time.perf_counter() - t0

        build_id = datetime.now(timezone.utc).strftime("%Y%m%dt%H%M%S") + "-" + secrets.token_hex(3)
        name = f"{self.settings.collection}-{build_id}"
        manifest = Manifest(
            version=INDEX_FORMAT,
            build_id=build_id,
            collection=name,
            embedder=embedder.id,
            dim=embedder.dim,
            chunking=self.settings.chunking_params(),
            corpus_hash=corpus.content_hash,
            chunks=len(chunks),
            sections=sum(1 for c in chunks if c.kind == "section"),
            abstracts=sum(1 for c in chunks if c.kind == "abstract"),
            built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            corpus_dir=str(corpus.root),
            abstracts_file=str(self.settings.abstracts_file)
            if self.settings.abstracts_file
            else None,
            hnsw=self._hnsw_params(),
        )
        folder = self._build_dir(build_id)
        try:
            mismatches = self._stage_audit(audit, folder)
            del corpus  # the chunks are all the rest of the build needs
            report = self._write_build(chunks, manifest, previous, embedder, rebuild, progress)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        report.seconds = {**timings, **report.seconds}
        report.link_mismatches = mismatches
        return report

    def _write_build(
        self,
        chunks: list[Chunk],
        manifest: Manifest,
        previous: Manifest | None,
        embedder: Embedder,
        rebuild: bool,
        progress: bool,
    ) -> BuildReport:
        """Embed, write the collection and the build folder, then switch the manifest."""
        timings: dict[str, float] = {}
        folder = self._build_dir(manifest.build_id)
        texts: dict[str, str] = {}
        for chunk in chunks:
            texts.setdefault(chunk.content_hash, chunk.embedded_text)
        vectors = VectorTable(texts, embedder.dim)
        t0 = time.perf_counter()
        cache = self._open_cache()
        try:
            if cache is not None:
                self._cached(cache, texts, embedder, vectors)
            elif not rebuild:
                for h, vector in self._reusable(previous, embedder).items():
                    if h in texts:
                        vectors.put(h, vector)
            timings["reuse"] = time.perf_counter() - t0
            todo = {h: t for h, t in texts.items() if h not in vectors}
            log.info("embedding %d new chunks, reusing %d", len(todo), len(texts) - len(todo))
            t0 = time.perf_counter()
            self._embed(todo, embedder, progress, cache, vectors)
            timings["embed"] = time.perf_counter() - t0
            embedded = set(todo)
            del texts, todo
        finally:
            if cache is not None:
                cache.close()

        t0 = time.perf_counter()
        name = manifest.collection
        collection = self.client.create_collection(
            name=name,
            embedding_function=None,
            metadata={
                "hnsw:space": "cosine",
                **manifest.hnsw,
                "assistant_manifest": manifest.model_dump_json(),
            },
        )
        try:
            store = ChromaVectorStore(chroma_collection=collection)
            batch = self.settings.chroma_batch_size
            with contextlib.suppress(Exception):
                batch = min(batch, int(self.client.get_max_batch_size()))
            for start in range(0, len(chunks), batch):
                part = chunks[start : start + batch]
                store.add([_to_node(c, vectors[c.content_hash]) for c in part])
            del vectors  # Chroma holds them now: ~150 MB at 100k back to the OS before BM25
            timings["store"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            atomic_write_lines(folder / "chunks.jsonl", (c.model_dump_json() for c in chunks))
            bm25 = BM25Index.build([c.id for c in chunks], (c.indexed_text for c in chunks))
            bm25.save(folder / "bm25")
            timings["bm25"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            self._lexicon(bm25, folder)
            timings["lexicon"] = time.perf_counter() - t0
            del bm25
            self._write_manifest(manifest)
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.delete_collection(name)
            raise
        os.replace(folder / AUDIT_FILE, self.root / AUDIT_FILE)
        t0 = time.perf_counter()
        self._collect_garbage(keep=manifest)
        timings["cleanup"] = time.perf_counter() - t0
        removed = 0
        if previous is not None:
            removed = max(0, previous.chunks - len(chunks))
        return BuildReport(
            manifest=manifest,
            embedded=len(embedded),
            reused=sum(1 for c in chunks if c.content_hash not in embedded),
            removed=removed,
            seconds=timings,
        )

    @staticmethod
    def _stage_audit(audit: AuditReport, folder: Path) -> int:
        """Write the corpus's link audit into the new build's folder (it becomes
        ``audit.json`` when the build does); returns how many links it finds mismatched."""
        atomic_write_text(folder / AUDIT_FILE, audit.model_dump_json(indent=2))
        return len(audit.mismatches)

    def _open_cache(self) -> EmbeddingCache | None:
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

    @staticmethod
    def _cached(
        cache: EmbeddingCache, texts: dict[str, str], embedder: Embedder, vectors: VectorTable
    ) -> None:
        """Fill ``vectors`` with what the cache holds for ``texts`` (content hash → text),
        a slice at a time so that the cache's rows are never all in memory at once."""
        hashes = list(texts)
        for start in range(0, len(hashes), _CACHE_SLICE):
            keys = {h: text_key(texts[h]) for h in hashes[start : start + _CACHE_SLICE]}
            found = cache.get_many(embedder.id, embedder.dim, list(keys.values()))
            for h, key in keys.items():
                if key in found:
                    vectors.put(h, found[key])

    def _previous_manifest(self) -> Manifest | None:
        try:
            return self.read_manifest()
        except IndexCorrupt as exc:
            log.warning("ignoring the previous index: %s", exc)
            return None

    def _reusable(self, previous: Manifest | None, embedder: Embedder) -> dict[str, np.ndarray]:
        """content hash → embedding from the previous build, when it used the same embedder."""
        if previous is None or previous.embedder != embedder.id or previous.dim != embedder.dim:
            return {}
        try:
            collection = self.client.get_collection(previous.collection, embedding_function=None)
            found: dict[str, np.ndarray] = {}
            total = collection.count()
            for offset in range(0, total, _CHROMA_BATCH):
                got = collection.get(
                    include=["embeddings", "metadatas"], limit=_CHROMA_BATCH, offset=offset
                )
                for meta, vector in zip(got["metadatas"], got["embeddings"], strict=True):
                    if meta and meta.get("content_hash"):
                        found[str(meta["content_hash"])] = np.asarray(vector, dtype=np.float32)
            return found
        except Exception as exc:
            log.warning(
                "cannot reuse embeddings from %s (%s); re-embedding", previous.collection, exc
            )
            return {}

    def _embed(
        self,
        todo: dict[str, str],
        embedder: Embedder,
        progress: bool,
        cache: EmbeddingCache | None,
        vectors: VectorTable,
    ) -> None:
        """Embed ``todo`` (content hash → text) into ``vectors`` in groups, saving each
        group to the cache."""
        if not todo:
            return
        keys = list(todo)
        group = max(_EMBED_GROUP, self.settings.embed_batch_size * self.settings.embed_concurrency)
        with tqdm(
            total=len(keys),
            desc=f"embedding ({embedder.id})",
            unit="chunk",
            disable=not progress,
            leave=False,
        ) as bar:
            for start in range(0, len(keys), group):
                part = keys[start : start + group]
                embedded = embedder.embed_documents([todo[k] for k in part])
                if embedded.shape != (len(part), embedder.dim):
                    raise AssistantError(
                        f"embedder {embedder.id} returned shape {embedded.shape}, "
                        f"expected ({len(part)}, {embedder.dim})"
                    )
                if cache is not None:
                    cache.put_many(
                        embedder.id,
                        ((text_key(todo[k]), v) for k, v in zip(part, embedded, strict=True)),
                    )
                for key, vector in zip(part, embedded, strict=True):
                    vectors.put(key, vector)
                bar.update(len(part))

    def _collect_garbage(self, keep: Manifest) -> None:
        """Drop collections and build folders of this prefix other than the active one."""
        prefix = f"{self.settings.collection}-"
        try:
            for name in _collection_names(self.client):
                if name.startswith(prefix) and name != keep.collection:
                    self.client.delete_collection(name)
        except Exception as exc:
            log.warning("could not delete old collections: %s", exc)
        builds = self.root / "builds"
        if builds.is_dir():
            for folder in builds.iterdir():
                if folder.name != keep.build_id:
                    shutil.rmtree(folder, ignore_errors=True)

    def _healthy(self, manifest: Manifest) -> bool:
        """Whether the build's files and collection are intact (cheap checks only, so the
        unchanged-corpus path stays fast); a damaged build is rebuilt."""
        try:
            self._check(manifest)
        except IndexCorrupt as exc:
            log.warning("rebuilding: %s", exc)
            return False
        return True

    # -- load --------------------------------------------------------------------------------

    def _check(self, manifest: Manifest) -> chromadb.Collection:
        folder = self._build_dir(manifest.build_id)
        if not (folder / "chunks.jsonl").is_file():
            raise IndexCorrupt(
                f"index build {manifest.build_id} has no chunks file; {rebuild_hint()}"
            )
        if _count_lines(folder / "chunks.jsonl") != manifest.chunks:
            raise IndexCorrupt(
                f"the chunks file of build {manifest.build_id} does not list "
                f"{manifest.chunks} chunks; {rebuild_hint()}"
            )
        if not (folder / "bm25").is_dir():
            raise IndexCorrupt(
                f"index build {manifest.build_id} has no BM25 sidecar; {rebuild_hint()}"
            )
        try:
            collection = self.client.get_collection(manifest.collection, embedding_function=None)
        except Exception as exc:
            raise IndexCorrupt(
                f"Chroma collection {manifest.collection} is missing ({type(exc).__name__}); "
                f"{rebuild_hint()}"
            ) from exc
        count = collection.count()
        if count != manifest.chunks:
            raise IndexCorrupt(
                f"Chroma collection {manifest.collection} holds {count} chunks, the manifest "
                f"{manifest.chunks}; {rebuild_hint()}"
            )
        return collection

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
        collection = self._check(manifest)
        folder = self._build_dir(manifest.build_id)
        try:
            lines = (folder / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
            chunks = [Chunk.model_validate_json(line) for line in lines if line.strip()]
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
            collection=collection,
            bm25=bm25,
            lexicon=self._lexicon(bm25, folder),
        )

    def _lexicon(self, bm25: BM25Index, folder: Path) -> Lexicon | None:
        """The corpus's lexicon, made at build time and kept in the build folder."""
        if not self.settings.cross_lingual_terms:
            return None
        return Lexicon.for_vocabulary(bm25.vocabulary, folder / LEXICON_FILE)


def _to_node(chunk: Chunk, vector: np.ndarray | None = None) -> TextNode:
    """A llama-index node carrying our chunk's flat metadata and precomputed embedding."""
    metadata = {
        "chunk_id": chunk.id,
        "kind": chunk.kind,
        "section": chunk.section or "",
        "section_title": chunk.section_title or "",
        "source": chunk.source,
        "arxiv_id": chunk.arxiv_id or "",
        "arxiv_ids": ",".join(chunk.arxiv_ids),
        "content_hash": chunk.content_hash,
        "position": chunk.position,
    }
    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata=metadata,
        embedding=None if vector is None else np.asarray(vector, dtype=np.float32).tolist(),
        excluded_embed_metadata_keys=list(metadata),
        excluded_llm_metadata_keys=list(metadata),
    )


def _collection_names(client: chromadb.ClientAPI) -> list[str]:
    return [c if isinstance(c, str) else c.name for c in client.list_collections()]


def _count_lines(path: Path) -> int:
    """Newline count, read in blocks: cheap enough for every start-up check."""
    count = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


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
