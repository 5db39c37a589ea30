"""Smoke test of the benchmark at ~200 chunks (no server, hash embedder): it must not rot.

The real measurements are run by hand (`python -m assistant bench`); nothing here
asserts a speed.
"""

from __future__ import annotations

import json

import pytest

from assistant.evaluation.bench import MODES, BenchConfig, markdown_table, run_bench
from assistant.interfaces.cli.main import main


def test_bench_writes_the_expected_figures(tmp_path):
    config = BenchConfig(
        sizes=[200],
        queries=8,
        server=False,
        bundled=False,
        embedders=False,
        real_embedder_max_chunks=0,
        out_dir=tmp_path / "results",
        plot_copy=tmp_path / "docs" / "bench.png",
    )
    report = run_bench(config)
    written = list((tmp_path / "results").glob("bench-*.json"))
    assert len(written) == 1
    data = json.loads(written[0].read_text(encoding="utf-8"))
    assert (tmp_path / "docs" / "bench.png").stat().st_size > 1000
    assert json.loads((tmp_path / "docs" / "bench.json").read_text(encoding="utf-8")) == data
    assert list((tmp_path / "results").glob("bench-*.png"))
    (run,) = data["runs"]
    assert run["label"] == "200" and run["chroma"] == "local"
    assert 190 <= run["chunks"] <= 230
    assert run["stand_in"] is True and run["embedder"].startswith("hash")
    for mode in MODES:
        latency = run["latency"][mode]
        assert latency["queries"] == 8
        assert 0 < latency["total"]["p50"] <= latency["total"]["p95"] <= latency["total"]["p99"]
    assert run["latency"]["hybrid"]["embed"]["p50"] > 0
    assert run["latency"]["bm25"]["embed"]["p50"] == 0
    indexing = run["indexing"]
    assert indexing["embedded"] == run["chunks"]
    assert all(indexing["chunks_per_s"][k] > 0 for k in ("parse_chunk", "embed", "store"))
    reindex = run["reindex"]
    assert reindex["unchanged_embedded"] == 0 and reindex["unchanged_s"] > 0
    assert 1 <= reindex["one_changed_embedded"] <= 3
    assert run["peak_rss_mib"] > 50 and run["disk_mib"] > 0
    assert run["cold_start"]["first_query_s"] > 0
    assert run["bm25_rebuild_vs_persisted"] > 1
    assert run["answer"]["p50"] > 0 and run["first_answer_s"] > 0
    assert "| 200 | local |" in markdown_table(report)


@pytest.mark.parametrize("sizes", ["abc", "5", ""])
def test_bad_sizes_are_refused(sizes, capsys):
    with pytest.raises(SystemExit) as info:
        main(["bench", "--sizes", sizes])
    assert info.value.code == 2
    assert "--sizes" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "copied"),
    [([], True), (["--quick"], False), (["--sizes", "500"], False), (["--no-plot-copy"], False)],
)
def test_only_a_full_run_replaces_the_figures_the_readme_shows(flags, copied, monkeypatch):
    import assistant.evaluation.bench as bench

    seen = []

    def record(config, embedder):
        seen.append(config)
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "run_bench", record)
    assert main(["bench", *flags]) != 0  # stopped by the stand-in
    assert seen and (seen[0].plot_copy is not None) == copied
