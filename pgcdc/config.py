"""Typed connector settings under Debezium's property names, parsed and validated before anything starts."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import orjson

from pgcdc.decode.modes import TypeModes
from pgcdc.errors import ConfigError

DEBEZIUM_CONNECTOR_CLASS = "io.debezium.connector.postgresql.PostgresConnector"
JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"
HEADER_CONVERTER = "org.apache.kafka.connect.storage.SimpleHeaderConverter"
OPERATIONS = ("c", "u", "d", "t")


@dataclass(frozen=True, slots=True)
class Setting:
    """One configuration key: its default (as Debezium spells it), unit and why it exists."""

    key: str
    default: str | None
    doc: str


# Every key pgcdc acts on. The docs page and `pgcdc run --help-settings` are generated from this table,
# and a test fails when one of them is missing from docs/configuration.md.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "name",
        None,
        "Connector name; also names the Kafka Connect offsets. From the JSON envelope if absent.",
    ),
    Setting(
        "connector.class",
        DEBEZIUM_CONNECTOR_CLASS,
        "Must be Debezium's PostgresConnector class (accepted as is).",
    ),
    Setting("database.hostname", "localhost", "PostgreSQL host."),
    Setting("database.port", "5432", "PostgreSQL port."),
    Setting("database.user", None, "Role with REPLICATION and SELECT on the captured tables."),
    Setting("database.password", None, "Password of database.user; never logged or returned."),
    Setting("database.dbname", None, "Database to capture."),
    Setting(
        "database.sslmode",
        "prefer",
        "libpq sslmode: disable, allow, prefer, require, verify-ca, verify-full.",
    ),
    Setting(
        "database.sslrootcert",
        None,
        "File of the CA certificate(s) that verify the server (libpq sslrootcert; PEM); with "
        "sslmode=verify-ca or verify-full; system: the operating system's CAs. Unset: libpq's $PGSSLROOTCERT "
        "or ~/.postgresql/root.crt.",
    ),
    Setting(
        "database.sslcert",
        None,
        "File of the client certificate (libpq sslcert; PEM), for certificate authentication.",
    ),
    Setting("database.sslkey", None, "File of the client certificate's private key (libpq sslkey; PEM)."),
    Setting(
        "database.sslpassword",
        None,
        "Password of an encrypted database.sslkey (libpq sslpassword); a secret, never logged or returned.",
    ),
    Setting(
        "database.url", None, "postgres:// URL instead of the five database.* keys (also $DATABASE_URL)."
    ),
    Setting("topic.prefix", None, "Required. Topic names start with it: <prefix>.<schema>.<table>."),
    Setting(
        "plugin.name",
        "pgoutput",
        "Logical decoding plugin; pgoutput is the only one (built into PostgreSQL 10+).",
    ),
    Setting("slot.name", "debezium", "Replication slot; one connector per slot."),
    Setting(
        "slot.retained.wal.warn.bytes",
        "1073741824",
        "pgcdc's own key. Bytes of WAL the slot may hold on the server (pg_current_wal_lsn() - "
        "confirmed_flush_lsn) before pgcdc warns: a log line when it crosses, a warning in the status and "
        "connectors info, and pgcdc_connector_wal_retained_over_threshold=1. A paused or failing connector's "
        "slot keeps all WAL until the disk fills; 0 turns the warning off. Default 1 GiB. Measured by workers.",
    ),
    Setting("publication.name", "dbz_publication", "Publication the slot streams."),
    Setting(
        "publication.autocreate.mode",
        "filtered",
        "filtered: publication of exactly the captured tables and columns (excluded columns never leave the "
        "server); all_tables: FOR ALL TABLES; disabled: must already exist. Debezium defaults to all_tables; "
        "pgcdc to filtered, so excluded columns are not sent over the wire.",
    ),
    Setting("table.include.list", None, "Comma-separated regular expressions matched against schema.table."),
    Setting("table.exclude.list", None, "Comma-separated regular expressions of schema.table to leave out."),
    Setting(
        "column.include.list", None, "Comma-separated regular expressions of schema.table.column to keep."
    ),
    Setting(
        "column.exclude.list",
        None,
        "Comma-separated regular expressions of schema.table.column to leave out.",
    ),
    Setting(
        "column.exclude.mode",
        "client",
        "pgcdc's own key. client: excluded columns are dropped by pgcdc (as Debezium does), so the table may "
        "use any replica identity. publication: left out of the publication's column list (PostgreSQL 15+), so "
        "their values never leave the server; PostgreSQL then rejects UPDATE/DELETE on a table switched to "
        "REPLICA IDENTITY FULL, so pgcdc refuses such tables at start.",
    ),
    Setting(
        "column.truncate.to.<N>.chars",
        None,
        "Comma-separated regular expressions of schema.table.column whose string values longer than N "
        "characters (UTF-16 units, as Java counts) are cut to N, and bytes values to N bytes; N from 1.",
    ),
    Setting(
        "column.mask.with.<N>.chars",
        None,
        "Comma-separated regular expressions of schema.table.column whose values (NULL too) become N asterisks; "
        "character columns only (text, varchar, char, name, enums and their domains).",
    ),
    Setting(
        "column.mask.hash.<algorithm>.with.salt.<salt>",
        None,
        "Columns whose values become the lower-case hex digest (MD5, SHA-1, SHA-256, SHA-512...) of the salt "
        "followed by the value's Java serialization, cut to the column's declared length; character columns only.",
    ),
    Setting(
        "column.mask.hash.v2.<algorithm>.with.salt.<salt>",
        None,
        "As column.mask.hash, but hashing the salt followed by the value's UTF-8 bytes: the same digest as "
        "sha256(salt || value) computed anywhere else.",
    ),
    Setting(
        "message.key.columns",
        None,
        "Key columns for tables without a usable primary key: <table regex>:<col>,<col>;<table regex>:<col>.",
    ),
    Setting(
        "message.prefix.include.list",
        None,
        "Comma-separated regular expressions of pg_logical_emit_message prefixes to emit (all when unset).",
    ),
    Setting(
        "message.prefix.exclude.list",
        None,
        "Comma-separated regular expressions of message prefixes to leave out.",
    ),
    Setting(
        "tombstones.on.delete", "true", "Write a null-valued record after each delete, for log compaction."
    ),
    Setting(
        "skipped.operations", "t", "Operations not emitted: c, u, d, t, or none. Debezium skips truncate."
    ),
    Setting(
        "snapshot.mode",
        "initial",
        "initial: copy the captured tables' rows (op r) when the slot is created, then stream; no_data (alias "
        "never): stream only; always: copy at every start; initial_only: copy, then stop; when_needed: copy "
        "when the slot is missing or cannot resume.",
    ),
    Setting(
        "snapshot.max.threads",
        "2",
        "Worker processes copying a snapshot's chunks in parallel, each with its own connection importing the "
        "slot's exported snapshot and its own producer (count). Processes, not threads: converting rows to JSON "
        "holds Python's GIL. 1 copies every table in the connector's own process, one after another; Debezium "
        "defaults to 1, pgcdc to 2, the cores of a small machine.",
    ),
    Setting(
        "snapshot.max.threads.multiplier",
        "4",
        "A table is split into at most snapshot.max.threads x this many chunks (ranges of pages, so no index is "
        "needed; PostgreSQL 14+, older servers copy a table as one chunk), each of at least snapshot.fetch.size "
        "rows by the planner's estimate (count). Debezium defaults to 1; more chunks than workers keep every "
        "worker busy when one of them is slowed.",
    ),
    Setting(
        "snapshot.fetch.size",
        "10000",
        "Rows a snapshot worker copies between two progress reports and stop checks; also the smallest chunk "
        "worth splitting a table for (count).",
    ),
    Setting(
        "signal.data.collection",
        None,
        "schema.table of Debezium's signal table (columns id, type, data): rows inserted there run ad-hoc "
        "incremental snapshots (execute-snapshot, stop-snapshot). pgcdc adds it to the publication and writes "
        "its rows to its topic as Debezium does.",
    ),
    Setting(
        "signal.enabled.channels",
        "source",
        "Where signals are read from; source (the signal table) is the only channel pgcdc provides.",
    ),
    Setting(
        "incremental.snapshot.chunk.size",
        "1024",
        "Rows an incremental snapshot reads per chunk, by primary key, between two watermarks (count); "
        "the stream waits while a chunk is read.",
    ),
    Setting(
        "provide.transaction.metadata",
        "false",
        "true: BEGIN and END records of every transaction on <topic.prefix>.<topic.transaction>, and a "
        "transaction block (id, total_order, data_collection_order) in each change event.",
    ),
    Setting("topic.transaction", "transaction", "Transaction metadata goes to <topic.prefix>.<this>."),
    Setting(
        "extended.headers.enabled",
        "true",
        "true: every row record (snapshot, stream, tombstone) carries Debezium 3's context headers "
        "__debezium.context.connectorLogicalName (topic.prefix), taskId (0), connectorName (postgresql) and "
        "runId (a new UUID each time the connector starts); false: none of them.",
    ),
    Setting("heartbeat.interval.ms", "0", "Milliseconds between heartbeat records; 0 turns heartbeats off."),
    Setting("topic.heartbeat.prefix", "__debezium-heartbeat", "Heartbeats go to <this>.<topic.prefix>."),
    Setting("topic.creation.default.partitions", "1", "Partitions of topics pgcdc creates."),
    Setting(
        "topic.creation.default.replication.factor",
        "-1",
        "Replication factor of topics pgcdc creates; -1 takes the broker's default.",
    ),
    Setting("decimal.handling.mode", "precise", "numeric as precise (Connect Decimal), double or string."),
    Setting("time.precision.mode", "adaptive", "How time and timestamp columns are represented."),
    Setting(
        "binary.handling.mode", "bytes", "bytea as bytes (base64 in JSON), base64, base64-url-safe or hex."
    ),
    Setting(
        "interval.handling.mode",
        "numeric",
        "interval as numeric (MicroDuration: micros, a month counted as 30.4375 days) or string (ISO 8601).",
    ),
    Setting("hstore.handling.mode", "json", "hstore as json (a JSON object in a string) or map."),
    Setting(
        "money.fraction.digits",
        "2",
        "Digits after the point of money in decimal.handling.mode=precise (count).",
    ),
    Setting(
        "include.unknown.datatypes",
        "false",
        "true: columns of types Debezium does not map (tsquery, box, composite types...) are written as their "
        "text's bytes, encoded by binary.handling.mode; false: such columns are left out, with a warning.",
    ),
    Setting("max.queue.size", "8192", "Events buffered between the stream reader and the producer (count)."),
    Setting(
        "max.queue.size.in.bytes",
        "33554432",
        "Bytes of serialized events the producer may hold unacknowledged; a full buffer pauses reading.",
    ),
    Setting("status.update.interval.ms", "10000", "Milliseconds between position reports to PostgreSQL."),
    Setting(
        "errors.tolerance",
        "none",
        "Kafka Connect's key, applied to records Kafka refuses as too large (over message.max.bytes). none: "
        "the connector stops without confirming the record's position (fix the limit and restart); all: "
        "the record is logged (table, key, size, limit) and dropped, or sent to "
        "errors.deadletterqueue.topic.name, and the connector goes on past it. Other Kafka errors are never "
        "tolerated.",
    ),
    Setting(
        "errors.deadletterqueue.topic.name",
        None,
        "With errors.tolerance=all: topic that gets, for each record refused as too large, its key and a "
        "small JSON error record (topic, table, op, lsn, size, limit) in place of the value. Kafka Connect "
        "uses this key for sink connectors only. Unset: such records are only logged.",
    ),
    Setting(
        "errors.deadletterqueue.context.headers.enable",
        "false",
        "true: dead-letter records also carry Kafka Connect's __connect.errors.* headers (topic, "
        "connector.name, task.id, stage, class.name, exception.class.name, exception.message).",
    ),
    Setting(
        "exactly.once.support",
        "requested",
        "Kafka Connect's key. required: exactly-once mode: each batch of records and the offset that covers it "
        "are written in one Kafka transaction (transactional.id <group>-<name>-0, offsets in "
        "connect-offsets-<group>; pgcdc run uses the group pgcdc-run), and a restart resumes from the offset "
        "of the last committed transaction, so read_committed consumers see each change once. requested: "
        "at-least-once (pgcdc has no worker-wide exactly.once.source.support switch).",
    ),
    Setting(
        "transaction.boundary",
        "poll",
        "With exactly.once.support=required, when a Kafka transaction commits, always at the end of a "
        "PostgreSQL transaction: poll: once the replication stream has nothing more waiting or after "
        "max.batch.size (2048) changes; interval: every transaction.boundary.interval.ms. connector is refused: "
        "Debezium's connector defines no boundaries.",
    ),
    Setting(
        "transaction.boundary.interval.ms",
        "60000",
        "Milliseconds between Kafka transaction commits with transaction.boundary=interval (Kafka Connect "
        "takes the worker's offset.flush.interval.ms, 60000). Longer means fewer, larger transactions and "
        "consumers with read_committed see changes that much later. No effect with other boundaries, as in "
        "Kafka Connect.",
    ),
)

_KNOWN = {s.key for s in SETTINGS}

# Kafka Connect's own keys and Debezium keys that change nothing pgcdc writes: accepted so that an existing
# connector config works unchanged.
_ACCEPTED_WITHOUT_EFFECT = re.compile(
    r"tasks\.max|key\.converter|value\.converter|header\.converter"
    r"|(key|value)\.converter\.schemas\.enable|errors\..*|config\.action\.reload"
    r"|topic\.creation\.(groups|default\.(?!partitions$|replication\.factor$)[\w.]+)"
    r"|database\.server\.name|database\.tcpKeepAlive|poll\.interval\.ms|max\.batch\.size"
    r"|include\.schema\.changes|slot\.drop\.on\.stop"
)

# Keys that would change what is written and are not implemented: refusing beats silently differing.
_NOT_SUPPORTED = re.compile(r"transforms(\..*)?|predicates(\..*)?")

# Debezium's column mapper keys, whose name carries a parameter (ColumnMappers.create's patterns).
_COLUMN_RULE = re.compile(r"column\.(mask|truncate)\..*")
_TRUNCATE_KEY = re.compile(r"column\.truncate\.to\.(\d+)\.chars")
_MASK_KEY = re.compile(r"column\.mask\.with\.(\d+)\.chars")
_HASH_KEY = re.compile(r"column\.mask\.hash\.([^.]+)\.with\.salt\.(.+)")
_HASH_V2_KEY = re.compile(r"column\.mask\.hash\.v2\.([^.]+)\.with\.salt\.(.+)")
_COLUMN_RULE_FORMS = (
    "column.truncate.to.<N>.chars, column.mask.with.<N>.chars, "
    "column.mask.hash.<algorithm>.with.salt.<salt> or column.mask.hash.v2.<algorithm>.with.salt.<salt>"
)
# Java's MessageDigest names (and the SUN provider's aliases; Java matches them ignoring case) -> hashlib's.
_HASH_ALGORITHMS = {
    "MD5": "md5",
    **dict.fromkeys(("SHA-1", "SHA1", "SHA"), "sha1"),
    **dict.fromkeys(("SHA-224", "SHA224"), "sha224"),
    **dict.fromkeys(("SHA-256", "SHA256"), "sha256"),
    **dict.fromkeys(("SHA-384", "SHA384"), "sha384"),
    **dict.fromkeys(("SHA-512", "SHA512"), "sha512"),
    **dict.fromkeys(("SHA-512/224", "SHA512/224"), "sha512_224"),
    **dict.fromkeys(("SHA-512/256", "SHA512/256"), "sha512_256"),
    **{f"SHA3-{bits}": f"sha3_{bits}" for bits in (224, 256, 384, 512)},
}


def _parse_bool(key: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ConfigError(f"{key}={text!r} is not a boolean: use true or false")


def _parse_int(key: str, text: str, *, minimum: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ConfigError(f"{key}={text!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{key}={value} is below its minimum of {minimum}")
    return value


def _parse_choice(key: str, text: str, choices: tuple[str, ...]) -> str:
    value = text.strip().lower()
    if value not in choices:
        raise ConfigError(f"{key}={text!r} is not one of: {', '.join(choices)}")
    return value


def _topic_name(key: str, text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._-]+", text):
        raise ConfigError(f"{key}={text!r} may contain only letters, digits, '.', '_' and '-'")
    return text


def _split_list(text: str | None) -> tuple[str, ...]:
    # Debezium splits on commas that are not escaped with a backslash.
    if not text:
        return ()
    parts = re.split(r"(?<!\\),", text)
    return tuple(p.strip().replace("\\,", ",") for p in parts if p.strip())


def _compile_patterns(key: str, text: str | None) -> tuple[re.Pattern[str], ...]:
    patterns = []
    for item in _split_list(text):
        try:
            patterns.append(re.compile(item))
        except re.error as err:
            raise ConfigError(f"{key}: {item!r} is not a valid regular expression ({err})") from None
    return tuple(patterns)


@dataclass(frozen=True, slots=True)
class ColumnRule:
    """One ``column.truncate.*`` / ``column.mask.*`` setting: what it does to the columns its patterns match."""

    key: str
    kind: Literal["truncate", "mask", "hash", "hash_v2"]
    patterns: tuple[re.Pattern[str], ...]
    """Matched (whole, ignoring case, as Debezium does) against ``schema.table.column``."""
    length: int = 0
    """truncate: the most characters kept; mask: the number of asterisks."""
    algorithm: str = ""
    """hash: the hashlib name of the MessageDigest algorithm."""
    salt: bytes = b""


def setting_for(key: str) -> Setting | None:
    """The documented setting a key is, including the column rule a key like column.mask.with.8.chars is."""
    for setting in SETTINGS:
        if setting.key == key:
            return setting
    forms = {
        _TRUNCATE_KEY: "column.truncate.to.<N>.chars",
        _MASK_KEY: "column.mask.with.<N>.chars",
        _HASH_V2_KEY: "column.mask.hash.v2.<algorithm>.with.salt.<salt>",
        _HASH_KEY: "column.mask.hash.<algorithm>.with.salt.<salt>",
    }
    form = next((name for pattern, name in forms.items() if pattern.fullmatch(key)), None)
    return next((s for s in SETTINGS if s.key == form), None)


def _parse_column_rules(raw: Mapping[str, str]) -> tuple[ColumnRule, ...]:
    """The column rules in the order Debezium tries them; the first rule matching a column is its only one."""
    by_kind: dict[str, list[ColumnRule]] = {"truncate": [], "mask": [], "hash": [], "hash_v2": []}
    for key, value in raw.items():
        if not _COLUMN_RULE.fullmatch(key):
            continue
        rule = _column_rule(key, value)
        by_kind[rule.kind].append(rule)
    return tuple(rule for rules in by_kind.values() for rule in rules)


def _column_rule(key: str, value: str) -> ColumnRule:
    patterns = tuple(re.compile(p.pattern, re.IGNORECASE) for p in _compile_patterns(key, value))
    if not patterns:
        raise ConfigError(
            f"{key} lists no columns: set it to comma-separated schema.table.column regular expressions"
        )
    for kind, form in (("truncate", _TRUNCATE_KEY), ("mask", _MASK_KEY)):
        match = form.fullmatch(key)
        if match:
            count = int(match.group(1))
            if not 1 <= count <= 2**31 - 1:
                example = "column.truncate.to.20.chars" if kind == "truncate" else "column.mask.with.8.chars"
                raise ConfigError(
                    f"{key}: the number of characters must be a whole number from 1 to 2147483647 "
                    f"(e.g. {example})"
                )
            return ColumnRule(key, kind, patterns, length=count)  # type: ignore[arg-type]
    for kind, form in (("hash_v2", _HASH_V2_KEY), ("hash", _HASH_KEY)):
        match = form.fullmatch(key)
        if match:
            algorithm = _HASH_ALGORITHMS.get(match.group(1).upper())
            if algorithm is None or algorithm not in hashlib.algorithms_available:
                names = ", ".join(n for n in _HASH_ALGORITHMS if "-" in n or n == "MD5")
                raise ConfigError(
                    f"{key}: {match.group(1)!r} is not a hash algorithm pgcdc can compute: use one of "
                    f"Java's MessageDigest names {names} (e.g. column.mask.hash.SHA-256.with.salt.<salt>)"
                )
            salt = match.group(2).encode()  # Java's String.getBytes(), UTF-8 by default
            return ColumnRule(key, kind, patterns, algorithm=algorithm, salt=salt)  # type: ignore[arg-type]
    raise ConfigError(f"{key} is not a column rule pgcdc knows: write {_COLUMN_RULE_FORMS}")


def _parse_key_columns(text: str | None) -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    if not text:
        return ()
    rules = []
    for entry in (e.strip() for e in text.split(";") if e.strip()):
        table, sep, columns = entry.rpartition(":")
        names = tuple(c.strip() for c in columns.split(",") if c.strip())
        if not sep or not table or not names:
            raise ConfigError(
                f"message.key.columns: {entry!r} is not <table regex>:<column>[,<column>...] "
                "(example: public.orders:order_no,line)"
            )
        rules.append((_compile_patterns("message.key.columns", table)[0], names))
    return tuple(rules)


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """Where and as whom to connect; ``conninfo`` holds the password, so it is never printed."""

    host: str
    port: int
    user: str
    password: str | None = field(repr=False)
    dbname: str
    sslmode: str
    sslrootcert: str | None = None
    sslcert: str | None = None
    sslkey: str | None = None
    sslpassword: str | None = field(default=None, repr=False)

    def conninfo(self, **extra: str) -> str:
        from psycopg.conninfo import make_conninfo

        params: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": self.dbname,
            "sslmode": self.sslmode,
            "application_name": "pgcdc",
        }
        if self.password is not None:
            params["password"] = self.password
        for name in _TLS_PARAMETERS:
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        params.update(extra)
        return make_conninfo("", **params)

    def describe(self) -> str:
        """Where we connect, safe to print: no password."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"


