"""The connector's PostgreSQL side at start: connected, checked and set up (a SourcePlan); its tables described."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from pgcdc.config import ConnectorConfig
from pgcdc.decode.messages import RelationMessage
from pgcdc.decode.relation import TableId
from pgcdc.errors import SlotInUseError, SourceError, SourceSetupError
from pgcdc.events.table import CapturedTable, build_table
from pgcdc.replication import catalog
from pgcdc.replication.catalog import TableInfo
from pgcdc.replication.publication import ensure_publication, promote_tables
from pgcdc.replication.slot import create_slot, refuse_if_active, slot_state
from pgcdc.status import ConnectorStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourcePlan:
    """What start-up found: the captured tables and which of them to snapshot before streaming."""

    tables: list[TableInfo]
    full_snapshot: bool
    """Copy every table, then create the slot at the copy's position."""
    added_tables: list[TableInfo]
    """Tables added to a connector that already streams: copied while the slot keeps its position."""
    server_version: int


def connect(config: ConnectorConfig) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(config.database.conninfo(), autocommit=True)
    except psycopg.OperationalError as err:
        raise SourceError(
            f"cannot connect to PostgreSQL at {config.database.describe()}: "
            f"{str(err).strip().splitlines()[-1] if str(err).strip() else err}"
        ) from err


def prepare_source(
    conn: psycopg.Connection[tuple[object, ...]], config: ConnectorConfig, *, status: ConnectorStatus
) -> SourcePlan:
    """Check the server, tables and columns; align the publications; make sure the slot is free."""
    version = catalog.check_server(conn, user=config.database.user)
    found = catalog.find_captured_tables(conn, config)
    tables = [catalog.describe_table(conn, oid, table, identity) for oid, table, identity in found]
    for info in tables:
        catalog.check_table(info, config)
    catalog.check_column_patterns(config, tables)
    signal = _signal_table(conn, config)
    state = slot_state(conn, config.slot_name, config.database.dbname)
    refuse_if_active(state, config.slot_name)
    status.tables = [str(t.table) for t in tables]
    mode = config.snapshot_mode
    full = mode == "always" or (mode in ("initial", "initial_only", "when_needed") and state is None)
    # The publications exist before any slot: pgoutput looks them up as of each change's position.
    added = ensure_publication(
        conn,
        config,
        tables,
        server_version=version,
        slot_exists=state is not None and not full,
        signal=signal,
    )
    if state is None and not full:
        create_slot(conn, config.slot_name)
    if mode == "no_data":
        # Tables added later are streamed from now on, without their existing rows, as asked.
        promote_tables(conn, config, added, server_version=version)
        added = []
    return SourcePlan(tables=tables, full_snapshot=full, added_tables=added, server_version=version)


def refuse_if_snapshotted_meanwhile(
    conn: psycopg.Connection[tuple[object, ...]], config: ConnectorConfig
) -> None:
    """Before a snapshot planned because the slot was missing: another instance that started at the same
    moment (two workers racing for a new connector) may have copied the tables and created the slot since.
    A second copy would restart the change history at a later position, and in exactly-once mode the
    first instance's streamed transactions, fenced by this one's, would be lost; the retry streams from
    that slot instead.

    Checked after ``guarantee.start()`` (which has fenced the other instance's Kafka transactions by then)
    and while this instance holds the snapshot's temporary slot. The temporary slot's name is the same for
    every instance, and an instance creates the connector's slot before it lets go of its temporary one:
    so either the other instance's slot exists when this check runs, or that instance still holds the
    temporary slot and this one could not have opened it. (Checked before opening, the other could create
    its slot and let go in between, and this instance copied a second time.)"""
    if config.snapshot_mode == "always":
        return
    if slot_state(conn, config.slot_name, config.database.dbname) is not None:
        raise SlotInUseError(
            f"replication slot {config.slot_name!r} was created by another instance of this connector, "
            "which started at the same moment and took the snapshot; retrying, to stream from that slot"
        )


def _signal_table(conn: psycopg.Connection[tuple[object, ...]], config: ConnectorConfig) -> TableInfo | None:
    """The signal table, which must exist before the connector starts so that no signal is missed."""
    if config.signal_table is None:
        return None
    schema, name = config.signal_table
    found = [row for row in catalog.find_tables(conn) if row[1] == TableId(schema, name)]
    if not found:
        raise SourceSetupError(
            f"signal.data.collection names {schema}.{name}, which does not exist: create it (CREATE TABLE "
            f"{catalog.quote_ident(schema)}.{catalog.quote_ident(name)} (id varchar(42) PRIMARY KEY, "
            "type varchar(32) NOT NULL, data varchar(2048))) or remove the setting"
        )
    oid, table, identity = found[0]
    info = catalog.describe_table(conn, oid, table, identity)
    catalog.check_table(info, config)
    return info


def table_describer(
    conn: psycopg.Connection[tuple[object, ...]], config: ConnectorConfig, *, warn: Callable[[str], None]
) -> Callable[[RelationMessage], CapturedTable | None]:
    """What the event builder calls when the stream announces a table: its captured shape, None if not captured."""

    def describe(message: RelationMessage) -> CapturedTable | None:
        table = TableId(message.namespace, message.name)
        if not config.captures_table(table.schema, table.table) and not config.is_signal_table(
            table.schema, table.table
        ):
            return None
        info = catalog.describe_table(conn, message.oid, table, message.replica_identity)
        columns = {c.name: c for c in info.columns}
        # The catalog is read now, the message describes the table as of its change: a column renamed or
        # dropped since then keeps the type pgoutput sent, so the event has the shape it had in the log.
        missing = [(c.name, c.type_oid, c.type_modifier) for c in message.columns if c.name not in columns]
        columns.update(catalog.describe_missing_columns(conn, missing))
        captured = build_table(message, columns, info.primary_key, config, warn=warn)
        log.info("table %s: %d field(s) to topic %s", table, len(captured.fields), captured.topic)
        return captured

    return describe
