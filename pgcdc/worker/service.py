"""The worker: keeps the group's state in Kafka, runs a runner per connector, and serves the API's requests.

Kafka Connect's herder, for one connector class: every worker reads the configs and status topics from the
start and holds the latest record of each key; every API write goes to the configs topic and is read back
before the request returns, so that the worker that answered and every other worker agree.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka.admin import AdminClient

from pgcdc.ack.offsets import SourceOffset, offset_key
from pgcdc.config import ConnectorConfig, mask_secrets
from pgcdc.errors import ConfigError, PgcdcError, SinkError, SourceError
from pgcdc.lsn import Lsn
from pgcdc.produce.login import cluster_metadata
from pgcdc.produce.topics import admin_client, close_admin_client
from pgcdc.produce.waiting import flush
from pgcdc.worker.group_state import GroupState
from pgcdc.worker.records import (
    ConnectState,
    TargetState,
    connector_config_record,
    restart_record,
    status_key,
    status_value,
    target_state_record,
    task_status_key,
    task_status_value,
)
from pgcdc.worker.runner import ConnectorRunner, RunnerView
from pgcdc.worker.settings import WorkerSettings
from pgcdc.worker.status_report import StatusReport
from pgcdc.worker.stored_config import parse_stored
from pgcdc.worker.teardown import Teardown, tear_down
from pgcdc.worker.topic_log import TopicLog, ensure_compacted_topic, state_producer

log = logging.getLogger(__name__)

# What mask_secrets puts in place of a secret; a PUT that sends it back keeps the stored value.
MASKED = mask_secrets({"database.password": "x"})["database.password"]

# Kafka Connect allows nearly any name; pgcdc's also go into URLs, record keys and (from the CLI) slot names.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")

# Seconds the state topics may take to answer at start.
START_TIMEOUT_S = 30.0
# Seconds a runner waits for this worker to read the configs topic to its end before it starts a connector;
# when Kafka is slower, it looks at the slot again and retries.
CATCH_UP_TIMEOUT_S = 10.0
# Seconds a deleted connector's workers get to let go of its slot before destroy gives up.
TEARDOWN_TIMEOUT_S = 30.0


class ConnectorNotFoundError(PgcdcError):
    """No connector of that name in the group (the API's 404)."""


class ConnectorExistsError(PgcdcError):
    """A connector of that name already exists (the API's 409)."""


@dataclass(frozen=True, slots=True)
class ConnectorSnapshot:
    """One connector as this worker knows it, for the API."""

    name: str
    config: Mapping[str, str]
    target: TargetState
    status: Mapping[str, Any] | None
    """The latest record of the status topic (Kafka Connect's shape with a ``pgcdc`` object)."""
    runner: RunnerView | None


class Worker:
    """Start with ``start()``, stop with ``stop()``; the API calls the other methods from its threads."""

    def __init__(self, *, settings: WorkerSettings) -> None:
        self.settings = settings
        self._state = GroupState()
        self._runners: dict[str, ConnectorRunner] = {}
        self._removed: list[ConnectorRunner] = []
        self._lock = threading.Lock()
        self._started = False
        self._stop = threading.Event()
        self._producer = state_producer(settings.kafka)
        # The admin client wants plain values; KafkaSettings holds only strings and numbers.
        self._admin = admin_client(settings.kafka)
        self._configs = TopicLog(
            kafka=settings.kafka, topic=settings.configs_topic, producer=self._producer, apply=self._on_config
        )
        self._statuses = TopicLog(
            kafka=settings.kafka,
            topic=settings.status_topic,
            producer=self._producer,
            apply=self._state.apply_status,
        )
        self._ticker = threading.Thread(target=self._tick, name="worker-ticker", daemon=True)
        self.cluster_id: str | None = None

    # --- life cycle ---------------------------------------------------------------------------------------

    def start(self) -> None:
        """Create the state topics if missing, read them, and start a runner per connector."""
        self.cluster_id = cluster_metadata(self.settings.kafka, timeout_s=START_TIMEOUT_S).cluster_id
        for topic in (self.settings.configs_topic, self.settings.offsets_topic, self.settings.status_topic):
            ensure_compacted_topic(
                self._admin,
                topic,
                partitions=1,
                replication_factor=self.settings.topic_replication_factor,
                timeout_s=START_TIMEOUT_S,
            )
        self._statuses.start(timeout_s=START_TIMEOUT_S)
        self._configs.start(timeout_s=START_TIMEOUT_S)
        with self._lock:
            self._started = True
            for name, config in self._state.configs().items():
                self._add_runner(name, config)
        self._ticker.start()
        log.info(
            "worker %s joined group %s with %d connector(s)",
            self.settings.worker_id,
            self.settings.group_id,
            len(self._runners),
        )

    def stop(self) -> None:
        """Drain every connector this worker runs, mark them unassigned, and leave."""
        with self._lock:
            self._started = False
            runners = list(self._runners.values()) + self._removed
        for runner in runners:
            runner.shutdown()
        for runner in runners:
            if not runner.join(60):
                log.warning("connector %s did not stop within 60 s", runner.name)
        self._stop.set()
        if self._ticker.is_alive():
            self._ticker.join(5)
        flush(self._producer, 10)
        self._configs.stop()
        self._statuses.stop()
        # Closed here, not left to the garbage collector, so no client thread outlives the worker. What the
        # flush left (statuses, which the connector's next worker writes again) is purged first: close() would
        # wait for ever on a broker that is gone.
        self._producer.purge()
        self._producer.close()
        close_admin_client(self._admin)
        log.info("worker %s left group %s", self.settings.worker_id, self.settings.group_id)

    def _tick(self) -> None:
        while not self._stop.wait(self.settings.tick_s):
            with self._lock:
                runners = list(self._runners.values())
                gone = [r for r in self._removed if r.join(0)]
                self._removed = [r for r in self._removed if r not in gone]
            for runner in runners:
                try:
                    runner.tick()
                except Exception:  # a failing sample must not stop the others
                    log.exception("connector %s: status sampling failed", runner.name)
            self._producer.poll(0)

    # --- what the topics say ------------------------------------------------------------------------------

    def _on_config(self, key: bytes | None, value: bytes | None) -> None:
        record = self._state.apply_config(key, value)
        with self._lock:
            if not self._started or not record.connector:
                return
            name = record.connector
            runner = self._runners.get(name)
            if record.kind == "connector":
                config = self._state.config(name)
                if config is None and runner is not None:
                    runner.remove()
                    self._removed.append(self._runners.pop(name))
                elif config is not None and runner is None:
                    self._add_runner(name, config)
                elif config is not None and runner is not None:
                    runner.update_config(config)
            elif record.kind == "target-state" and runner is not None:
                runner.set_target(self._state.target(name))
            elif record.kind == "restart" and runner is not None and record.value is not None:
                runner.restart(only_failed=bool(record.value.get("only-failed")))

    def _add_runner(self, name: str, config: Mapping[str, str]) -> None:
        runner = ConnectorRunner(
            name=name,
            config=config,
            target=self._state.target(name),
            kafka=self.settings.kafka,
            settings=self.settings,
            publish=self._publish_status,
            publish_offset=self._publish_offset,
            read_configs_to_end=self._read_configs_to_end,
        )
        self._runners[name] = runner
        runner.start()

    def _read_configs_to_end(self) -> bool:
        return self._configs.catch_up(timeout_s=CATCH_UP_TIMEOUT_S)

    def _publish_status(self, report: StatusReport) -> None:
        worker_id = self.settings.worker_id
        self._statuses.write(
            status_key(report.connector),
            status_value(state=report.state, trace=report.trace, worker_id=worker_id, details=report.details),
            timeout_s=None,
        )
        self._statuses.write(
            task_status_key(report.connector),
            task_status_value(state=report.state, trace=report.trace, worker_id=worker_id),
            timeout_s=None,
        )

    def _publish_offset(self, config: ConnectorConfig, lsn: int, ts_usec: int | None) -> None:
        self._producer.produce(
            self.settings.offsets_topic,
            SourceOffset(Lsn(lsn), ts_usec=ts_usec).value(),
            offset_key(config.name, config.topic_prefix),
        )

    # --- reads for the API --------------------------------------------------------------------------------

    def names(self) -> list[str]:
        return self._state.names()

    def connector(self, name: str) -> ConnectorSnapshot:
        config = self._state.config(name)
        if config is None:
            raise ConnectorNotFoundError(f"Connector {name} not found")
        with self._lock:
            runner = self._runners.get(name)
        return ConnectorSnapshot(
            name=name,
            config=config,
            target=self._state.target(name),
            status=self._state.status(name),
            runner=runner.view() if runner is not None else None,
        )

    def runner_views(self) -> dict[str, RunnerView]:
        with self._lock:
            runners = dict(self._runners)
        return {name: runner.view() for name, runner in runners.items()}

    # --- writes for the API -------------------------------------------------------------------------------

    def _write_config(self, key: bytes, value: bytes | None) -> None:
        self._configs.write(key, value, timeout_s=self.settings.write_timeout_s)

    def _validate(self, name: str, config: Mapping[str, str]) -> ConnectorConfig:
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"connector name {name!r}: use 1-200 letters, digits, '.', '_' and '-', "
                "starting with a letter or digit"
            )
        if config.get("name", name) != name:
            raise ConfigError(
                f"name={config['name']!r} in the config differs from the connector name {name!r}"
            )
        parsed = parse_stored({**config, "name": name})
        for other, other_config in self._state.configs().items():
            if other == name:
                continue
            try:
                theirs = parse_stored(other_config)
            except ConfigError:
                continue
            if theirs.slot_name == parsed.slot_name and _same_database(theirs, parsed):
                # A second connector on the same slot would stand by forever, waiting for the first.
                raise ConfigError(
                    f"slot.name={parsed.slot_name} is already used by connector {other} on the same "
                    "database: give each connector its own slot.name"
                )
        return parsed

    def create(self, name: str, config: Mapping[str, str]) -> dict[str, str]:
        stored = {**config, "name": name}
        self._validate(name, stored)
        if self._state.config(name) is not None:
            raise ConnectorExistsError(f"Connector {name} already exists")
        self._write_config(*connector_config_record(name, stored))
        return stored

    def put_config(self, name: str, config: Mapping[str, str]) -> tuple[bool, dict[str, str]]:
        """Create or replace; secrets sent back masked keep their stored values. True when created."""
        old = self._state.config(name)
        stored = {**config, "name": name}
        if old is not None:
            for key, value in config.items():
                if value == MASKED and key in old and mask_secrets({key: old[key]})[key] == MASKED:
                    stored[key] = old[key]
        self._validate(name, stored)
        self._write_config(*connector_config_record(name, stored))
        return old is None, stored

    def set_target(self, name: str, target: TargetState) -> None:
        self.connector(name)
        self._write_config(*target_state_record(name, target))

    def restart(self, name: str, *, only_failed: bool) -> None:
        self.connector(name)
        self._write_config(*restart_record(name, include_tasks=True, only_failed=only_failed))

    def delete(self, name: str) -> Teardown | None:
        """Delete the connector, then drop its slot and publication; None when its config was unusable."""
        config = self.connector(name).config
        # The config's tombstone first: the other way round, a paused connector reads "no target state", which
        # means started (as in Kafka Connect), before it reads its deletion, and may stream in between.
        self._write_config(*connector_config_record(name, None))
        self._write_config(*target_state_record(name, None))
        try:
            parsed = parse_stored(config)
        except ConfigError:
            parsed = None
        result = None
        if parsed is not None:
            shared = None
            for other, other_config in self._state.configs().items():
                try:
                    theirs = parse_stored(other_config)
                except ConfigError:
                    continue
                if theirs.publication_name == parsed.publication_name and _same_database(theirs, parsed):
                    shared = other
            try:
                result = tear_down(parsed, publication_shared_with=shared, timeout_s=TEARDOWN_TIMEOUT_S)
            except SourceError as err:
                # The connector is gone from the group either way (Kafka Connect answers 204 here); what is
                # left on PostgreSQL is said in the log and in the detailed answer the CLI asks for.
                log.error("connector %s deleted, but %s", name, err)
                result = Teardown(
                    slot=parsed.slot_name,
                    slot_dropped=False,
                    publication=parsed.publication_name,
                    publication_dropped=False,
                    publication_kept_because=None,
                    problem=str(err),
                )
            self._producer.produce(self.settings.offsets_topic, None, offset_key(name, parsed.topic_prefix))
        self._statuses.write(status_key(name), None, timeout_s=self.settings.write_timeout_s)
        self._statuses.write(task_status_key(name), None, timeout_s=self.settings.write_timeout_s)
        return result

    def existing_topics(self) -> set[str]:
        try:
            return set(self._admin.list_topics(timeout=10).topics)
        except Exception as err:
            raise SinkError(f"cannot list topics: {err}") from err

    @property
    def admin(self) -> AdminClient:
        return self._admin


def _same_database(a: ConnectorConfig, b: ConnectorConfig) -> bool:
    return (a.database.host, a.database.port, a.database.dbname) == (
        b.database.host,
        b.database.port,
        b.database.dbname,
    )


def connect_state_of(snapshot: ConnectorSnapshot) -> tuple[ConnectState, str, str | None, str | None]:
    """(Kafka Connect state, pgcdc state, worker id, trace) of a connector, from its latest status record."""
    status = snapshot.status
    if status is None:
        if snapshot.target is TargetState.PAUSED:
            return ConnectState.PAUSED, "paused", None, None
        return ConnectState.UNASSIGNED, "creating", None, None
    details = status.get("pgcdc") if isinstance(status.get("pgcdc"), dict) else {}
    assert isinstance(details, dict)
    try:
        state = ConnectState(str(status.get("state")))
    except ValueError:
        state = ConnectState.UNASSIGNED
    pgcdc_state = str(details.get("state") or ("paused" if state is ConnectState.PAUSED else "creating"))
    worker = status.get("worker_id")
    trace = status.get("trace")
    return state, pgcdc_state, str(worker) if worker else None, str(trace) if trace else None