@dataclass(frozen=True, slots=True)
class ErrorTolerance:
    """Kafka Connect's ``errors.*`` as pgcdc applies them: to records Kafka refuses as too large."""

    tolerate: bool
    """errors.tolerance=all: log and drop (or dead-letter) such a record instead of stopping."""
    dead_letter_topic: str | None
    context_headers: bool


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


# libpq's TLS parameters that Debezium exposes as database.<name>; all but sslpassword name files.
_TLS_PARAMETERS = ("sslrootcert", "sslcert", "sslkey", "sslpassword")
_TLS_FILES = ("sslrootcert", "sslcert", "sslkey")


def _check_readable(key: str, path: str) -> str:
    """The path of a file libpq will read; a missing or unreadable one is named now, not as a TLS failure."""
    try:
        with open(path, "rb"):
            pass
    except OSError as err:
        raise ConfigError(
            f"{key}={path}: cannot read the file ({err.strerror}): fix the path or the file's permissions "
            "(it is read by the process that connects to PostgreSQL)"
        ) from None
    return path


SECRET_KEY = re.compile(r"(password|secret|token|credential|\.key$|sasl\.jaas\.config|database\.url$)", re.I)


def mask_secrets(raw: Mapping[str, str]) -> dict[str, str]:
    """The settings with every secret value replaced, for APIs, logs and CLI output."""
    masked = {}
    for key, value in raw.items():
        if SECRET_KEY.search(key):
            masked[key] = "********"
        else:
            masked[key] = value
    return masked


