"""pgcdc as a real ``pgcdc run`` process, end to end into the broker."""

from __future__ import annotations

import os
import sys
import time
from contextlib import ExitStack

import orjson
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from bench import services, slots
from bench.engines import Finish, Target, Usage
from bench.engines.process import ChildProcess
from bench.workloads import Workload

STATUS_INTERVAL_MS = 100
"""How often pgcdc reports its confirmed position: the resolution of "Kafka acknowledged the last event"."""


class PgcdcEngine:
    name = "pgcdc"
    description = (
        "`pgcdc run` as its own process, writing to the broker (idempotent producer, acks=all). Done when the "
        "slot's `confirmed_flush_lsn` passes the WAL position after the last commit (for a snapshot: when the "
        "connector's slot exists, which pgcdc creates only once Kafka acknowledged every snapshot row). pgcdc "
        "confirms a position only after Kafka acknowledged every event before it; it reports every "
        f"{STATUS_INTERVAL_MS} ms here (`status.update.interval.ms`), which bounds the error."
    )

    def supports(self, workload: Workload) -> bool:
        return True

    def start(self, target: Target) -> PgcdcRun:
        return PgcdcRun(target)


class PgcdcRun:
    def __init__(self, target: Target) -> None:
        self._target = target
        self._stack = ExitStack()
        try:
            self._bootstrap = self._stack.enter_context(services.broker(target.workdir))
            self._latency: ChildProcess | None = None
            if target.workload.latency:
                self._latency = self._start_latency_reader()
            self._process = self._start()
        except BaseException:
            self._stack.close()
            raise

    def _topics(self) -> list[str]:
        return [f"{self._target.topic_prefix}.public.{t}" for t in self._target.workload.tables]

    def _start(self) -> ChildProcess:
        target = self._target
        config = {
            "name": target.slot,
            "config": {
                "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
                "database.url": target.dsn,
                "topic.prefix": target.topic_prefix,
                "table.include.list": target.table_list,
                "slot.name": target.slot,
                "publication.name": target.publication,
                "snapshot.mode": "initial" if target.workload.snapshot else "no_data",
                "status.update.interval.ms": str(STATUS_INTERVAL_MS),
            },
        }
        config_file = target.workdir / "pgcdc.json"
        config_file.write_bytes(orjson.dumps(config))
        cmd = [
            sys.executable,
            "-m",
            "pgcdc.cli",
            "run",
            "--config",
            str(config_file),
            "--log-level",
            "warning",
        ]
        env = {**os.environ, "KAFKA_URL": self._bootstrap}
        env.pop("DATABASE_URL", None)  # the config names the database
        child = ChildProcess(cmd, log=target.workdir / "pgcdc.log", env=env)
        self._stack.callback(child.stop)
        return child

    def _start_latency_reader(self) -> ChildProcess:
        # The topic exists before the reader starts, so its first events do not wait for a metadata refresh.
        (topic,) = self._topics()
        admin = AdminClient({"bootstrap.servers": self._bootstrap})
        for future in admin.create_topics([NewTopic(topic, num_partitions=1)]).values():
            future.result(30)
        ready, result = self._target.workdir / "reader.ready", self._target.workdir / "reader.json"
        cmd = [sys.executable, "-m", "bench.engines._kafka_latency", self._bootstrap, topic]
        cmd += [str(self._target.warmup), str(self._target.workload.events), str(ready), str(result)]
        child = ChildProcess(cmd, log=self._target.workdir / "reader.log")
        self._stack.callback(child.stop)
        deadline = time.monotonic() + self._target.timeout
        while not ready.exists():
            stopped = child.stopped()
            if stopped is not None or time.monotonic() > deadline:
                raise slots.EngineFailed(f"the Kafka latency reader did not start: {stopped}")
            time.sleep(0.01)
        return child

    @property
    def spawned_at(self) -> float:
        return self._process.spawned_at

    def ready(self) -> None:
        if not self._target.workload.snapshot:
            slots.wait_active(
                self._target.dsn, self._target.slot, alive=self._process.stopped, timeout=self._target.timeout
            )

    def delivered(self, lsn: str, count: int) -> Finish:
        target = self._target
        if target.workload.snapshot:
            at = slots.wait_exists(
                target.dsn, target.slot, alive=self._process.stopped, timeout=target.timeout
            )
        else:
            at = slots.wait_confirmed(
                target.dsn, target.slot, lsn, alive=self._process.stopped, timeout=target.timeout
            )
        if self._latency is None or count < target.milestones[-1]:
            return Finish(at=at)
        result = self._latency.wait_result(
            target.workdir / "reader.json", timeout=target.timeout, what="the Kafka latency reader"
        )
        return Finish(at=at, latencies_ms=tuple(result["latencies_ms"]))

    def usage(self) -> Usage:
        return self._process.usage()

    def stop(self) -> None:
        self._stack.close()
