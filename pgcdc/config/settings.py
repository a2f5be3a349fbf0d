"""The table of every connector setting pgcdc acts on: its key, default, unit and reason."""

from __future__ import annotations

from dataclasses import dataclass

DEBEZIUM_CONNECTOR_CLASS = "io.debezium.connector.postgresql.PostgresConnector"


@dataclass(frozen=True, slots=True)
class Setting:
    """One configuration key: its default (as Debezium spells it), unit and why it exists."""

    key: str
    default: str | None
    doc: str


# Every key pgcdc acts on, in the order the REST API's config validation lists them; a test fails when one
# of them or its default is missing from docs/configuration.md.
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
        "Processes copying a snapshot's chunks in parallel: the connector's own process and this many minus one "
        "worker processes, each worker with its own connection importing the slot's exported snapshot and its own "
        "producer (count). Processes, not threads: converting rows to JSON holds Python's GIL. 1 copies every "
        "table in the connector's own process, one after another; Debezium defaults to 1, pgcdc to 2, the cores "
        "of a small machine.",
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
        "snapshot.max.queue.size.in.bytes",
        "8388608",
        "Bytes of serialized rows the producers copying a parallel snapshot may hold unacknowledged together, "
        "split evenly among its snapshot.max.threads processes (each has a producer of its own for the copy). "
        "A copy outruns the broker, so every producer's buffer fills to its bound and stays resident: this, "
        "not max.queue.size.in.bytes, sets the copy's memory beyond Python's own, at no cost in rows/s (4 MiB "
        "is still several batches in flight).",
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
        "Kafka Connect's key, applied to records the producer refuses as too large (over message.max.bytes). "
        "none: the connector stops without confirming the record's position (fix the limit and restart); all: "
        "the record is logged (table, key, size, limit) and dropped, or sent to "
        "errors.deadletterqueue.topic.name, and the connector goes on past it. A refusal by the broker (over "
        "the topic's max.message.bytes) covers a whole batch and always stops the connector. Other Kafka "
        "errors are never tolerated.",
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