def _database_settings(raw: Mapping[str, str], env: Mapping[str, str]) -> DatabaseSettings:
    url = raw.get("database.url") or (None if "database.hostname" in raw else env.get("DATABASE_URL"))
    values = {s.key: s.default for s in SETTINGS if s.key.startswith("database.")}
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql"):
            raise ConfigError("database.url must start with postgres:// or postgresql://")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError("database.url has an invalid port") from None
        values.update(
            {
                "database.hostname": parts.hostname or "localhost",
                "database.port": str(port or 5432),
                "database.user": unquote(parts.username) if parts.username else None,
                "database.password": unquote(parts.password) if parts.password else None,
                "database.dbname": unquote(parts.path.lstrip("/")) or None,
            }
        )
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        for name in ("sslmode", *_TLS_PARAMETERS):
            if name in query:
                values[f"database.{name}"] = unquote(query[name])
    values.update({k: v for k, v in raw.items() if k.startswith("database.") and k != "database.url"})
    missing = [k for k in ("database.user", "database.dbname") if not values.get(k)]
    if missing:
        raise ConfigError(f"missing {' and '.join(missing)}: set them, or database.url / $DATABASE_URL")
    sslmode = _parse_choice(
        "database.sslmode",
        values["database.sslmode"] or "prefer",
        ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    )
    tls = {name: values.get(f"database.{name}") or None for name in _TLS_PARAMETERS}
    for name in _TLS_FILES:
        # sslrootcert=system is libpq's (16+) word for the operating system's trusted CAs, not a file.
        if tls[name] is not None and not (name == "sslrootcert" and tls[name] == "system"):
            _check_readable(f"database.{name}", tls[name] or "")
    return DatabaseSettings(
        host=values["database.hostname"] or "localhost",
        port=_parse_int("database.port", values["database.port"] or "5432", minimum=1),
        user=values["database.user"] or "",
        password=values.get("database.password"),
        dbname=values["database.dbname"] or "",
        sslmode=sslmode,
        **tls,
    )


