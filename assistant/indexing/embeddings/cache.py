"""A persistent embedding cache: no text is embedded twice by the same embedder.

Vectors are a pure function of (embedder id, exact text) (the id names model, variant,
prefixes and normalisation), so they are kept in one SQLite file under ``index_dir``
keyed by that pair. The cache lives outside the per-build collections, so it survives
builds, ``--rebuild`` and garbage collection of old collections, is shared by every
collection prefix, and keeps the progress of an interrupted build: vectors are written
batch by batch as they are computed.

Why SQLite and not llama-index's ``embeddings_cache`` (a key-value store): its simple
store is an in-memory dict saved as JSON, which at 100k × 384 floats means hundreds of
megabytes of JSON rewritten on every save; SQLite stores float32 blobs, reads only the
rows asked for, and commits atomically.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    embedder TEXT NOT NULL,
    key BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (embedder, key)
) WITHOUT ROWID
"""
_LOOKUP_BATCH = 500
"""Keys per ``IN (…)`` query: under SQLite's default limit of 999 parameters."""


def text_key(text: str) -> bytes:
    """128-bit hash of the exact text an embedder sees."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class EmbeddingCache:
    """(embedder id, text hash) → float32 vector, in ``path`` (a SQLite file)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    def get_many(
        self, embedder_id: str, dim: int, keys: Sequence[bytes]
    ) -> dict[bytes, np.ndarray]:
        """The cached vectors among ``keys``; rows of the wrong size are ignored (re-embedded)."""
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        size = dim * 4
        for start in range(0, len(unique), _LOOKUP_BATCH):
            part = unique[start : start + _LOOKUP_BATCH]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                f"SELECT key, vector FROM vectors WHERE embedder = ? AND key IN ({marks})",
                (embedder_id, *part),
            )
            for key, blob in rows:
                if len(blob) == size:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, embedder_id: str, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        """Store vectors (one transaction)."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (embedder, key, vector) VALUES (?, ?, ?)",
                (
                    (embedder_id, key, np.ascontiguousarray(vector, dtype=np.float32).tobytes())
                    for key, vector in items
                ),
            )

    def count(self, embedder_id: str | None = None) -> int:
        if embedder_id is None:
            return int(self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
        query = "SELECT COUNT(*) FROM vectors WHERE embedder = ?"
        return int(self._db.execute(query, (embedder_id,)).fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
