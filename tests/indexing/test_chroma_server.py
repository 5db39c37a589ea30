import chromadb
import numpy as np
import pytest
from chromadb.config import Settings as ChromaSettings

from assistant.errors import AssistantError
from assistant.indexing import chroma_server
from assistant.indexing.chroma_server import CONFIG, ChromaServer, server_command


def _client(server: ChromaServer) -> chromadb.ClientAPI:
    return chromadb.HttpClient(
        host="127.0.0.1", port=server.port, settings=ChromaSettings(anonymized_telemetry=False)
    )


def test_the_tuned_server_reads_each_collection_once_and_sees_every_write(tmp_path):
    """With chroma-server.yaml the server keeps collection records in memory (a default
    `chroma run` logs a cache miss on every query), and rows added after the record was
    cached are found at once."""
    log = tmp_path / "chroma.log"
    rng = np.random.default_rng(0)
    with ChromaServer(tmp_path / "data", log=log) as server:
        collection = _client(server).create_collection("tuned", metadata={"hnsw:space": "cosine"})
        vectors = rng.standard_normal((40, 8)).astype("float32")
        collection.add(ids=[f"a{i}" for i in range(20)], embeddings=vectors[:20])
        for vector in vectors[:20]:
            collection.query(query_embeddings=vector.tolist(), n_results=3, include=["distances"])
        collection.add(ids=[f"b{i}" for i in range(20)], embeddings=vectors[20:])
        for i, vector in enumerate(vectors[20:]):
            found = collection.query(query_embeddings=vector.tolist(), n_results=1)
            assert found["ids"][0] == [f"b{i}"]
    text = log.read_text(encoding="utf-8", errors="replace")
    assert 1 <= text.count("Cache miss for collection") <= 2  # 40 queries, one read


def test_server_command_passes_path_host_and_port_to_the_config(tmp_path):
    command, env = server_command(tmp_path / "d", "0.0.0.0", 8123, env={"X": "1"})
    assert command[1:] == ["run", str(CONFIG)] and CONFIG.exists()
    assert env["CHROMA_PERSIST_PATH"] == str(tmp_path / "d")
    assert (env["CHROMA_LISTEN_ADDRESS"], env["CHROMA_PORT"]) == ("0.0.0.0", "8123")
    assert env["ANONYMIZED_TELEMETRY"] == "False" and env["X"] == "1"


def test_a_server_that_exits_at_once_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(chroma_server, "chroma_binary", lambda: "false")
    with pytest.raises(AssistantError, match="chroma run exited with 1"), ChromaServer(tmp_path):
        pass
