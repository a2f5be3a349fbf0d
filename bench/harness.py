"""Runs every workload through every engine, repetition by repetition, and keeps each measurement."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg

from bench import slots
from bench.engines import Engine, Target
from bench.measure import Latency, Measurement, Summary, summarize
from bench.workloads import Workload

Progress = Callable[[Measurement, str], None]
"""Called after every measurement with it and a one-line description."""

WARMUP_EVENTS = 1
"""Rows written and delivered before a streaming run's clock starts: the first event pays for connections
(pgcdc's producer meets the broker on its first record) that a running connector has long made."""


def timeout_for(workload: Workload) -> float:
    """Seconds any one wait may take: generous, as Debezium on a busy 2-core machine can be slow."""
    return 180 + workload.events / 1000


def measure_once(dsn: str, workload: Workload, engine: Engine, *, run_id: str, workdir: Path) -> Measurement:
    """One engine on one workload: start it, write the load, wait for the last event, read its usage."""
    target = Target(
        dsn=dsn,
        workload=workload,
        slot=f"bench_{run_id}",
        publication=f"bench_pub_{run_id}",
        topic_prefix=f"bench{run_id}",
        workdir=workdir,
        timeout=timeout_for(workload),
        warmup=0 if workload.snapshot else WARMUP_EVENTS,
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        if not workload.snapshot:
            workload.create(conn)
        conn.execute("CHECKPOINT")  # no checkpoint of earlier load's WAL lands inside this run
    running = engine.start(target)
    try:
        running.ready()
        if workload.snapshot:
            started, cpu_before, load_seconds = running.spawned_at, 0.0, 0.0
            finish = running.delivered(slots.current_lsn(dsn), workload.events)
        else:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"INSERT INTO public.{workload.tables[0]} DEFAULT VALUES")
            running.delivered(slots.current_lsn(dsn), target.warmup)
            cpu_before = running.usage().cpu_seconds
            started = time.monotonic()
            with psycopg.connect(dsn, autocommit=True) as conn:
                workload.drive(conn)
            load_seconds = time.monotonic() - started
            finish = running.delivered(slots.current_lsn(dsn), target.milestones[-1])
        usage = running.usage()
    finally:
        running.stop()
        slots.drop(dsn, slot_prefix=target.slot, publication=target.publication)
    return Measurement(
        engine=engine.name,
        workload=workload.key,
        events=workload.events,
        seconds=finish.at - started,
        cpu_seconds=usage.cpu_seconds - cpu_before,
        peak_rss_mb=usage.peak_rss_mb,
        load_seconds=load_seconds,
        latency=Latency.of(finish.latencies_ms) if workload.latency and finish.latencies_ms else None,
    )


def run_all(
    dsn: str,
    workloads: Sequence[Workload],
    engines: Sequence[Engine],
    *,
    repeat: int,
    progress: Progress,
) -> list[Summary]:
    """Each workload in turn; within it, the engines take turns in every repetition, so drift hits all."""
    summaries: list[Summary] = []
    counter = 0
    for workload in workloads:
        if workload.snapshot:
            with psycopg.connect(dsn, autocommit=True) as conn:
                workload.create(conn)  # once: a snapshot leaves the table as it found it
        runs: dict[str, list[Measurement]] = {e.name: [] for e in engines if e.supports(workload)}
        for attempt in range(1, repeat + 1):
            for engine in engines:
                if not engine.supports(workload):
                    continue
                counter += 1
                with tempfile.TemporaryDirectory(prefix=f"pgcdc-bench-{engine.name}-") as tmp:
                    workdir = Path(tmp)
                    workdir.chmod(0o755)
                    result = measure_once(
                        dsn, workload, engine, run_id=f"{counter}_{int(time.time())}", workdir=workdir
                    )
                runs[engine.name].append(result)
                progress(result, describe(workload, result, attempt))
        summaries += summarize([m for measured in runs.values() for m in measured])
        with psycopg.connect(dsn, autocommit=True) as conn:
            for table in workload.tables:
                conn.execute(f"DROP TABLE IF EXISTS public.{table}")
    return summaries


def describe(workload: Workload, m: Measurement, attempt: int) -> str:
    line = (
        f"({workload.key}) run {attempt} {m.engine:>14}: {m.events_per_second:>10,.0f} events/s "
        f"{m.seconds:7.2f} s (load {m.load_seconds:5.2f} s)  CPU {m.cpu_seconds:6.2f} s "
        f"({m.cpu_us_per_event:5.1f} us/event)  peak RSS {m.peak_rss_mb:6.0f} MB"
    )
    if m.latency is not None:
        line += (
            f"  latency p50 {m.latency.p50_ms:.1f} p95 {m.latency.p95_ms:.1f} p99 {m.latency.p99_ms:.1f} ms"
        )
    return line