SIGNAL_CHANNELS = ("source", "kafka", "file", "jmx")


def _signal_table(collection: str | None, channels_text: str) -> tuple[str, str] | None:
    """The signal table, when signals are read from it; refuses channels pgcdc does not provide."""
    channels = {c.lower() for c in _split_list(channels_text)}
    unknown = channels - set(SIGNAL_CHANNELS)
    if unknown:
        raise ConfigError(
            f"signal.enabled.channels: unknown {', '.join(sorted(unknown))}; Debezium's channels are "
            f"{', '.join(SIGNAL_CHANNELS)}"
        )
    missing = sorted(channels - {"source"})
    if missing:
        raise ConfigError(
            f"signal.enabled.channels: {', '.join(missing)} is not provided by pgcdc yet: use source (the "
            "signal table named by signal.data.collection)"
        )
    if not collection or "source" not in channels:
        return None
    schema, dot, table = collection.strip().partition(".")
    if not dot or not schema or not table or "." in table:
        raise ConfigError(
            f"signal.data.collection={collection!r} is not schema.table (example: public.debezium_signal)"
        )
    return schema, table


def _check_keys(raw: Mapping[str, str]) -> None:
    for key in raw:
        if key in _KNOWN or _ACCEPTED_WITHOUT_EFFECT.fullmatch(key) or _COLUMN_RULE.fullmatch(key):
            continue
        if _NOT_SUPPORTED.fullmatch(key):
            raise ConfigError(f"{key} is not supported by pgcdc yet: remove it from the connector config")
        hint = difflib.get_close_matches(key, _KNOWN, n=1)
        suggestion = f" (did you mean {hint[0]}?)" if hint else ""
        raise ConfigError(f"unknown setting {key}{suggestion}: remove it or fix its name")
    for side in ("key", "value"):
        converter = raw.get(f"{side}.converter")
        if converter is not None and converter != JSON_CONVERTER:
            raise ConfigError(f"{side}.converter={converter}: pgcdc writes {JSON_CONVERTER} records only")
        schemas = raw.get(f"{side}.converter.schemas.enable")
        if schemas is not None and not _parse_bool(f"{side}.converter.schemas.enable", schemas):
            raise ConfigError(f"{side}.converter.schemas.enable=false is not supported: pgcdc writes schemas")
    # Every row record has headers (extended.headers.enabled): another converter would write other bytes.
    header = raw.get("header.converter")
    if header is not None and header.strip() != HEADER_CONVERTER:
        raise ConfigError(
            f"header.converter={header}: pgcdc writes headers as {HEADER_CONVERTER} does (Kafka Connect's "
            "default); remove the setting or set it to that"
        )


