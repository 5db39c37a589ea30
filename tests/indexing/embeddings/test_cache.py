"""The persistent embedding cache."""

from __future__ import annotations

import numpy as np

from assistant.indexing.embeddings.cache import EmbeddingCache, text_key


def test_round_trip_keeps_vectors_per_embedder(tmp_path):
    vectors = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    keys = [text_key(t) for t in ("a", "b", "c")]
    with EmbeddingCache(tmp_path / "c.sqlite") as cache:
        cache.put_many("model-a", zip(keys, vectors, strict=True))
        found = cache.get_many("model-a", 4, [*keys, text_key("missing")])
        assert set(found) == set(keys)
        for key, vector in zip(keys, vectors, strict=True):
            np.testing.assert_array_equal(found[key], vector)
        assert cache.get_many("model-b", 4, keys) == {}
        assert cache.count("model-a") == 3 and cache.count() == 3
    with EmbeddingCache(tmp_path / "c.sqlite") as reopened:
        assert len(reopened.get_many("model-a", 4, keys)) == 3


def test_rows_of_another_dimension_are_misses(tmp_path):
    with EmbeddingCache(tmp_path / "c.sqlite") as cache:
        cache.put_many("m", [(text_key("a"), np.ones(4, dtype=np.float32))])
        assert cache.get_many("m", 8, [text_key("a")]) == {}


def test_keys_depend_on_the_exact_text():
    assert text_key("世界模型") == text_key("世界模型")
    assert text_key("世界模型") != text_key("世界模型 ")
    assert len(text_key("x")) == 16


def test_many_keys_are_looked_up_in_batches(tmp_path):
    keys = [text_key(str(i)) for i in range(1200)]
    with EmbeddingCache(tmp_path / "c.sqlite") as cache:
        cache.put_many("m", ((k, np.full(2, i, dtype=np.float32)) for i, k in enumerate(keys)))
        found = cache.get_many("m", 2, keys)
    assert len(found) == 1200 and found[keys[1100]][0] == 1100
