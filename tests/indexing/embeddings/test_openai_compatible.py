"""The OpenAI-compatible embedder against the local stub server (no network)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.errors import EmbedderError
from assistant.indexing.embeddings import create_embedder
from assistant.indexing.embeddings.openai_compatible import OpenAICompatibleEmbedder
from assistant.settings import Settings
from tests.conftest import free_port
from tests.stubs.openai_server import OpenAIStub


@pytest.fixture
def stub():
    with OpenAIStub(embedding_dim=24) as server:
        yield server


def _embedder(stub: OpenAIStub, **kwargs) -> OpenAICompatibleEmbedder:
    return OpenAICompatibleEmbedder(base_url=stub.base_url, model="stub-embed", **kwargs)


def test_dimension_comes_from_the_probe_and_id_names_model_and_host(stub):
    embedder = _embedder(stub)
    assert embedder.dim == 24
    assert embedder.id == f"openai-compatible:stub-embed@127.0.0.1:{stub.port}"
    assert len(stub.requests) == 1 and stub.requests[0]["model"] == "stub-embed"


def test_documents_are_batched_and_keep_their_order(stub):
    embedder = _embedder(stub, batch_size=3, concurrency=4)
    texts = [f"passage number {i}" for i in range(10)]
    stub.requests.clear()
    vectors = embedder.embed_documents(texts)
    assert vectors.shape == (10, 24)
    assert sorted(len(r["input"]) for r in stub.requests) == [1, 3, 3, 3]
    expected = np.array([stub._vector(t) for t in texts], dtype=np.float32)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_prefixes_are_sent_and_recorded_in_the_id(stub):
    embedder = _embedder(stub, query_prefix="query: ", passage_prefix="passage: ")
    stub.requests.clear()
    embedder.embed_query("what is a world model")
    embedder.embed_documents(["a survey"])
    assert stub.requests[0]["input"] == ["query: what is a world model"]
    assert stub.requests[1]["input"] == ["passage: a survey"]
    assert "q='query: '" in embedder.id
    assert embedder.embed_query("x").shape == (24,)


def test_concurrent_requests_overlap(stub):
    stub.embedding_delay = 0.3
    texts = [f"t{i}" for i in range(8)]
    _embedder(stub, batch_size=2, concurrency=1).embed_documents(texts)
    assert stub.max_in_flight == 1
    _embedder(stub, batch_size=2, concurrency=4).embed_documents(texts)
    # four requests of 0.3 s each: with four workers they are served side by side
    assert stub.max_in_flight >= 3


def test_unreachable_endpoint_fails_at_start_with_url_and_model():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EmbedderError) as info:
        OpenAICompatibleEmbedder(base_url=url, model="bge-m3")
    assert url in str(info.value) and "bge-m3" in str(info.value)


def test_server_error_is_an_embedder_error(stub):
    embedder = _embedder(stub, max_retries=0)
    stub.embedding_status = 400
    with pytest.raises(EmbedderError, match="stub-embed"):
        embedder.embed_documents(["x"])


def test_factory_reads_settings_and_requires_url_and_model(stub, monkeypatch):
    monkeypatch.setenv("MY_EMBED_KEY", "secret")
    settings = Settings(
        embedder="openai-compatible",
        embed_base_url=stub.base_url,
        embed_model="stub-embed",
        embed_api_key_env="MY_EMBED_KEY",
        embed_batch_size=5,
        embed_concurrency=2,
    )
    embedder = create_embedder(settings)
    assert isinstance(embedder, OpenAICompatibleEmbedder)
    assert embedder.describe()["batch_size"] == 5
    with pytest.raises(EmbedderError, match="EMBED_BASE_URL"):
        create_embedder(Settings(embedder="openai-compatible", embed_model="m"))
    with pytest.raises(EmbedderError, match="EMBED_MODEL"):
        create_embedder(Settings(embedder="openai-compatible", embed_base_url=stub.base_url))
