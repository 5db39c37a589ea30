"""A persisted BM25 index (bm25s) over chunk texts, with the tokenizer passed in.

bm25s's own tokenizer (and llama-index's ``BM25Retriever`` built on it) turns a run of
Chinese characters into one token, so every Chinese score is zero; here the caller
supplies tokens (jieba for Chinese by default, see :func:`assistant.text.tokenize`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import bm25s
import numpy as np

from assistant.errors import IndexCorrupt
from assistant.text import Tokenizer, tokenize

log = logging.getLogger(__name__)

_IDS_FILE = "ids.json"


class BM25Index:
    """BM25 scores over a fixed list of chunk ids."""

    def __init__(self, bm25: bm25s.BM25, ids: Sequence[str], tokenizer: Tokenizer = tokenize):
        self.bm25 = bm25
        self.ids = list(ids)
        self.tokenizer = tokenizer

    @classmethod
    def build(
        cls, ids: Sequence[str], texts: Iterable[str], tokenizer: Tokenizer = tokenize
    ) -> BM25Index:
        """Tokenise ``texts`` and index them; ``ids[i]`` names the i-th text.

        Tokens become vocabulary ids one document at a time, so the token strings of
        the whole corpus are never held at once (at 100k chunks that is the difference
        between ~100 MB of shared int ids and ~1 GB of short strings); bm25s then
        indexes the ids exactly as it would the tokens. ``texts`` may be a generator,
        so that the texts need not be held at once either.
        """
        vocab: dict[str, int] = {"": 0}
        corpus: list[list[int]] = []
        for text in texts:
            tokens = tokenizer(text) or [""]
            corpus.append([vocab.setdefault(token, len(vocab)) for token in tokens])
        if len(corpus) != len(ids):
            raise ValueError(f"{len(ids)} ids for {len(corpus)} texts")
        bm25 = bm25s.BM25()
        bm25.index((corpus, vocab), show_progress=False)
        return cls(bm25, ids, tokenizer)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.bm25.save(str(folder), show_progress=False)
        (folder / _IDS_FILE).write_text(json.dumps(self.ids), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, tokenizer: Tokenizer = tokenize) -> BM25Index:
        try:
            ids = json.loads((folder / _IDS_FILE).read_text(encoding="utf-8"))
            bm25 = bm25s.BM25.load(str(folder))
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorrupt(
                f"BM25 sidecar at {folder} is missing or unreadable ({exc})"
            ) from exc
        if int(bm25.scores.get("num_docs", -1)) != len(ids):
            raise IndexCorrupt(f"BM25 sidecar at {folder} does not match its id list")
        return cls(bm25, ids, tokenizer)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def vocabulary(self) -> list[str]:
        """Every token of the indexed texts."""
        return [token for token in self.bm25.vocab_dict if token]

    def tokens(self, query: str) -> list[str]:
        """The query as this index's tokenizer sees it."""
        return self.tokenizer(query)

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every document (aligned with ``ids``) for already tokenised text.

        Sums precomputed per-token columns, so the cost is the length of the query
        terms' posting lists, not of the corpus.
        """
        known = self.bm25.get_tokens_ids(tokens) if tokens else []
        if not known or not self.ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.bm25.get_scores_from_ids(known), dtype=np.float32)

    def coverage(self, tokens: list[str], doc: int) -> float:
        """IDF-weighted share of the query's distinct tokens that document ``doc`` contains.

        Tokens the corpus never uses count in the denominator: a question in a
        language the index cannot see gets a low coverage everywhere.
        """
        scores = self.bm25.scores
        indptr, indices = scores["indptr"], scores["indices"]
        vocab = self.bm25.vocab_dict
        n = len(self.ids)
        total = found = 0.0
        for token in dict.fromkeys(tokens):
            tid = vocab.get(token)
            postings = indices[indptr[tid] : indptr[tid + 1]] if tid is not None else ()
            idf = float(np.log1p((n - len(postings) + 0.5) / (len(postings) + 0.5)))
            total += idf
            if tid is not None and doc in postings:
                found += idf
        return found / total if total else 0.0

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top ``k`` ``(chunk id, score)`` pairs with a positive score.

        ``mask`` (0/1 per document) restricts the search, e.g. to one chunk kind.
        bm25s pads its top-k with zero-score documents: those are dropped.
        """
        tokens = self.tokenizer(query)
        if not tokens or not self.ids:
            return []
        k = min(k, len(self.ids))
        docs, scores = self.bm25.retrieve(
            [tokens], k=k, show_progress=False, weight_mask=mask, n_threads=0
        )
        return [
            (self.ids[int(doc)], float(score))
            for doc, score in zip(docs[0], scores[0], strict=True)
            if score > 0
        ]
