"""What PostgreSQL itself can emit: pg_recvlogical to /dev/null, a do-nothing psycopg2 consumer, COPY to /dev/null."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import slots
from bench.engines import Finish, Target, Usage
from bench.engines.process import ChildProcess, milestone_file
from bench.workloads import Workload

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def pg_tool(name: str) -> str:
    """A PostgreSQL client program: from PATH, else from the PostgreSQL 15 install scripts/bootstrap makes."""
    found = shutil.which(name) or (str(PG_BIN / name) if (PG_BIN / name).is_file() else None)
    if found is None:
        raise slots.EngineFailed(f"{name} not found on PATH nor in {PG_BIN}; run scripts/bootstrap")
    return found


class RecvlogicalEngine:
    name = "pg_recvlogical"
    description = (
        "`pg_recvlogical --start` on a pgoutput slot (proto_version 1, the same publication of the same "
        "tables), writing to /dev/null. Done when its walsender's `sent_lsn` (pg_stat_replication) passes the "
        "WAL position after the last commit: the server has decoded everything and handed it to the socket."
    )

    def supports(self, workload: Workload) -> bool:
        return not workload.snapshot

    def start(self, target: Target) -> StreamCeilingRun:
        slots.create_slot(target.dsn, target.slot, target.publication, list(target.workload.tables))
        cmd = [pg_tool("pg_recvlogical"), "-d", target.dsn, "--slot", target.slot, "--start", "--no-loop"]
        cmd += ["-o", "proto_version=1", "-o", f"publication_names={target.publication}", "-f", "/dev/null"]
        process = ChildProcess(cmd, log=target.workdir / "recvlogical.log")
        return StreamCeilingRun(target, process, counts=False)


class ReplicationConsumerEngine:
    name = "psycopg2"
    description = (
        "A psycopg2 `LogicalReplicationConnection` consumer (pgoutput, proto_version 1) in its own process whose "
        "per-message callback only looks at the first byte to count inserts (and, for latency, reads the "
        "commit time from each BEGIN). Done when it has counted every insert."
    )

    def supports(self, workload: Workload) -> bool:
        return not workload.snapshot

    def start(self, target: Target) -> StreamCeilingRun:
        slots.create_slot(target.dsn, target.slot, target.publication, list(target.workload.tables))
        milestones = ",".join(str(m) for m in target.milestones)
        cmd = [sys.executable, "-m", "bench.engines._replication_consumer", target.dsn, target.slot]
        cmd += [target.publication, milestones, str(int(target.workload.latency)), str(target.workdir)]
        process = ChildProcess(cmd, log=target.workdir / "consumer.log")
        return StreamCeilingRun(target, process, counts=True)


class StreamCeilingRun:
    def __init__(self, target: Target, process: ChildProcess, *, counts: bool) -> None:
        self._target = target
        self._process = process
        self._counts = counts
        """True: the process notes its own milestones; False: watch the walsender's sent_lsn."""

    @property
    def spawned_at(self) -> float:
        return self._process.spawned_at

    def ready(self) -> None:
        slots.wait_active(
            self._target.dsn, self._target.slot, alive=self._process.stopped, timeout=self._target.timeout
        )

    def delivered(self, lsn: str, count: int) -> Finish:
        target = self._target
        if not self._counts:
            at = slots.wait_sent(
                target.dsn, target.slot, lsn, alive=self._process.stopped, timeout=target.timeout
            )
            return Finish(at=at)
        path = milestone_file(target.workdir, count)
        result = self._process.wait_result(path, timeout=target.timeout, what="the psycopg2 consumer")
        return Finish(at=result["at"], latencies_ms=tuple(result["latencies_ms"]))

    def usage(self) -> Usage:
        return self._process.usage()

    def stop(self) -> None:
        self._process.stop()


class CopyEngine:
    name = "copy"
    description = (
        "For the snapshot: `psql -c 'COPY table TO STDOUT'` with its output to /dev/null, one table after "
        "another, timed from start to exit (CPU and peak RSS of psql from wait4)."
    )

    def supports(self, workload: Workload) -> bool:
        return workload.snapshot

    def start(self, target: Target) -> CopyRun:
        return CopyRun(target)


class CopyRun:
    def __init__(self, target: Target) -> None:
        commands = [f"COPY public.{t} TO STDOUT" for t in target.workload.tables]
        cmd = [pg_tool("psql"), "-X", "-q", "-d", target.dsn]
        for command in commands:
            cmd += ["-c", command]
        self.spawned_at = time.monotonic()
        self._popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self._usage = Usage(cpu_seconds=0.0, peak_rss_mb=0.0)

    def ready(self) -> None:
        pass

    def delivered(self, lsn: str, count: int) -> Finish:
        _, status, rusage = os.wait4(self._popen.pid, 0)
        at = time.monotonic()
        self._popen.returncode = os.waitstatus_to_exitcode(status)
        if self._popen.returncode != 0:
            raise slots.EngineFailed(f"psql COPY exited with {self._popen.returncode}")
        self._usage = Usage(
            cpu_seconds=rusage.ru_utime + rusage.ru_stime, peak_rss_mb=rusage.ru_maxrss / 1024
        )
        return Finish(at=at)

    def usage(self) -> Usage:
        return self._usage

    def stop(self) -> None:
        if self._popen.returncode is None:
            self._popen.kill()
            self._popen.wait(10)
