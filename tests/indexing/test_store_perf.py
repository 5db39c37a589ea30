"""Index builds: unchanged-corpus fast path, embedding cache, id-only Chroma queries."""

from __future__ import annotations

import numpy as np
import pytest
from llama_index.core.vector_stores import MetadataFilter, MetadataFilters
from llama_index.core.vector_stores.types import VectorStoreQuery

from assistant import Assistant, Settings
from assistant.indexing.chroma import ChunkVectorStore, by_hash
from assistant.indexing.embeddings.cache import EmbeddingCache
from assistant.indexing.store import CACHE_FILE
from assistant.ingest.corpus import corpus_fingerprint, load_corpus


@pytest.fixture
def settings(corpus_copy, tmp_path) -> Settings:
    return Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index", embedder="hash")


def _edit_one_section(corpus_dir) -> None:
    path = corpus_dir / "trends.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n新增一句话。\n", encoding="utf-8")


def test_fingerprint_equals_the_parsed_corpus_hash(settings):
    args = (settings.corpus_dir, settings.abstracts_file, settings.corpus_exclude)
    before = corpus_fingerprint(*args)
    assert before == load_corpus(*args).content_hash
    _edit_one_section(settings.corpus_dir)
    assert corpus_fingerprint(*args) == load_corpus(*args).content_hash != before
    assert corpus_fingerprint(settings.corpus_dir / "missing") is None


def test_unchanged_corpus_is_recognised_before_any_markdown_is_parsed(settings, monkeypatch):
    first = Assistant(settings).build_index(progress=False)
    assert not first.unchanged and first.embedded == first.manifest.chunks > 0

    def no_parsing(*args, **kwargs):
        raise AssertionError("the corpus was parsed")

    monkeypatch.setattr("assistant.indexing.store.parse_markdown", no_parsing)
    monkeypatch.setattr("assistant.indexing.store.load_papers", no_parsing)
    again = Assistant(settings).build_index(progress=False)
    assert again.unchanged and again.embedded == 0
    assert again.manifest.build_id == first.manifest.build_id


def test_one_changed_section_embeds_only_what_changed(settings):
    first = Assistant(settings).build_index(progress=False)
    _edit_one_section(settings.corpus_dir)
    second = Assistant(settings).build_index(progress=False)
    assert not second.unchanged
    assert 1 <= second.embedded <= 2
    assert second.reused == second.manifest.chunks - second.embedded
    assert second.manifest.build_id != first.manifest.build_id


def test_rebuild_takes_vectors_from_the_cache(settings):
    first = Assistant(settings).build_index(progress=False)
    rebuilt = Assistant(settings).build_index(rebuild=True, progress=False)
    assert not rebuilt.unchanged and rebuilt.embedded == 0
    assert rebuilt.manifest.build_id != first.manifest.build_id
    with EmbeddingCache(settings.index_dir / CACHE_FILE) as cache:
        assert cache.count("hash:v2:384") == first.embedded


def test_without_the_cache_rebuild_embeds_everything_and_updates_reuse_the_old_build(settings):
    settings = settings.model_copy(update={"embed_cache": False})
    first = Assistant(settings).build_index(progress=False)
    assert not (settings.index_dir / CACHE_FILE).exists()
    rebuilt = Assistant(settings).build_index(rebuild=True, progress=False)
    assert rebuilt.embedded == first.embedded
    _edit_one_section(settings.corpus_dir)
    update = Assistant(settings).build_index(progress=False)
    assert 1 <= update.embedded <= 2


def test_cached_vectors_equal_freshly_computed_ones(settings):
    assistant = Assistant(settings)
    assistant.build_index(progress=False)
    chunks = assistant.index.chunks
    stored = {}
    for collection in assistant.index.collections.values():
        got = collection.get(include=["embeddings"])
        stored.update(zip(got["ids"], got["embeddings"], strict=True))
    fresh = assistant.embedder.embed_documents([c.embedded_text for c in chunks])
    for chunk, vector in zip(chunks, fresh, strict=True):
        np.testing.assert_allclose(stored[chunk.content_hash], vector, atol=1e-6)


def test_damaged_cache_is_set_aside(settings):
    settings.index_dir.mkdir(parents=True)
    (settings.index_dir / CACHE_FILE).write_bytes(b"not a database" * 100)
    report = Assistant(settings).build_index(progress=False)
    assert report.embedded == report.manifest.chunks
    assert list(settings.index_dir.glob(f"{CACHE_FILE}.damaged-*"))


def test_hnsw_parameters_are_recorded_and_a_change_rebuilds(settings):
    first = Assistant(settings).build_index(progress=False)
    assert first.manifest.hnsw == {
        "hnsw:M": 16,
        "hnsw:construction_ef": 100,
        "hnsw:search_ef": 100,
    }
    tuned = settings.model_copy(update={"hnsw_search_ef": 40})
    second = Assistant(tuned).build_index(progress=False)
    assert not second.unchanged and second.embedded == 0
    assert second.manifest.hnsw["hnsw:search_ef"] == 40
    for collection in Assistant(tuned).index.collections.values():
        assert collection.metadata["hnsw:search_ef"] == 40


def test_queries_drop_rows_the_loaded_build_does_not_use(settings):
    """Rows another build added (or keeps for its readers) never reach the results: the
    store asks for more neighbours until it has ``top_k`` rows of its own build."""
    assistant = Assistant(settings)
    assistant.build_index(progress=False)
    index = assistant.index
    collection = index.collections["section"]
    question = assistant.embedder.embed_query("世界模型的安全问题")
    query = VectorStoreQuery(query_embedding=question.tolist(), similarity_top_k=3)
    before = index.vector_store("section").query(query)
    assert len(before.ids) == 3
    # rows of a newer build, right next to the query, unknown to the loaded one
    collection.upsert(ids=[f"new-{i}" for i in range(5)], embeddings=np.tile(question, (5, 1)))
    for slack in (0, 5):
        store = ChunkVectorStore(collection, by_hash(index.chunks), slack=slack)
        after = store.query(query)
        assert after.ids == before.ids
        np.testing.assert_allclose(after.similarities, before.similarities, atol=1e-6)
    expected = [n.node_id for n in before.nodes]
    assert [n.metadata["kind"] for n in before.nodes] == ["section"] * 3
    chunk = index.by_id[expected[0]]
    assert before.nodes[0].text == chunk.text
    with pytest.raises(ValueError, match="one Chroma collection per chunk kind"):
        index.vector_store("section").query(
            VectorStoreQuery(
                query_embedding=question.tolist(),
                similarity_top_k=3,
                filters=MetadataFilters(filters=[MetadataFilter(key="kind", value="abstract")]),
            )
        )
