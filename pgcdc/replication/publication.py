"""Create or align the connector's publication with the captured tables (and column lists, when asked)."""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql

from pgcdc.config import ConnectorConfig
from pgcdc.errors import SourceSetupError
from pgcdc.replication.catalog import TableInfo

log = logging.getLogger(__name__)

# Column lists in publications arrived in PostgreSQL 15.
COLUMN_LISTS_SINCE = 150000


def uses_column_lists(config: ConnectorConfig, server_version: int) -> bool:
    return config.column_exclude_mode == "publication" and server_version >= COLUMN_LISTS_SINCE


def _table_clause(info: TableInfo, config: ConnectorConfig, *, column_lists: bool) -> sql.Composable:
    name = sql.Identifier(info.table.schema, info.table.table)
    if not column_lists:
        return name
    kept = [
        c.name for c in info.columns if config.captures_column(info.table.schema, info.table.table, c.name)
    ]
    if len(kept) == len(info.columns):
        return name
    return sql.SQL("{} ({})").format(name, sql.SQL(", ").join(sql.Identifier(c) for c in kept))


def snapshot_publication_name(publication: str) -> str:
    """The publication of tables added to a streaming connector whose snapshot has not completed yet."""
    return f"{publication[:54]}_snapshot"


def publication_names(config: ConnectorConfig) -> list[str]:
    """What the stream reads: the connector's publication, and its snapshot publication when pgcdc manages it."""
    if config.publication_autocreate_mode == "filtered":
        return [config.publication_name, snapshot_publication_name(config.publication_name)]
    return [config.publication_name]


TableKey = tuple[str, str]


def _published_tables(
    conn: psycopg.Connection[tuple[object, ...]], publication: str, *, server_version: int
) -> dict[TableKey, tuple[str, ...]] | None:
    """Published tables with their published columns (all columns before PostgreSQL 15); None if no publication."""
    row = conn.execute(
        "SELECT puballtables FROM pg_publication WHERE pubname = %s", (publication,)
    ).fetchone()
    if row is None:
        return None
    columns = "attnames" if server_version >= COLUMN_LISTS_SINCE else "NULL::name[]"
    rows = conn.execute(
        f"SELECT schemaname, tablename, {columns} FROM pg_publication_tables WHERE pubname = %s",
        (publication,),
    ).fetchall()
    return {(str(s), str(t)): tuple(str(c) for c in (names or ())) for s, t, names in rows}  # type: ignore[attr-defined]


def _all_tables(conn: psycopg.Connection[tuple[object, ...]], publication: str) -> bool:
    row = conn.execute(
        "SELECT puballtables FROM pg_publication WHERE pubname = %s", (publication,)
    ).fetchone()
    return bool(row and row[0])


def _key(info: TableInfo) -> TableKey:
    return (info.table.schema, info.table.table)


def _published_columns(info: TableInfo, config: ConnectorConfig, *, column_lists: bool) -> tuple[str, ...]:
    if not column_lists:
        return tuple(c.name for c in info.columns)
    return tuple(
        c.name for c in info.columns if config.captures_column(info.table.schema, info.table.table, c.name)
    )


def _set_tables(
    name: str,
    existing: dict[TableKey, tuple[str, ...]] | None,
    tables: list[TableInfo],
    config: ConnectorConfig,
    *,
    column_lists: bool,
    server_version: int,
) -> list[sql.Composed]:
    """Statements that make publication ``name`` publish exactly ``tables`` (nothing when it already does)."""
    ident = sql.Identifier(name)
    clause = sql.SQL(", ").join(_table_clause(t, config, column_lists=column_lists) for t in tables)
    if existing is None:
        if tables:
            return [sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(ident, clause)]
        return [sql.SQL("CREATE PUBLICATION {}").format(ident)]
    wanted = {_key(t): _published_columns(t, config, column_lists=column_lists) for t in tables}
    # Before PostgreSQL 15 there are no column lists to compare, only tables.
    if (set(existing) == set(wanted)) if server_version < COLUMN_LISTS_SINCE else (existing == wanted):
        return []
    if tables:
        # SET TABLE replaces tables and column lists in one statement, so no change is published twice.
        return [sql.SQL("ALTER PUBLICATION {} SET TABLE {}").format(ident, clause)]
    dropped = sql.SQL(", ").join(sql.Identifier(s, t) for s, t in existing)
    return [sql.SQL("ALTER PUBLICATION {} DROP TABLE {}").format(ident, dropped)]


