"""Synthetic corpora: deterministic, Markdown-shaped, about one chunk per section."""

from __future__ import annotations

from assistant.evaluation.synthetic import change_one_section, generate_corpus
from assistant.indexing.embeddings.hashing import HashEmbedder
from assistant.ingest.chunking import chunk_corpus
from assistant.ingest.corpus import load_corpus


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes(tmp_path):
    a = generate_corpus(tmp_path / "a", sections=120, seed=7)
    b = generate_corpus(tmp_path / "b", sections=120, seed=7)
    c = generate_corpus(tmp_path / "c", sections=120, seed=8)
    assert _files(a.root) == _files(b.root)
    assert a.queries == b.queries
    assert _files(a.root) != _files(c.root)


def test_corpus_parses_into_numbered_sections_with_tables_lists_links(tmp_path):
    generated = generate_corpus(tmp_path / "c", sections=300, seed=1, sections_per_file=100)
    corpus = load_corpus(generated.root, generated.abstracts)
    body = [s for s in corpus.sections if s.level >= 2]
    assert len(body) == 300
    assert all(s.number and "." in s.number for s in body)
    kinds = {b.kind for s in corpus.sections for b in s.blocks}
    assert {"table", "list", "paragraph"} <= kinds
    assert sum(len(s.arxiv_ids) for s in corpus.sections) > 100
    assert len(corpus.papers) == generated.papers > 0
    chunks = chunk_corpus(corpus, HashEmbedder().count_tokens, 300, 40)
    assert 300 <= len(chunks) <= 300 * 1.1 + generated.papers
    assert any("\u4e00" <= ch <= "\u9fff" for ch in generated.queries[0])
    assert any(q.startswith("Which") for q in generated.queries)


def test_change_one_section_changes_exactly_one_file(tmp_path):
    generated = generate_corpus(tmp_path / "c", sections=50, seed=1, sections_per_file=10)
    before = _files(generated.root)
    changed = change_one_section(generated.root)
    after = _files(generated.root)
    assert [name for name in before if before[name] != after[name]] == [changed.name]
