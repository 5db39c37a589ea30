"""A persisted BM25 index (bm25s) over chunk texts, with the tokenizer passed in.

bm25s's own tokenizer (and llama-index's ``BM25Retriever`` built on it) turns a run of
Chinese characters into one token, so every Chinese score is zero; here the caller
supplies tokens (jieba for Chinese by default, see :func:`assistant.text.tokenize`).

bm25s cannot add or remove documents, and tokenising is nine tenths of building it
(jieba: ~4000 chunks/s). So the index is made from :class:`TermCounts`, the tokenised
form of a run of documents that the store keeps per corpus file: an update tokenises
only the files that changed and assembles bm25s's score matrix from the counts with a
few vectorised passes (:meth:`BM25Index.from_counts`), exactly as ``bm25s.BM25.index``
would compute it (same Lucene IDF and term-frequency formula, same float32 scores).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
import scipy.sparse as sp

from assistant.errors import IndexCorrupt
from assistant.text import Tokenizer, tokenize

log = logging.getLogger(__name__)

_IDS_FILE = "ids.json"
_NONE = np.zeros(0, dtype=np.int64)

Term = str | tuple[str, ...]
"""A query term: a token, or alternatives counted as one term (a word and its translations)."""


def _members(term: Term) -> tuple[str, ...]:
    return (term,) if isinstance(term, str) else tuple(dict.fromkeys(term))


@dataclass
class TermCounts:
    """The documents of a run (one corpus file, the abstracts) as BM25 sees them: for each
    document its distinct terms with their counts and its length in tokens, over the
    run's own vocabulary (so a run can be stored and reused on its own)."""

    vocab: list[str]
    indptr: np.ndarray
    """Document ``d``'s entries are ``terms[indptr[d]:indptr[d + 1]]`` (int64)."""
    terms: np.ndarray
    """Positions in ``vocab`` (int32)."""
    counts: np.ndarray
    """How often each term occurs in its document (int32)."""
    lengths: np.ndarray
    """Tokens per document, repeats included (int32)."""

    @classmethod
    def of(cls, texts: Iterable[str], tokenizer: Tokenizer = tokenize) -> TermCounts:
        """Tokenise ``texts``; a text without tokens counts as one empty token, as in bm25s."""
        vocab: dict[str, int] = {}
        indptr, terms, counts, lengths = [0], [], [], []
        for text in texts:
            tokens = tokenizer(text) or [""]
            for token, count in Counter(tokens).items():
                terms.append(vocab.setdefault(token, len(vocab)))
                counts.append(count)
            indptr.append(len(terms))
            lengths.append(len(tokens))
        return cls(
            vocab=list(vocab),
            indptr=np.asarray(indptr, dtype=np.int64),
            terms=np.asarray(terms, dtype=np.int32),
            counts=np.asarray(counts, dtype=np.int32),
            lengths=np.asarray(lengths, dtype=np.int32),
        )

    def __len__(self) -> int:
        return len(self.lengths)

    def arrays(self, prefix: str = "tf_") -> dict[str, np.ndarray]:
        """The counts as named arrays (for ``np.savez``; :meth:`from_arrays` reads them)."""
        return {
            f"{prefix}vocab": np.asarray(self.vocab, dtype=str),
            f"{prefix}indptr": self.indptr,
            f"{prefix}terms": self.terms,
            f"{prefix}counts": self.counts,
            f"{prefix}lengths": self.lengths,
        }

    @classmethod
    def from_arrays(cls, data: Mapping[str, np.ndarray], prefix: str = "tf_") -> TermCounts:
        return cls(
            vocab=data[f"{prefix}vocab"].tolist(),
            indptr=np.asarray(data[f"{prefix}indptr"], dtype=np.int64),
            terms=np.asarray(data[f"{prefix}terms"], dtype=np.int32),
            counts=np.asarray(data[f"{prefix}counts"], dtype=np.int32),
            lengths=np.asarray(data[f"{prefix}lengths"], dtype=np.int32),
        )


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
        ``texts`` may be a generator: only their term counts are kept."""
        return cls.from_counts(ids, [TermCounts.of(texts, tokenizer)], tokenizer)

    @classmethod
    def from_counts(
        cls, ids: Sequence[str], runs: Iterable[TermCounts], tokenizer: Tokenizer = tokenize
    ) -> BM25Index:
        """The index of the documents of ``runs``, in order; ``ids[i]`` names the i-th.

        Computes what ``bm25s.BM25().index`` computes (Lucene IDF
        ``log(1 + (N - df + 0.5) / (df + 0.5))``, term frequency
        ``tf / (k1 (1 - b + b · len / avg len) + tf)``, scores in float32, a CSC matrix
        of documents × terms), but from counts and in whole-array passes: ~0.5 s instead
        of ~6 s for bm25s's per-document loop at 100k chunks, and no text is tokenised.
        """
        vocab: dict[str, int] = {"": 0}
        terms, counts, lengths, sizes = [], [], [], []
        for run in runs:
            local = np.fromiter(
                (vocab.setdefault(token, len(vocab)) for token in run.vocab),
                dtype=np.int32,
                count=len(run.vocab),
            )
            terms.append(local[run.terms] if len(run.terms) else run.terms)
            counts.append(run.counts)
            lengths.append(run.lengths)
            sizes.append(np.diff(run.indptr))
        docs = int(sum(len(part) for part in lengths))
        if docs != len(ids):
            raise ValueError(f"{len(ids)} ids for {docs} texts")
        bm25 = bm25s.BM25()
        if docs:
            bm25.scores = _score_matrix(
                np.concatenate(terms),
                np.concatenate(counts),
                np.concatenate(lengths),
                np.concatenate(sizes),
                len(vocab),
                bm25,
            )
        else:
            empty = np.zeros(0, dtype=np.int32)
            bm25.scores = {
                "data": np.zeros(0, dtype=np.float32),
                "indices": empty,
                "indptr": np.zeros(len(vocab) + 1, dtype=np.int64),
                "num_docs": 0,
            }
        bm25.vocab_dict = vocab
        bm25.unique_token_ids_set = set(vocab.values())
        bm25.nonoccurrence_array = None
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

    def scores(self, terms: Sequence[Term]) -> np.ndarray:
        """BM25 score of every document (aligned with ``ids``) for already tokenised text.

        A term is a token or a group of alternatives (a question word and its
        translations), scored as one term in the manner of Pirkola's structured query
        translation: the group's rarity is that of the documents holding *any* member
        (so a rare wrong sense of a common word does not count as a rare word), and a
        document earns the term once, for its best-matching member (so a word with five
        translations does not weigh five times).

        Adds the precomputed per-token columns, one posting list at a time (the tokens
        first, in query order, then the groups: bm25s's own order and float32 sums); the
        cost is the length of the query terms' posting lists plus a few passes over the
        score vector, with no sort (a group's union is counted on a mask).
        """
        out = np.zeros(len(self.ids), dtype=np.float32)
        if not self.ids:
            return out
        groups = []
        for term in terms:
            members = _members(term)
            if len(members) > 1:
                groups.append(members)
                continue
            docs, values = self._postings(members[0])
            out[docs] += values
        for members in groups:
            out += self._group_column(members)
        return out

    def _postings(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        """Documents holding ``token`` (ascending) and its precomputed BM25 score in each."""
        tid = self.bm25.vocab_dict.get(token)
        if tid is None:
            return _NONE, _NONE.astype(np.float32)
        scores = self.bm25.scores
        start, stop = scores["indptr"][tid], scores["indptr"][tid + 1]
        return scores["indices"][start:stop], scores["data"][start:stop]

    def _idf(self, df: int) -> float:
        """bm25s's (Lucene's) inverse document frequency."""
        n = len(self.ids)
        return float(np.log1p((n - df + 0.5) / (df + 0.5)))

    def _holding(self, members: Sequence[str]) -> np.ndarray:
        """Per document: whether it holds any of ``members`` (a mask, not a sorted union)."""
        mask = np.zeros(len(self.ids), dtype=bool)
        for token in members:
            mask[self._postings(token)[0]] = True
        return mask

    def _group_column(self, group: Sequence[str]) -> np.ndarray:
        column = np.zeros(len(self.ids), dtype=np.float32)
        postings = [self._postings(token) for token in group]
        postings = [(docs, values) for docs, values in postings if len(docs)]
        if not postings:
            return column
        holding = np.zeros(len(self.ids), dtype=bool)
        for docs, values in postings:
            # a token's score is its idf times a term-frequency factor: keep the factor
            saturation = values / self._idf(len(docs))
            column[docs] = np.maximum(column[docs], saturation)
            holding[docs] = True
        return column * self._idf(int(np.count_nonzero(holding)))

    def coverages(self, terms: Sequence[Term], docs: np.ndarray | None = None) -> np.ndarray:
        """IDF-weighted share of the query's distinct terms that each document contains
        (a group: any of its members, with the group's idf, as in :meth:`scores`); of the
        documents ``docs`` only when given (positions in ``ids``: the candidates of a
        search need no coverage of the whole corpus).

        Tokens the corpus never uses count in the denominator: a question in a
        language the index cannot see gets a low coverage everywhere.
        """
        out = np.zeros(len(self.ids) if docs is None else len(docs), dtype=np.float32)
        total = 0.0
        for term in dict.fromkeys(terms):
            holding = self._holding(_members(term))
            idf = self._idf(int(np.count_nonzero(holding)))
            total += idf
            out[holding if docs is None else holding[docs]] += idf
        return out / total if total else out

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


def _score_matrix(
    terms: np.ndarray,
    counts: np.ndarray,
    lengths: np.ndarray,
    sizes: np.ndarray,
    vocab: int,
    bm25: bm25s.BM25,
) -> dict[str, object]:
    """bm25s's ``scores`` dict for documents given as (term, count) entries: ``sizes[d]``
    entries per document ``d`` of ``lengths[d]`` tokens. Each operation and its dtypes
    follow bm25s's Lucene scorer, so the float32 scores are bm25s's own."""
    docs = len(lengths)
    df = np.bincount(terms, minlength=vocab)
    seen = df > 0
    idf = np.zeros(vocab, dtype=np.float32)
    idf[seen] = np.log(1 + (docs - df[seen] + 0.5) / (df[seen] + 0.5))
    avg = np.asarray(lengths, dtype=np.int64).mean()
    per_entry = np.repeat(lengths, sizes)
    tf = counts.astype(np.float32)
    tfc = tf / (bm25.k1 * ((1 - bm25.b) + bm25.b * per_entry / avg) + tf)
    data = (idf[terms] * tfc).astype(np.float32)
    indptr = np.zeros(docs + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    matrix = sp.csr_matrix((data, terms, indptr), shape=(docs, vocab)).tocsc()
    return {
        "data": matrix.data.astype(np.float32, copy=False),
        "indices": matrix.indices.astype(np.int32, copy=False),
        "indptr": matrix.indptr.astype(np.int64, copy=False),
        "num_docs": docs,
    }
