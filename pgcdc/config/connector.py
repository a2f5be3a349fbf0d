"""The validated connector configuration, and parse_config, which builds it from Debezium-style settings."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pgcdc.config.columns import ColumnRule, parse_column_rules, parse_key_columns
from pgcdc.config.database import DatabaseSettings, parse_database
from pgcdc.config.delivery import ErrorTolerance, parse_error_tolerance, parse_exactly_once
from pgcdc.config.keys import check_keys
from pgcdc.config.settings import DEBEZIUM_CONNECTOR_CLASS, SETTINGS
from pgcdc.config.signals import parse_signal_table
from pgcdc.config.values import (
    compile_patterns,
    parse_bool,
    parse_choice,
    parse_int,
    parse_topic_name,
    split_list,
)
from pgcdc.decode.modes import TypeModes
from pgcdc.errors import ConfigError

OPERATIONS = ("c", "u", "d", "t")


@dataclass(frozen=True, slots=True)
class ConnectorConfig:
    """A validated connector configuration."""

    name: str
    database: DatabaseSettings
    topic_prefix: str
    slot_name: str
    retained_wal_warn_bytes: int
    publication_name: str
    publication_autocreate_mode: str
    table_include: tuple[re.Pattern[str], ...]
    table_exclude: tuple[re.Pattern[str], ...]
    column_include: tuple[re.Pattern[str], ...]
    column_exclude: tuple[re.Pattern[str], ...]
    column_exclude_mode: str
    message_key_columns: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]
    message_prefix_include: tuple[re.Pattern[str], ...]
    message_prefix_exclude: tuple[re.Pattern[str], ...]
    tombstones_on_delete: bool
    skipped_operations: frozenset[str]
    snapshot_mode: str
    snapshot_max_threads: int
    snapshot_max_threads_multiplier: int
    snapshot_fetch_size: int
    snapshot_max_queue_bytes: int
    signal_table: tuple[str, str] | None
    """(schema, table) of the signal table when the source channel is enabled, else None."""
    incremental_chunk_size: int
    provide_transaction_metadata: bool
    transaction_topic_suffix: str
    extended_headers: bool
    heartbeat_interval_ms: int
    heartbeat_topic_prefix: str
    exactly_once: bool
    """exactly.once.support=required: records and offsets commit in Kafka transactions."""
    transaction_boundary: str
    transaction_interval_ms: int
    topic_partitions: int
    topic_replication_factor: int
    type_modes: TypeModes
    max_queue_size: int
    max_queue_bytes: int
    status_update_interval_ms: int
    errors: ErrorTolerance
    raw: Mapping[str, str] = field(repr=False)
    """The settings as given (secrets included): what the worker stores; mask before showing."""
    column_rules: tuple[ColumnRule, ...] = ()
    """column.truncate / column.mask settings, in the order Debezium applies the first that matches."""

    @property
    def transaction_topic(self) -> str:
        return f"{self.topic_prefix}.{self.transaction_topic_suffix}"

    @property
    def heartbeat_topic(self) -> str:
        return f"{self.heartbeat_topic_prefix}.{self.topic_prefix}"

    def table_topic(self, schema: str, table: str) -> str:
        return f"{self.topic_prefix}.{schema}.{table}"

    def captures_table(self, schema: str, table: str) -> bool:
        qualified = f"{schema}.{table}"
        if self.table_include and not any(p.fullmatch(qualified) for p in self.table_include):
            return False
        return not any(p.fullmatch(qualified) for p in self.table_exclude)

    def captures_column(self, schema: str, table: str, column: str) -> bool:
        qualified = f"{schema}.{table}.{column}"
        if self.column_include and not any(p.fullmatch(qualified) for p in self.column_include):
            return False
        return not any(p.fullmatch(qualified) for p in self.column_exclude)

    def is_signal_table(self, schema: str, table: str) -> bool:
        return self.signal_table == (schema, table)

    def captures_message(self, prefix: str) -> bool:
        if self.message_prefix_include and not any(p.fullmatch(prefix) for p in self.message_prefix_include):
            return False
        return not any(p.fullmatch(prefix) for p in self.message_prefix_exclude)

    def column_rules_for(self, schema: str, table: str, column: str) -> tuple[ColumnRule, ...]:
        """The truncate and mask rules matching a column in Debezium's order: only the first applies."""
        qualified = f"{schema}.{table}.{column}"
        return tuple(r for r in self.column_rules if any(p.fullmatch(qualified) for p in r.patterns))

    def key_columns_for(self, schema: str, table: str) -> tuple[str, ...] | None:
        """The ``message.key.columns`` override for a table, or None to use its primary key."""
        qualified = f"{schema}.{table}"
        for pattern, columns in self.message_key_columns:
            if pattern.fullmatch(qualified):
                return columns
        return None


