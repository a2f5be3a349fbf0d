"""The chaos run: a workload under injected faults, a marker after each to time recovery, then the verifier.

Services: a PostgreSQL of the run's own (restarted fast and immediate), reached by the connector through a
TCP proxy (cut); a Tansu broker reached only through another proxy (cut) and stalled with SIGSTOP.
"""

from __future__ import annotations

import bisect
import logging
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from pgcdc.embedded.postgres import EmbeddedPostgres
from tests.chaos.broker import ProxiedBroker
from tests.chaos.hosts import RunHost, WorkerHost
from tests.chaos.proxy import TcpProxy
from tests.chaos.verify import Verdict, verify
from tests.chaos.workload import CAPTURED, Workload, create_schema, insert_marker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChaosOptions:
    transactions: int
    """Planned transactions; the workload goes on until every fault is done and this many are written."""
    faults: int
    host: str = "workers"
    """workers: two ``pgcdc worker`` processes (kill -9, graceful restart, failover); run: ``pgcdc run``."""
    rate: float = 300.0
    """Transactions per second the writer aims at."""
    stall_s: float = 30.0
    """How long the broker stays stopped (SIGSTOP) in a broker-stall fault."""
    refuse_s: float = 3.0
    """How long a proxy refuses new connections after cutting every open one."""
    gap_s: tuple[float, float] = (2.0, 8.0)
    """Random wait between a recovery and the next fault."""
    large_rows: int = 20_000
    seed: int = 7
    recover_timeout_s: float = 180.0
    kinds: tuple[str, ...] = ()
    """Fault kinds to draw from; empty means all of the host's and every service fault."""
    exactly_once: bool = False
    """Run the connector with exactly.once.support=required (the verifier reads with read_committed)."""


@dataclass
class FaultResult:
    number: int
    kind: str
    at_s: float
    """Seconds since the workload started."""
    fault_s: float
    """How long the fault itself lasted (stall, refusal, restart)."""
    recovery_s: float
    """From the fault's end to the delivery of a row committed right after it."""
    wall_ms: int = 0
    """When the fault began, wall clock, to match records' timestamps."""
    duplicates: int = 0
    """Re-delivered changes written between this fault and the next one."""


@dataclass
class ChaosReport:
    options: ChaosOptions
    verdict: Verdict
    faults: list[FaultResult] = field(default_factory=list)
    duration_s: float = 0.0
    transactions: int = 0
    rolled_back: int = 0
    in_doubt_committed: int = 0
    in_doubt_lost: int = 0
    large_rows: int = 0
    unattributed_duplicates: int = 0
    """Duplicates produced before the first fault: there should be none."""

    def by_kind(self) -> dict[str, tuple[int, float, float, int]]:
        """kind -> (count, median and max recovery seconds, duplicates)."""
        kinds: dict[str, list[FaultResult]] = {}
        for fault in self.faults:
            kinds.setdefault(fault.kind, []).append(fault)
        return {
            kind: (
                len(found),
                statistics.median(f.recovery_s for f in found),
                max(f.recovery_s for f in found),
                sum(f.duplicates for f in found),
            )
            for kind, found in sorted(kinds.items())
        }

    def attribute_duplicates(self) -> int:
        """Give each duplicate to the latest fault that began before it was produced; returns the rest."""
        starts = [f.wall_ms for f in self.faults]
        unattributed = 0
        for stamp in self.verdict.duplicate_times_ms:
            index = bisect.bisect_right(starts, stamp) - 1
            if index < 0:
                unattributed += 1
            else:
                self.faults[index].duplicates += 1
        return unattributed


