"""The benchmark harness, run at a tiny size: every engine yields a measurement for every workload it supports.

Checks that the harness works, never how fast anything is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.engines.debezium_engine import unavailable

ROOT = Path(__file__).resolve().parents[2]
SCALE = "0.0005"
"""(a) 100 events, (b) 25, (c) 50, (d) and (e) 500, (f) 2,000 (one row per table per transaction)."""


def run_bench(database: str, kafka_bootstrap: str, tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "bench.json"
    env = {**os.environ, "DATABASE_URL": database, "KAFKA_URL": kafka_bootstrap}
    cmd = [sys.executable, "-m", "bench", "--scale", SCALE, "--repeat", "1", "--json", str(out), *args]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=280, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.read_text())
    result["stdout"] = done.stdout
    return result


def check_runs(runs: list[dict[str, Any]]) -> None:
    for run in runs:
        assert run["events"] > 0 and run["seconds"] > 0, run
        assert run["cpu_seconds"] >= 0 and run["peak_rss_mb"] > 0, run
        if run["workload"] == "b" and run["engine"] in ("pgcdc", "psycopg2", "debezium"):
            assert run["latency"]["count"] == run["events"], run


def test_every_engine_measures_every_workload(database: str, kafka_bootstrap: str, tmp_path: Path) -> None:
    result = run_bench(database, kafka_bootstrap, tmp_path, "--no-debezium")
    pairs = {(r["engine"], r["workload"]) for r in result["runs"]}
    streaming = "abcef"
    assert pairs == (
        {("pgcdc", w) for w in "abcdef"}
        | {(ceiling, w) for ceiling in ("pg_recvlogical", "psycopg2") for w in streaming}
        | {("copy", "d")}
    )
    check_runs(result["runs"])
    assert "medians of 1 run(s)" in result["stdout"]


@pytest.mark.debezium
def test_debezium_measures_streaming_snapshot_and_latency(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    why = unavailable()
    if why is not None:
        pytest.skip(why)
    result = run_bench(database, kafka_bootstrap, tmp_path, "--workloads", "abd", "--engines", "debezium")
    assert {(r["engine"], r["workload"]) for r in result["runs"]} == {("debezium", w) for w in "abd"}
    check_runs(result["runs"])
