"""The engines under test and the ceilings: each starts as its own process and says when it has every event.

Engine.start(target) -> Running
Running.ready()                blocks until the engine captures changes (streaming) or returns (snapshot)
Running.delivered(lsn, count)  blocks until the engine delivered ``count`` events of this run (warm-up
                               included), all committed before ``lsn``; returns when, and latencies if asked
Running.usage()                CPU seconds so far and peak RSS of the engine's process
Running.stop()                 ends the process
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench.workloads import Workload


@dataclass(frozen=True)
class Target:
    """What an engine captures in one run, and where it keeps its files."""

    dsn: str
    workload: Workload
    slot: str
    """Replication slot name; unique per run."""
    publication: str
    topic_prefix: str
    workdir: Path
    timeout: float
    """Seconds any one wait may take before the run is declared failed."""
    warmup: int
    """Events written and delivered before the clock starts (streaming only; 0 for a snapshot)."""

    @property
    def milestones(self) -> tuple[int, ...]:
        """The counts ``delivered`` is asked for: after the warm-up, and at the end."""
        end = self.warmup + self.workload.events
        return (self.warmup, end) if self.warmup else (end,)

    @property
    def table_list(self) -> str:
        return ",".join(f"public.{t}" for t in self.workload.tables)


@dataclass(frozen=True)
class Finish:
    at: float
    """time.monotonic() when the last event was delivered (the clock is the same in every process)."""
    latencies_ms: tuple[float, ...] = ()


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float
    peak_rss_mb: float


class Running(Protocol):
    @property
    def spawned_at(self) -> float:
        """time.monotonic() when the engine's process was started: a snapshot is timed from there."""
        ...

    def ready(self) -> None: ...
    def delivered(self, lsn: str, count: int) -> Finish: ...
    def usage(self) -> Usage: ...
    def stop(self) -> None: ...


class Engine(Protocol):
    name: str
    """Short name used in tables and on the command line."""
    description: str
    """How it runs and how its end is detected, for the report."""

    def supports(self, workload: Workload) -> bool: ...
    def start(self, target: Target) -> Running: ...
