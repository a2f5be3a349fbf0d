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


def _published_tables(
    conn: psycopg.Connection[tuple[object, ...]], publication: str
) -> set[tuple[str, str]] | None:
    row = conn.execute(
        "SELECT puballtables FROM pg_publication WHERE pubname = %s", (publication,)
    ).fetchone()
    if row is None:
        return None
    rows = conn.execute(
        "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s", (publication,)
    ).fetchall()
    return {(str(s), str(t)) for s, t in rows}


def ensure_publication(
    conn: psycopg.Connection[tuple[object, ...]],
    config: ConnectorConfig,
    tables: list[TableInfo],
    *,
    server_version: int,
) -> None:
    """Make the publication publish exactly what the connector captures; errors name the missing privilege."""
    name = config.publication_name
    existing = _published_tables(conn, name)
    mode = config.publication_autocreate_mode
    if mode == "disabled":
        if existing is None:
            raise SourceSetupError(
                f"publication {name!r} does not exist and publication.autocreate.mode=disabled: "
                f"create it (CREATE PUBLICATION {sql.Identifier(name).as_string(conn)} FOR TABLE ...) "
                "or set publication.autocreate.mode=filtered"
            )
        return
    column_lists = uses_column_lists(config, server_version)
    if config.column_exclude_mode == "publication" and not column_lists:
        log.warning(
            "column.exclude.mode=publication needs PostgreSQL 15+; this server is %d, so excluded columns are "
            "dropped by pgcdc instead and their values cross the replication connection",
            server_version // 10000,
        )
    if mode == "all_tables":
        statement: sql.Composed = sql.SQL("CREATE PUBLICATION {} FOR ALL TABLES").format(sql.Identifier(name))
        if existing is not None:
            return
    else:
        clause = sql.SQL(", ").join(_table_clause(t, config, column_lists=column_lists) for t in tables)
        wanted = {(t.table.schema, t.table.table) for t in tables}
        if existing is None:
            statement = sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(sql.Identifier(name), clause)
        elif existing != wanted or column_lists:
            # SET TABLE replaces tables and column lists in one statement, so no change is published twice.
            statement = sql.SQL("ALTER PUBLICATION {} SET TABLE {}").format(sql.Identifier(name), clause)
        else:
            return
    try:
        with conn.transaction():
            conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege as err:
        text = statement.as_string(conn)
        raise SourceSetupError(
            f"cannot create or alter publication {name!r}: {err.diag.message_primary}. The role needs CREATE on "
            f"the database and ownership of the captured tables; or have an administrator run: {text}; "
            "and set publication.autocreate.mode=disabled"
        ) from err
    log.info("publication %s now publishes %d table(s)", name, len(tables))


def drop_publication(conn: psycopg.Connection[tuple[object, ...]], name: str) -> None:
    conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(name)))