class MarkerWatch:
    """Follows the markers topic from the start and notes when each marker id first arrived."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self.arrived: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="marker-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def wait(self, number: int, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while number not in self.arrived:
            if time.monotonic() > deadline:
                raise AssertionError(f"marker {number} not delivered within {timeout:.0f} s")
            time.sleep(0.02)
        return self.arrived[number]

    def _run(self) -> None:
        import orjson

        consumer = Consumer(
            {
                "bootstrap.servers": self._bootstrap,
                "group.id": f"chaos-markers-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "reconnect.backoff.max.ms": 500,
                "log.connection.close": False,
                # The proxy cuts and refuses it on purpose; librdkafka would print every refused connect.
                "log_level": 2,
            }
        )
        try:
            while not self._stop.is_set():
                meta = consumer.list_topics(self._topic, timeout=2).topics.get(self._topic)
                if meta is not None and meta.error is None and meta.partitions:
                    consumer.assign(
                        [TopicPartition(self._topic, p, OFFSET_BEGINNING) for p in meta.partitions]
                    )
                    break
                self._stop.wait(0.2)
            while not self._stop.is_set():
                for msg in consumer.consume(100, timeout=0.2):
                    if msg.error() is None and msg.value():
                        number = int(orjson.loads(msg.value())["payload"]["after"]["id"])  # type: ignore[arg-type]
                        self.arrived.setdefault(number, time.monotonic())
        finally:
            consumer.close()


class ChaosRun:
    """Owns the services, the host of the connector and the workload for one run."""

    def __init__(self, options: ChaosOptions, *, pg: EmbeddedPostgres, workdir: Path) -> None:
        self.options = options
        self._pg = pg
        self._workdir = workdir
        self._rng = random.Random(options.seed)
        self._prefix = "chaos" + uuid.uuid4().hex[:8]

    def run(self, progress: Callable[[str], None] = print) -> ChaosReport:
        options = self.options
        dsn = self._pg.dsn()
        create_schema(dsn)
        with (
            TcpProxy(self._pg.port) as pg_proxy,
            ProxiedBroker(log_path=self._workdir / "tansu.log") as broker,
        ):
            settings = {
                "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
                "database.url": f"postgresql://postgres@{pg_proxy.address}/postgres",
                "topic.prefix": self._prefix,
                "slot.name": f"slot_{self._prefix}",
                "publication.name": f"pub_{self._prefix}",
                "table.include.list": ",".join(f"chaos\\.{t}" for t in CAPTURED),
                "status.update.interval.ms": "1000",
            }
            if options.exactly_once:
                settings["exactly.once.support"] = "required"
            host: RunHost | WorkerHost
            if options.host == "run":
                host = RunHost(settings=settings, bootstrap=broker.bootstrap, workdir=self._workdir)
            else:
                host = WorkerHost(
                    name=self._prefix, settings=settings, bootstrap=broker.bootstrap, workdir=self._workdir
                )
            faults: dict[str, Callable[[], None]] = {
                **host.faults(),
                "pg-fast-restart": lambda: self._restart_pg("fast", pg_proxy),
                "pg-immediate-restart": lambda: self._restart_pg("immediate", pg_proxy),
                "broker-stall": lambda: self._stall(broker),
                "cut-postgres": lambda: self._cut(pg_proxy),
                "cut-kafka": lambda: self._cut(broker.proxy),
            }
            kinds = list(options.kinds or faults)
            unknown = set(kinds) - set(faults)
            if unknown:
                raise ValueError(f"unknown fault kinds for host {options.host}: {sorted(unknown)}")
            watch = MarkerWatch(broker.bootstrap, f"{self._prefix}.chaos.markers")
            workload = Workload(
                dsn=dsn,
                transactions=options.transactions,
                rate=options.rate,
                seed=options.seed,
                large_rows=options.large_rows,
            )
            report = ChaosReport(options=options, verdict=Verdict())
            host.start()
            try:
                insert_marker(dsn, 0)
                watch.start()
                watch.wait(0, timeout=120)
                started = time.monotonic()
                workload.start()
                plan: list[str] = []
                for number in range(1, options.faults + 1):
                    if not plan:
                        plan = self._rng.sample(kinds, len(kinds))
                    kind = plan.pop()
                    time.sleep(self._rng.uniform(*options.gap_s))
                    if workload.error is not None:
                        raise workload.error
                    began, wall_ms = time.monotonic(), int(time.time() * 1000)
                    faults[kind]()
                    ended = time.monotonic()
                    insert_marker(dsn, number)
                    try:
                        seen = watch.wait(number, timeout=options.recover_timeout_s)
                    except AssertionError as err:
                        raise AssertionError(f"{err} after fault {kind}:\n{host.log_tail()}") from None
                    result = FaultResult(number, kind, began - started, ended - began, seen - ended, wall_ms)
                    report.faults.append(result)
                    progress(
                        f"fault {number:3d} {kind:22s} lasted {result.fault_s:5.1f} s, recovered in "
                        f"{result.recovery_s:5.2f} s ({workload.done} transactions so far)"
                    )
                    host.after_recovery()
                while not workload.reached:
                    if workload.error is not None:
                        raise workload.error
                    time.sleep(0.2)
                workload.stop()
                workload.join(120)
                report.duration_s = time.monotonic() - started
                final = options.faults + 1
                insert_marker(dsn, final)
                watch.wait(final, timeout=options.recover_timeout_s)
                progress(f"workload done: {workload.done} transactions; verifying")
                ledger = workload.ledger
                report.verdict = verify(
                    broker.bootstrap, self._prefix, ledger, timeout=300, drop_aborted=options.exactly_once
                )
                report.unattributed_duplicates = report.attribute_duplicates()
                report.transactions = ledger.transactions
                report.rolled_back = ledger.rolled_back
                report.in_doubt_committed = ledger.in_doubt_committed
                report.in_doubt_lost = ledger.in_doubt_lost
                report.large_rows = ledger.large_rows
            finally:
                workload.stop()
                watch.stop()
                code = host.stop()
            if code not in (0, None):
                raise AssertionError(
                    f"the connector's host exited with {code} on SIGTERM:\n{host.log_tail()}"
                )
        return report

    def _restart_pg(self, mode: str, proxy: TcpProxy) -> None:
        self._pg.restart(mode)  # type: ignore[arg-type]
        # A restart may land on another port if the old one was taken meanwhile.
        proxy.upstream_port = self._pg.port

    def _stall(self, broker: ProxiedBroker) -> None:
        broker.pause()
        try:
            time.sleep(self.options.stall_s)
        finally:
            broker.resume()

    def _cut(self, proxy: TcpProxy) -> None:
        proxy.cut(refuse_for=self.options.refuse_s)
        time.sleep(self.options.refuse_s)
