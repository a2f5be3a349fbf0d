"""What a captured table looks like: its id, its columns and its key, as pgoutput and the catalog describe it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TableId:
    """A table's schema-qualified name, unquoted (``public``, ``My Table``)."""

    schema: str
    table: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """One column as pgoutput sends it, completed from the catalog with what pgoutput leaves out."""

    name: str
    type_oid: int
    type_name: str
    """``pg_type.typname`` of the column's type; a domain is resolved to its base type (``int4``, ``_text``)."""
    type_modifier: int
    """``atttypmod`` (-1 when the type has none): carries numeric precision/scale, varchar length, time precision."""
    optional: bool
    """True unless the column is ``NOT NULL``."""
    default_expr: str | None
    """``pg_get_expr(adbin)``, e.g. ``nextval('users_id_seq'::regclass)``; None when the column has no default."""
    type_kind: str = "b"
    """``pg_type.typtype`` of the declared type: ``b`` base (arrays too), ``d`` domain, ``e`` enum, ``r`` range,
    ``m`` multirange, ``c`` composite, ``p`` pseudo. Debezium gives a domain column no default, for one."""
    element_type_name: str | None = None
    """For an array, ``typname`` of its element type (a domain resolved to its base); None otherwise."""
    enum_values: tuple[str, ...] = ()
    """The labels, in sort order, of an enum column or of an array of an enum; empty otherwise."""


@dataclass(frozen=True, slots=True)
class Relation:
    """A table as the stream currently sees it; replaced whole when pgoutput announces a new shape."""

    oid: int
    table: TableId
    columns: tuple[ColumnInfo, ...]
    """The published columns in table order (excluded columns are not published, so not here)."""
    key_columns: tuple[str, ...]
    """The primary key, or ``message.key.columns`` for this table; empty for a keyless table."""
    replica_identity: str
    """``d`` default, ``f`` full, ``i`` index, ``n`` nothing (pgoutput's letters)."""
