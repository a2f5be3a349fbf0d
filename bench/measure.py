"""What one run of one engine on one workload measured, read from /proc, and the medians of several runs."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (all its threads), with those of the children it
    has waited for (pgcdc's snapshot workers)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree_rss_mb(pid: int) -> float:
    """Resident set size (VmRSS) in MiB of the process and every descendant alive now (pgcdc's snapshot
    workers are processes: their memory counts against the engine too)."""
    total_kb = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
                    break
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended between two reads
    return total_kb / 1024


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (q in 0..100)."""
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * q // 100))  # ceil without floats drifting
    return ordered[int(rank) - 1]


@dataclass(frozen=True)
class Latency:
    """Per-event latency in milliseconds, from each event's commit time to when the engine delivered it."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    count: int

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> Latency:
        ordered = sorted(samples_ms)
        return cls(
            p50_ms=percentile(ordered, 50),
            p95_ms=percentile(ordered, 95),
            p99_ms=percentile(ordered, 99),
            max_ms=ordered[-1] if ordered else float("nan"),
            count=len(ordered),
        )


@dataclass(frozen=True)
class Measurement:
    """One engine, one workload, one repetition."""

    engine: str
    workload: str
    events: int
    seconds: float
    """Wall-clock seconds from the start of the load (or of the connector, for a snapshot) to the last event."""
    cpu_seconds: float
    """CPU seconds of the engine's own process over the same span."""
    peak_rss_mb: float
    """VmHWM of the engine's own process, in MiB."""
    load_seconds: float = 0.0
    """How long writing the load took (0 for a snapshot): when close to ``seconds``, the engine kept up."""
    latency: Latency | None = None

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("nan")

    @property
    def cpu_us_per_event(self) -> float:
        return 1e6 * self.cpu_seconds / self.events


def measurement_from_json(data: dict[str, Any]) -> Measurement:
    """The inverse of ``dataclasses.asdict`` on a Measurement (for --report-from)."""
    latency = data.get("latency")
    fields = {k: v for k, v in data.items() if k != "latency"}
    return Measurement(**fields, latency=Latency(**latency) if latency else None)


def summarize(runs: Sequence[Measurement]) -> list[Summary]:
    """One Summary per (workload, engine), in the order they first appear."""
    grouped: dict[tuple[str, str], list[Measurement]] = {}
    for run in runs:
        grouped.setdefault((run.workload, run.engine), []).append(run)
    return [Summary(engine=e, workload=w, runs=tuple(r)) for (w, e), r in grouped.items()]


@dataclass(frozen=True)
class Summary:
    """The medians of one engine's repetitions of one workload."""

    engine: str
    workload: str
    runs: tuple[Measurement, ...]

    @property
    def events_per_second(self) -> float:
        return statistics.median(r.events_per_second for r in self.runs)

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def load_seconds(self) -> float:
        return statistics.median(r.load_seconds for r in self.runs)

    @property
    def cpu_seconds(self) -> float:
        return statistics.median(r.cpu_seconds for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return statistics.median(r.peak_rss_mb for r in self.runs)

    @property
    def cpu_us_per_event(self) -> float:
        """CPU microseconds per event: unlike the rates, hardly moved by other work on the machine."""
        return statistics.median(r.cpu_us_per_event for r in self.runs)

    @property
    def latency(self) -> Latency | None:
        """Each percentile's median over the runs that measured latency."""
        found = [r.latency for r in self.runs if r.latency is not None]
        if not found:
            return None
        return Latency(
            p50_ms=statistics.median(x.p50_ms for x in found),
            p95_ms=statistics.median(x.p95_ms for x in found),
            p99_ms=statistics.median(x.p99_ms for x in found),
            max_ms=statistics.median(x.max_ms for x in found),
            count=found[0].count,
        )