def parse_config(raw_in: Mapping[str, Any], *, env: Mapping[str, str] | None = None) -> ConnectorConfig:
    """Validate Debezium-style settings; raises ConfigError naming the first bad key."""
    env = os.environ if env is None else env
    raw = {
        str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in raw_in.items()
    }
    check_keys(raw)

    def get(key: str) -> str:
        value = raw.get(key)
        if value is None or value == "":
            default = next(s.default for s in SETTINGS if s.key == key)
            return default or ""
        return value

    connector_class = get("connector.class")
    if connector_class not in (DEBEZIUM_CONNECTOR_CLASS, "PostgresConnector", "pgcdc"):
        raise ConfigError(f"connector.class={connector_class}: only {DEBEZIUM_CONNECTOR_CLASS} is provided")
    prefix = get("topic.prefix") or raw.get("database.server.name", "")
    if not prefix:
        raise ConfigError("topic.prefix is required: it starts every topic name (e.g. topic.prefix=demo)")
    parse_topic_name("topic.prefix", prefix)
    name = get("name") or prefix
    parse_choice("plugin.name", get("plugin.name"), ("pgoutput",))
    for key in ("slot.name",):
        if not re.fullmatch(r"[a-z0-9_]{1,63}", get(key)):
            raise ConfigError(f"{key}={get(key)!r}: use 1-63 lower-case letters, digits and underscores")
    publication = get("publication.name")
    if not publication or len(publication) > 63:
        raise ConfigError("publication.name must be 1-63 characters")
    skipped_text = get("skipped.operations").strip().lower()
    skipped = frozenset() if skipped_text == "none" else frozenset(split_list(skipped_text))
    unknown_ops = skipped - set(OPERATIONS)
    if unknown_ops:
        raise ConfigError(
            f"skipped.operations: unknown {', '.join(sorted(unknown_ops))}; use c, u, d, t or none"
        )
    snapshot_mode = parse_choice(
        "snapshot.mode",
        get("snapshot.mode"),
        ("initial", "no_data", "never", "always", "initial_only", "when_needed"),
    )
    modes = TypeModes(
        decimal_handling_mode=parse_choice(  # type: ignore[arg-type]
            "decimal.handling.mode", get("decimal.handling.mode"), ("precise", "double", "string")
        ),
        time_precision_mode=parse_choice(  # type: ignore[arg-type]
            "time.precision.mode",
            get("time.precision.mode"),
            ("adaptive", "adaptive_time_microseconds", "connect", "isostring", "microseconds", "nanoseconds"),
        ),
        binary_handling_mode=parse_choice(  # type: ignore[arg-type]
            "binary.handling.mode", get("binary.handling.mode"), ("bytes", "base64", "base64-url-safe", "hex")
        ),
        interval_handling_mode=parse_choice(  # type: ignore[arg-type]
            "interval.handling.mode", get("interval.handling.mode"), ("numeric", "string")
        ),
        hstore_handling_mode=parse_choice(  # type: ignore[arg-type]
            "hstore.handling.mode", get("hstore.handling.mode"), ("json", "map")
        ),
        money_fraction_digits=parse_int("money.fraction.digits", get("money.fraction.digits"), minimum=0),
        include_unknown_datatypes=parse_bool("include.unknown.datatypes", get("include.unknown.datatypes")),
    )
    signal_table = parse_signal_table(raw.get("signal.data.collection"), get("signal.enabled.channels"))
    return ConnectorConfig(
        name=name,
        database=parse_database(raw, env),
        topic_prefix=prefix,
        slot_name=get("slot.name"),
        retained_wal_warn_bytes=parse_int(
            "slot.retained.wal.warn.bytes", get("slot.retained.wal.warn.bytes"), minimum=0
        ),
        publication_name=publication,
        publication_autocreate_mode=parse_choice(
            "publication.autocreate.mode",
            get("publication.autocreate.mode"),
            ("filtered", "all_tables", "disabled"),
        ),
        table_include=compile_patterns("table.include.list", raw.get("table.include.list")),
        table_exclude=compile_patterns("table.exclude.list", raw.get("table.exclude.list")),
        column_include=compile_patterns("column.include.list", raw.get("column.include.list")),
        column_exclude=compile_patterns("column.exclude.list", raw.get("column.exclude.list")),
        column_exclude_mode=parse_choice(
            "column.exclude.mode", get("column.exclude.mode"), ("client", "publication")
        ),
        message_key_columns=parse_key_columns(raw.get("message.key.columns")),
        message_prefix_include=compile_patterns(
            "message.prefix.include.list", raw.get("message.prefix.include.list")
        ),
        message_prefix_exclude=compile_patterns(
            "message.prefix.exclude.list", raw.get("message.prefix.exclude.list")
        ),
        tombstones_on_delete=parse_bool("tombstones.on.delete", get("tombstones.on.delete")),
        skipped_operations=skipped,
        snapshot_mode="no_data" if snapshot_mode == "never" else snapshot_mode,
        snapshot_max_threads=parse_int("snapshot.max.threads", get("snapshot.max.threads"), minimum=1),
        snapshot_max_threads_multiplier=parse_int(
            "snapshot.max.threads.multiplier", get("snapshot.max.threads.multiplier"), minimum=1
        ),
        snapshot_fetch_size=parse_int("snapshot.fetch.size", get("snapshot.fetch.size"), minimum=1),
        snapshot_max_queue_bytes=parse_int(
            "snapshot.max.queue.size.in.bytes", get("snapshot.max.queue.size.in.bytes"), minimum=1024
        ),
        signal_table=signal_table,
        incremental_chunk_size=parse_int(
            "incremental.snapshot.chunk.size", get("incremental.snapshot.chunk.size"), minimum=1
        ),
        provide_transaction_metadata=parse_bool(
            "provide.transaction.metadata", get("provide.transaction.metadata")
        ),
        transaction_topic_suffix=parse_topic_name("topic.transaction", get("topic.transaction")),
        extended_headers=parse_bool("extended.headers.enabled", get("extended.headers.enabled")),
        heartbeat_interval_ms=parse_int("heartbeat.interval.ms", get("heartbeat.interval.ms"), minimum=0),
        heartbeat_topic_prefix=get("topic.heartbeat.prefix"),
        **parse_exactly_once(get, signals=signal_table is not None),
        topic_partitions=parse_int(
            "topic.creation.default.partitions", get("topic.creation.default.partitions"), minimum=1
        ),
        topic_replication_factor=parse_int(
            "topic.creation.default.replication.factor",
            get("topic.creation.default.replication.factor"),
            minimum=-1,
        ),
        type_modes=modes,
        max_queue_size=parse_int("max.queue.size", get("max.queue.size"), minimum=1),
        max_queue_bytes=parse_int("max.queue.size.in.bytes", get("max.queue.size.in.bytes"), minimum=1024),
        status_update_interval_ms=parse_int(
            "status.update.interval.ms", get("status.update.interval.ms"), minimum=100
        ),
        errors=parse_error_tolerance(get),
        raw=raw,
        column_rules=parse_column_rules(raw),
    )
