"""Catalog look-ups: is the server fit for CDC, which tables are captured, and what their columns are."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg

from pgcdc.config import ConnectorConfig
from pgcdc.decode.relation import ColumnInfo, TableId
from pgcdc.errors import ConfigError, SourceSetupError

log = logging.getLogger(__name__)

_COLUMNS_SQL = """
SELECT a.attname,
       rt.oid::int AS type_oid,
       rt.typname AS type_name,
       CASE WHEN t.typbasetype <> 0 THEN t.typtypmod ELSE a.atttypmod END AS typmod,
       NOT a.attnotnull AS optional,
       pg_get_expr(d.adbin, d.adrelid) AS default_expr,
       t.typtype::text AS type_kind,
       et.typname AS element_type_name,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e
             WHERE e.enumtypid = COALESCE(et.oid, rt.oid) ORDER BY e.enumsortorder) AS enum_values
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type rt ON rt.oid = COALESCE(NULLIF(t.typbasetype, 0), a.atttypid)
LEFT JOIN pg_type et0 ON rt.typcategory = 'A' AND et0.oid = rt.typelem
LEFT JOIN pg_type et ON et.oid = COALESCE(NULLIF(et0.typbasetype, 0), et0.oid)
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
# rt is the column's type with a domain resolved to its base; et the element type of an array (its domain
# resolved too); enum labels come from the element's type for an array of an enum.

_TYPES_SQL = """
SELECT t.oid::int, rt.oid::int, rt.typname, t.typtype::text, et.typname,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e
             WHERE e.enumtypid = COALESCE(et.oid, rt.oid) ORDER BY e.enumsortorder)
FROM pg_type t
JOIN pg_type rt ON rt.oid = COALESCE(NULLIF(t.typbasetype, 0), t.oid)
LEFT JOIN pg_type et0 ON rt.typcategory = 'A' AND et0.oid = rt.typelem
LEFT JOIN pg_type et ON et.oid = COALESCE(NULLIF(et0.typbasetype, 0), et0.oid)
WHERE t.oid = ANY(%s)
"""
# The same resolution as _COLUMNS_SQL, from a type oid alone.

_PRIMARY_KEY_SQL = """
SELECT a.attname
FROM pg_index i
JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s AND i.indisprimary
ORDER BY k.ord
"""

_TABLES_SQL = """
SELECT c.oid::int, n.nspname, c.relname, c.relreplident
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%%'
ORDER BY n.nspname, c.relname
"""


@dataclass(frozen=True, slots=True)
class TableInfo:
    """A captured table as the catalog describes it now."""

    oid: int
    table: TableId
    columns: tuple[ColumnInfo, ...]
    primary_key: tuple[str, ...]
    replica_identity: str


def check_server(conn: psycopg.Connection[tuple[object, ...]], *, user: str) -> int:
    """Raise SourceSetupError naming what to fix; return the server's version number (e.g. 150004)."""
    row = conn.execute(
        "SELECT current_setting('wal_level'), current_setting('server_version_num')::int,"
        " r.rolreplication OR r.rolsuper FROM pg_roles r WHERE r.rolname = current_user"
    ).fetchone()
    assert row is not None
    wal_level, version, can_replicate = row
    if wal_level != "logical":
        raise SourceSetupError(
            f"wal_level is {wal_level!r}, but logical decoding needs 'logical': run "
            "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL "
            "(on managed services, enable logical replication in the provider's settings)"
        )
    if not can_replicate:
        raise SourceSetupError(
            f'role {user!r} lacks the REPLICATION attribute: run ALTER ROLE "{user}" WITH REPLICATION;'
        )
    assert isinstance(version, int)
    if version < 100000:
        raise SourceSetupError(
            f"PostgreSQL {version // 10000} is too old: pgoutput needs PostgreSQL 10 or newer"
        )
    return version


def find_tables(conn: psycopg.Connection[tuple[object, ...]]) -> list[tuple[int, TableId, str]]:
    """Every user table of the database as (oid, id, replica identity), by schema and name."""
    rows = conn.execute(_TABLES_SQL).fetchall()
    return [(int(oid), TableId(str(s), str(t)), str(ri)) for oid, s, t, ri in rows]  # type: ignore[call-overload]


def find_captured_tables(
    conn: psycopg.Connection[tuple[object, ...]], config: ConnectorConfig
) -> list[tuple[int, TableId, str]]:
    """The tables the include/exclude lists select, as (oid, id, replica identity); every include entry must match."""
    tables = find_tables(conn)
    for pattern in config.table_include:
        if not any(pattern.fullmatch(f"{t.schema}.{t.table}") for _, t, _ in tables):
            raise ConfigError(
                f"table.include.list entry {pattern.pattern!r} matches no table in database "
                f"{config.database.dbname!r}: check the schema and table name (schema.table, case-sensitive)"
            )
    selected = [row for row in tables if config.captures_table(row[1].schema, row[1].table)]

    def include_order(row: tuple[int, TableId, str]) -> int:
        qualified = f"{row[1].schema}.{row[1].table}"
        return next((i for i, p in enumerate(config.table_include) if p.fullmatch(qualified)), 0)

    # Debezium snapshots tables in the order of table.include.list; sort() is stable, so by name within one entry.
    selected.sort(key=include_order)
    if not selected:
        raise ConfigError(
            f"no table of database {config.database.dbname!r} is captured: check table.include.list / exclude.list"
        )
    return selected