def parse_config(raw_in: Mapping[str, Any], *, env: Mapping[str, str] | None = None) -> ConnectorConfig:
    """Validate Debezium-style settings; raises ConfigError naming the first bad key."""
    env = os.environ if env is None else env
    raw = {
        str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in raw_in.items()
    }
    _check_keys(raw)

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
    _topic_name("topic.prefix", prefix)
    name = get("name") or prefix
    _parse_choice("plugin.name", get("plugin.name"), ("pgoutput",))
    for key in ("slot.name",):
        if not re.fullmatch(r"[a-z0-9_]{1,63}", get(key)):
            raise ConfigError(f"{key}={get(key)!r}: use 1-63 lower-case letters, digits and underscores")
    publication = get("publication.name")
    if not publication or len(publication) > 63:
        raise ConfigError("publication.name must be 1-63 characters")
    skipped_text = get("skipped.operations").strip().lower()
    skipped = frozenset() if skipped_text == "none" else frozenset(_split_list(skipped_text))
    unknown_ops = skipped - set(OPERATIONS)
    if unknown_ops:
        raise ConfigError(
            f"skipped.operations: unknown {', '.join(sorted(unknown_ops))}; use c, u, d, t or none"
        )
    snapshot_mode = _parse_choice(
        "snapshot.mode",
        get("snapshot.mode"),
        ("initial", "no_data", "never", "always", "initial_only", "when_needed"),
    )
    modes = TypeModes(
        decimal_handling_mode=_parse_choice(  # type: ignore[arg-type]
            "decimal.handling.mode", get("decimal.handling.mode"), ("precise", "double", "string")
        ),
        time_precision_mode=_parse_choice(  # type: ignore[arg-type]
            "time.precision.mode",
            get("time.precision.mode"),
            ("adaptive", "adaptive_time_microseconds", "connect", "isostring", "microseconds", "nanoseconds"),
        ),
        binary_handling_mode=_parse_choice(  # type: ignore[arg-type]
            "binary.handling.mode", get("binary.handling.mode"), ("bytes", "base64", "base64-url-safe", "hex")
        ),
        interval_handling_mode=_parse_choice(  # type: ignore[arg-type]
            "interval.handling.mode", get("interval.handling.mode"), ("numeric", "string")
        ),
        hstore_handling_mode=_parse_choice(  # type: ignore[arg-type]
            "hstore.handling.mode", get("hstore.handling.mode"), ("json", "map")
        ),
        money_fraction_digits=_parse_int("money.fraction.digits", get("money.fraction.digits"), minimum=0),
        include_unknown_datatypes=_parse_bool("include.unknown.datatypes", get("include.unknown.datatypes")),
    )
    signal_table = _signal_table(raw.get("signal.data.collection"), get("signal.enabled.channels"))
    return ConnectorConfig(
        name=name,
        database=_database_settings(raw, env),
        topic_prefix=prefix,
        slot_name=get("slot.name"),
        retained_wal_warn_bytes=_parse_int(
            "slot.retained.wal.warn.bytes", get("slot.retained.wal.warn.bytes"), minimum=0
        ),
        publication_name=publication,
        publication_autocreate_mode=_parse_choice(
            "publication.autocreate.mode",
            get("publication.autocreate.mode"),
            ("filtered", "all_tables", "disabled"),
        ),
        table_include=_compile_patterns("table.include.list", raw.get("table.include.list")),
        table_exclude=_compile_patterns("table.exclude.list", raw.get("table.exclude.list")),
        column_include=_compile_patterns("column.include.list", raw.get("column.include.list")),
        column_exclude=_compile_patterns("column.exclude.list", raw.get("column.exclude.list")),
        column_exclude_mode=_parse_choice(
            "column.exclude.mode", get("column.exclude.mode"), ("client", "publication")
        ),
        message_key_columns=_parse_key_columns(raw.get("message.key.columns")),
        message_prefix_include=_compile_patterns(
            "message.prefix.include.list", raw.get("message.prefix.include.list")
        ),
        message_prefix_exclude=_compile_patterns(
            "message.prefix.exclude.list", raw.get("message.prefix.exclude.list")
        ),
        tombstones_on_delete=_parse_bool("tombstones.on.delete", get("tombstones.on.delete")),
        skipped_operations=skipped,
        snapshot_mode="no_data" if snapshot_mode == "never" else snapshot_mode,
        snapshot_max_threads=_parse_int("snapshot.max.threads", get("snapshot.max.threads"), minimum=1),
        snapshot_max_threads_multiplier=_parse_int(
            "snapshot.max.threads.multiplier", get("snapshot.max.threads.multiplier"), minimum=1
        ),
        snapshot_fetch_size=_parse_int("snapshot.fetch.size", get("snapshot.fetch.size"), minimum=1),
        signal_table=signal_table,
        incremental_chunk_size=_parse_int(
            "incremental.snapshot.chunk.size", get("incremental.snapshot.chunk.size"), minimum=1
        ),
        provide_transaction_metadata=_parse_bool(
            "provide.transaction.metadata", get("provide.transaction.metadata")
        ),
        transaction_topic_suffix=_topic_name("topic.transaction", get("topic.transaction")),
        extended_headers=_parse_bool("extended.headers.enabled", get("extended.headers.enabled")),
        heartbeat_interval_ms=_parse_int("heartbeat.interval.ms", get("heartbeat.interval.ms"), minimum=0),
        heartbeat_topic_prefix=get("topic.heartbeat.prefix"),
        **_exactly_once(get, signals=signal_table is not None),
        topic_partitions=_parse_int(
            "topic.creation.default.partitions", get("topic.creation.default.partitions"), minimum=1
        ),
        topic_replication_factor=_parse_int(
            "topic.creation.default.replication.factor",
            get("topic.creation.default.replication.factor"),
            minimum=-1,
        ),
        type_modes=modes,
        max_queue_size=_parse_int("max.queue.size", get("max.queue.size"), minimum=1),
        max_queue_bytes=_parse_int("max.queue.size.in.bytes", get("max.queue.size.in.bytes"), minimum=1024),
        status_update_interval_ms=_parse_int(
            "status.update.interval.ms", get("status.update.interval.ms"), minimum=100
        ),
        errors=_error_tolerance(get),
        raw=raw,
        column_rules=_parse_column_rules(raw),
    )