def ensure_publication(
    conn: psycopg.Connection[tuple[object, ...]],
    config: ConnectorConfig,
    tables: list[TableInfo],
    *,
    server_version: int,
    slot_exists: bool,
    signal: TableInfo | None = None,
) -> list[TableInfo]:
    """Make the publications publish exactly what the connector captures; errors name the missing privilege.

    ``signal`` (the signal table) is published with the streamed tables and never snapshotted, as Debezium does.
    Returns the captured tables that still need a snapshot because they were added to a connector that already
    streams: they are published through the snapshot publication until ``promote_tables`` moves them."""
    name = config.publication_name
    mode = config.publication_autocreate_mode
    if mode == "disabled":
        published = _published_tables(conn, name, server_version=server_version)
        if published is None:
            raise SourceSetupError(
                f"publication {name!r} does not exist and publication.autocreate.mode=disabled: "
                f"create it (CREATE PUBLICATION {sql.Identifier(name).as_string(conn)} FOR TABLE ...) "
                "or set publication.autocreate.mode=filtered"
            )
        if signal is not None and _key(signal) not in published and not _all_tables(conn, name):
            raise SourceSetupError(
                f"publication {name!r} does not publish the signal table {signal.table}, so signals would never "
                f"arrive: ALTER PUBLICATION {sql.Identifier(name).as_string(conn)} ADD TABLE "
                f"{sql.Identifier(signal.table.schema, signal.table.table).as_string(conn)}"
            )
        return []
    column_lists = uses_column_lists(config, server_version)
    if config.column_exclude_mode == "publication" and not column_lists:
        log.warning(
            "column.exclude.mode=publication needs PostgreSQL 15+; this server is %d, so excluded columns are "
            "dropped by pgcdc instead and their values cross the replication connection",
            server_version // 10000,
        )
    if mode == "all_tables":
        if _published_tables(conn, name, server_version=server_version) is None:
            _execute(
                conn, name, [sql.SQL("CREATE PUBLICATION {} FOR ALL TABLES").format(sql.Identifier(name))]
            )
        return []
    main = _published_tables(conn, name, server_version=server_version)
    pending_name = snapshot_publication_name(name)
    pending = _published_tables(conn, pending_name, server_version=server_version)
    if slot_exists:
        in_main = set(main or ())
        streamed = [t for t in tables if _key(t) in in_main]
        to_snapshot = [t for t in tables if _key(t) not in in_main]
    else:
        # A new slot starts with a snapshot of every table, so all of them belong to the main publication.
        streamed, to_snapshot = tables, []
    if signal is not None and all(_key(t) != _key(signal) for t in streamed):
        streamed = [*streamed, signal]
        to_snapshot = [t for t in to_snapshot if _key(t) != _key(signal)]
    statements = _set_tables(
        name, main, streamed, config, column_lists=column_lists, server_version=server_version
    )
    statements += _set_tables(
        pending_name, pending, to_snapshot, config, column_lists=column_lists, server_version=server_version
    )
    _execute(conn, name, statements)
    return to_snapshot


def promote_tables(
    conn: psycopg.Connection[tuple[object, ...]],
    config: ConnectorConfig,
    tables: list[TableInfo],
    *,
    server_version: int,
) -> None:
    """Move snapshotted tables from the snapshot publication to the main one in one transaction: every change
    stays published by exactly one of them."""
    if not tables:
        return
    column_lists = uses_column_lists(config, server_version)
    added = sql.SQL(", ").join(_table_clause(t, config, column_lists=column_lists) for t in tables)
    dropped = sql.SQL(", ").join(sql.Identifier(t.table.schema, t.table.table) for t in tables)
    _execute(
        conn,
        config.publication_name,
        [
            sql.SQL("ALTER PUBLICATION {} ADD TABLE {}").format(
                sql.Identifier(config.publication_name), added
            ),
            sql.SQL("ALTER PUBLICATION {} DROP TABLE {}").format(
                sql.Identifier(snapshot_publication_name(config.publication_name)), dropped
            ),
        ],
    )


def _execute(conn: psycopg.Connection[tuple[object, ...]], name: str, statements: list[sql.Composed]) -> None:
    if not statements:
        return
    try:
        with conn.transaction():
            for statement in statements:
                conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege as err:
        text = "; ".join(s.as_string(conn) for s in statements)
        raise SourceSetupError(
            f"cannot create or alter publication {name!r}: {err.diag.message_primary}. The role needs CREATE on "
            f"the database and ownership of the captured tables; or have an administrator run: {text}; "
            "and set publication.autocreate.mode=disabled"
        ) from err
    log.info("publication %s updated: %s", name, "; ".join(s.as_string(conn) for s in statements))


def drop_publication(conn: psycopg.Connection[tuple[object, ...]], name: str) -> None:
    """Drop a connector's publication and its snapshot publication."""
    for publication in (name, snapshot_publication_name(name)):
        conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(publication)))
