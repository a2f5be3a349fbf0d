"""The plot of docs/benchmarks.md: throughput and peak RSS per workload and engine (needs the bench extra)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.measure import Summary
from bench.workloads import Workload

COLORS = {
    "pgcdc": "#1f77b4",
    "debezium": "#d62728",
    "pg_recvlogical": "#7f7f7f",
    "psycopg2": "#bcbd22",
    "copy": "#2ca02c",
}


def draw(workloads: Sequence[Workload], summaries: Sequence[Summary], path: Path) -> None:
    try:
        import matplotlib
    except ImportError as err:
        raise SystemExit("the plot needs matplotlib: pip install -e '.[bench]'") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    engines = [e for e in COLORS if any(s.engine == e for s in summaries)]
    keys = [w.key for w in workloads]
    width = 0.8 / max(1, len(engines))
    fig, (rate_ax, rss_ax) = plt.subplots(1, 2, figsize=(13, 4.8))
    for index, engine in enumerate(engines):
        found = {s.workload: s for s in summaries if s.engine == engine}
        xs = [k + (index - (len(engines) - 1) / 2) * width for k in range(len(keys))]
        rates = [found[k].events_per_second if k in found else 0 for k in keys]
        rss = [found[k].peak_rss_mb if k in found else 0 for k in keys]
        rate_ax.bar(xs, rates, width, label=engine, color=COLORS[engine])
        rss_ax.bar(xs, rss, width, label=engine, color=COLORS[engine])
    for ax, title in (
        (rate_ax, "events/s (rows/s for d), log scale"),
        (rss_ax, "peak RSS of the process, MB"),
    ):
        ax.set_xticks(range(len(keys)), [f"({k})" for k in keys])
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    rate_ax.set_yscale("log")
    rss_ax.axhline(150, color="black", linestyle="--", linewidth=0.8)
    rss_ax.text(len(keys) - 0.5, 155, "150 MB bar", ha="right", fontsize=8)
    rate_ax.legend(fontsize=8)
    fig.suptitle("pgcdc vs Debezium 3.6 vs PostgreSQL's ceilings (medians)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