def describe_table(
    conn: psycopg.Connection[tuple[object, ...]], oid: int, table: TableId, identity: str
) -> TableInfo:
    """Columns (domains resolved to their base type) and primary key of one table."""
    columns = tuple(
        ColumnInfo(
            name=str(name),
            type_oid=int(type_oid),  # type: ignore[call-overload]
            type_name=str(type_name),
            type_modifier=int(typmod),  # type: ignore[call-overload]
            optional=bool(optional),
            default_expr=None if default is None else str(default),
            type_kind=str(kind),
            element_type_name=None if element is None else str(element),
            enum_values=tuple(str(label) for label in labels or ()),  # type: ignore[attr-defined]
        )
        for name, type_oid, type_name, typmod, optional, default, kind, element, labels in conn.execute(
            _COLUMNS_SQL, (oid,)
        ).fetchall()
    )
    primary_key = tuple(str(r[0]) for r in conn.execute(_PRIMARY_KEY_SQL, (oid,)).fetchall())
    return TableInfo(oid, table, columns, primary_key, identity)


def describe_missing_columns(
    conn: psycopg.Connection[tuple[object, ...]], columns: list[tuple[str, int, int]]
) -> dict[str, ColumnInfo]:
    """Columns pgoutput sent that the catalog no longer has by that name (renamed or dropped since the change
    was written), described from their type alone: (name, type oid, type modifier) -> ColumnInfo."""
    if not columns:
        return {}
    types = {
        int(oid): row  # type: ignore[call-overload]
        for oid, *row in conn.execute(_TYPES_SQL, ([oid for _, oid, _ in columns],)).fetchall()
    }
    described = {}
    for name, oid, modifier in columns:
        found = types.get(oid)
        if found is None:
            continue
        base_oid, type_name, kind, element, labels = found
        described[name] = ColumnInfo(
            name=name,
            type_oid=int(base_oid),  # type: ignore[call-overload]
            type_name=str(type_name),
            type_modifier=modifier,
            optional=True,
            default_expr=None,
            type_kind=str(kind),
            element_type_name=None if element is None else str(element),
            enum_values=tuple(str(v) for v in labels or ()),  # type: ignore[attr-defined]
        )
    return described


def check_table(info: TableInfo, config: ConnectorConfig) -> None:
    """Refuse what would break the source's writes or lose data; named errors say how to fix it."""
    name = str(info.table)
    override = config.key_columns_for(info.table.schema, info.table.table)
    column_names = {c.name for c in info.columns}
    for column in override or ():
        if column not in column_names:
            raise ConfigError(f"message.key.columns names {name}.{column}, which does not exist")
    if not info.primary_key and info.replica_identity in ("d", "n"):
        # A table in a publication that publishes UPDATE/DELETE without a replica identity makes PostgreSQL
        # reject every UPDATE and DELETE on it: capturing it would break the application that writes it.
        raise SourceSetupError(
            f"table {name} has no primary key, so PostgreSQL cannot identify its rows in the log and would "
            f"reject UPDATE and DELETE on it once published: add a primary key, or run "
            f"ALTER TABLE {quote_ident(info.table.schema)}.{quote_ident(info.table.table)} REPLICA IDENTITY FULL; "
            "or leave it out of table.include.list"
        )
    excluded = [
        c.name
        for c in info.columns
        if not config.captures_column(info.table.schema, info.table.table, c.name)
    ]
    if config.column_exclude_mode == "publication" and excluded:
        if info.replica_identity == "f":
            raise SourceSetupError(
                f"table {name} has REPLICA IDENTITY FULL, so a publication column list leaving out "
                f"{', '.join(excluded)} would make PostgreSQL reject UPDATE and DELETE on it: "
                "set column.exclude.mode=client"
            )
        missing_key = [c for c in info.primary_key if c in excluded]
        if missing_key:
            raise ConfigError(
                f"column.exclude.list leaves out {name} key column(s) {', '.join(missing_key)}: "
                "PostgreSQL needs key columns in the publication; exclude other columns"
            )


def check_column_patterns(config: ConnectorConfig, tables: list[TableInfo]) -> None:
    """Every column.include/exclude entry must name at least one column of a captured table."""
    qualified = [f"{t.table.schema}.{t.table.table}.{c.name}" for t in tables for c in t.columns]
    for key, patterns in (
        ("column.include.list", config.column_include),
        ("column.exclude.list", config.column_exclude),
    ):
        for pattern in patterns:
            if not any(pattern.fullmatch(q) for q in qualified):
                raise ConfigError(
                    f"{key} entry {pattern.pattern!r} matches no column of a captured table: "
                    "write it as schema.table.column"
                )


def quote_ident(name: str) -> str:
    """PostgreSQL identifier quoting, for messages that show SQL a person may copy."""
    return '"' + name.replace('"', '""') + '"'
