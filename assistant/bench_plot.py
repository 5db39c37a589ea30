"""The benchmark's log-log plot: query latency and indexing throughput against corpus size."""

from __future__ import annotations

from pathlib import Path

from .bench import BenchReport


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