def _error_tolerance(get: Callable[[str], str]) -> ErrorTolerance:
    tolerance = _parse_choice("errors.tolerance", get("errors.tolerance"), ("none", "all"))
    topic = get("errors.deadletterqueue.topic.name").strip() or None
    if topic is not None and not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", topic):
        raise ConfigError(
            f"errors.deadletterqueue.topic.name={topic!r}: a topic name is 1-249 letters, digits, '.', '_', '-'"
        )
    return ErrorTolerance(
        tolerate=tolerance == "all",
        dead_letter_topic=topic,
        context_headers=_parse_bool(
            "errors.deadletterqueue.context.headers.enable",
            get("errors.deadletterqueue.context.headers.enable"),
        ),
    )


def _exactly_once(get: Callable[[str], str], *, signals: bool) -> dict[str, Any]:
    """exactly.once.support and the transaction.boundary settings that only mean something with it."""
    support = _parse_choice(
        "exactly.once.support", get("exactly.once.support").lower(), ("requested", "required")
    )
    if support == "required" and signals:
        # An incremental snapshot keeps its progress by holding the slot's position back and meeting its
        # signal again after a restart; resuming from Kafka's offset would skip that signal.
        raise ConfigError(
            "exactly.once.support=required does not support incremental snapshots (signal.data.collection) "
            "yet: remove one of them"
        )
    boundary = _parse_choice(
        "transaction.boundary", get("transaction.boundary").lower(), ("poll", "interval", "connector")
    )
    if boundary == "connector":
        raise ConfigError(
            "transaction.boundary=connector: Debezium's PostgreSQL connector does not define transaction "
            "boundaries; use poll or interval"
        )
    interval = _parse_int(
        "transaction.boundary.interval.ms", get("transaction.boundary.interval.ms"), minimum=1
    )
    return {
        "exactly_once": support == "required",
        "transaction_boundary": boundary,
        "transaction_interval_ms": interval,
    }


def load_config_file(path: str) -> tuple[str | None, dict[str, str]]:
    """Read Kafka Connect's JSON (``{"name", "config"}`` or a flat object) or a ``.properties`` file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from None
    text = data.decode("utf-8", errors="replace")
    if text.lstrip().startswith("{"):
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as err:
            raise ConfigError(f"{path} is not valid JSON: {err}") from None
        if not isinstance(document, dict):
            raise ConfigError(f"{path}: expected a JSON object")
        config = document.get("config", document)
        if not isinstance(config, dict):
            raise ConfigError(f'{path}: "config" must be an object of settings')
        name = document.get("name") if "config" in document else config.get("name")
        return (str(name) if name else None), {str(k): v for k, v in config.items()}
    return None, _parse_properties(text)


_PROPERTY_LINE: Callable[[str], re.Match[str] | None] = re.compile(r"\s*([^=:\s]+)\s*[=:]\s*(.*)").match


def _parse_properties(text: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "!")):
            continue
        match = _PROPERTY_LINE(line)
        if match is None:
            raise ConfigError(f"line {number} is not key=value: {stripped[:60]!r}")
        settings[match.group(1)] = match.group(2).strip()
    return settings
