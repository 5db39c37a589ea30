"""Passage vectors of short texts (the answer stage's sentences) kept in memory and in one
``.npz`` file per embedder: loaded whole at start, where the SQLite cache of
:mod:`assistant.indexing.embeddings.cache` reads rows per query."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from assistant.files import atomic_save_arrays
from assistant.indexing.embeddings.base import Embedder

log = logging.getLogger(__name__)


class TextVectors:
    """Passage embeddings of texts, cached in memory and in one ``.npz`` file."""

    def __init__(self, embedder: Embedder, path: Path | None = None) -> None:
        self.embedder = embedder
        self.path = path
        self._lock = threading.Lock()
        self._vectors: dict[str, np.ndarray] = {}
        if path is not None and path.is_file():
            try:
                with np.load(path) as data:
                    self._vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
            except (OSError, ValueError, KeyError) as exc:
                log.warning("ignoring unreadable sentence cache %s: %s", path, exc)

    @staticmethod
    def file_for(directory: Path, embedder: str) -> Path:
        """The file for ``embedder``'s vectors in ``directory``, other embedders' removed:
        keyed by text, it stays valid across builds of an index, so an update embeds only
        the texts it changed."""
        path = directory / f"{hashlib.sha1(embedder.encode()).hexdigest()[:16]}.npz"
        for old in directory.glob("*.npz") if directory.is_dir() else ():
            if old != path:
                old.unlink(missing_ok=True)
        return path

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]

    def get(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        with self._lock:
            todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}
            if todo:
                vectors = self.embedder.embed_documents(list(todo.values()))
                self._vectors.update(zip(todo, vectors, strict=True))
                self._save()
            if not keys:
                return np.zeros((0, self.embedder.dim), dtype=np.float32)
            return np.stack([self._vectors[k] for k in keys])

    def fill(self, texts: Sequence[str], progress: bool = False, group: int = 256) -> int:
        """Embed the ``texts`` not cached yet, in groups, saving the cache every few
        groups and at the end (not after each, as :meth:`get` does: the file is rewritten
        whole). Returns how many were embedded."""
        keys = {self._key(t): t for t in texts}
        todo = [(k, t) for k, t in keys.items() if k not in self._vectors]
        if not todo:
            return 0
        with tqdm(
            total=len(todo), desc="embedding sentences", unit="sentence", disable=not progress
        ) as bar:
            for n, start in enumerate(range(0, len(todo), group), 1):
                part = todo[start : start + group]
                vectors = self.embedder.embed_documents([t for _, t in part])
                with self._lock:
                    self._vectors.update(zip((k for k, _ in part), vectors, strict=True))
                    if n % 20 == 0:
                        self._save()
                bar.update(len(part))
        with self._lock:
            self._save()
        return len(todo)

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            atomic_save_arrays(
                self.path,
                keys=np.array(list(self._vectors)),
                vectors=np.stack(list(self._vectors.values())),
            )
        except OSError as exc:
            log.warning("could not write the sentence cache %s: %s", self.path, exc)
