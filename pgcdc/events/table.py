"""A captured table as the event builder uses it: which tuple positions become which fields, converted how."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pgcdc.config import ConnectorConfig
from pgcdc.decode.messages import UNCHANGED_TOAST, RawValue, RelationMessage
from pgcdc.decode.relation import ColumnInfo, Relation, TableId
from pgcdc.decode.values import value_converter
from pgcdc.decode.values.toast import unavailable_value
from pgcdc.events.change import Row
from pgcdc.events.column_masks import ColumnMask, TableMasks, column_mask
from pgcdc.serialize.fields import field_schema

log = logging.getLogger(__name__)

# Debezium replaces characters Kafka does not allow in topic names with an underscore.
_TOPIC_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

# What Debezium writes for a NOT NULL column whose value is absent (a key-only old tuple), by Connect type,
# when the column has no default of its own.
_FALLBACK_BY_TYPE: dict[object, Any] = {
    "int8": 0,
    "int16": 0,
    "int32": 0,
    "int64": 0,
    "float": 0.0,
    "double": 0.0,
    "boolean": False,
    "string": "",
    "bytes": "",
}


@dataclass(frozen=True, slots=True)
class CapturedField:
    """One published column that becomes an event field."""

    name: str
    position: int
    """Index of the column in pgoutput's tuple."""
    convert: Callable[[str], Any]
    absent: Any
    """The value Debezium writes when the column's value is missing: None, or its default for NOT NULL."""
    unavailable: Any
    """The placeholder for an unchanged TOASTed value, in this field's JSON form."""
    schema: dict[str, Any]


class CapturedTable:
    """Everything the hot path needs for one relation, computed once per Relation message.

    Written out, not a frozen dataclass: compiled (table.pxd, pgcdc.hot_path) it is an extension type with
    read-only fields, whose ``row`` and ``key`` the compiled builder calls in C and whose fields the serializer
    reads from the C struct. Nothing changes one once built."""

    __slots__ = ("fields", "key_fields", "key_names", "masks", "oid", "relation", "steps", "topic")

    def __init__(
        self,
        *,
        relation: Relation,
        topic: str,
        fields: tuple[CapturedField, ...],
        key_fields: tuple[CapturedField, ...],
        steps: tuple[tuple[str, int, Callable[[str], Any], Any], ...],
        key_names: tuple[str, ...],
        masks: TableMasks | None,
    ) -> None:
        self.relation = relation
        self.oid = relation.oid
        """The relation's oid, read per record: a field of the struct, not an attribute look-up on ``relation``."""
        self.topic = topic
        self.fields = fields
        self.key_fields = key_fields
        self.steps = steps
        """(name, position, convert, absent) of each field, for the per-row loop."""
        self.key_names = key_names
        """The names of ``key_fields``, for the per-row key."""
        self.masks = masks
        """column.truncate / column.mask rules on this table's fields, applied as the value is serialized (the
        key keeps the real values); None when no rule matches any field."""

    @property
    def table(self) -> TableId:
        return self.relation.table

    @property
    def collection(self) -> str:
        """schema.table: the table's name in transaction metadata (Debezium's TableId, unquoted)."""
        table = self.relation.table
        return f"{table.schema}.{table.table}"

    def row(self, values: Sequence[RawValue], previous: Sequence[RawValue] | None = None) -> Row:
        """Tuple -> event row. An unchanged TOAST value comes from ``previous`` when that carries it."""
        row: Row = {}
        # The per-row loop of every event: plain tuples, no attribute look-ups.
        for name, position, convert, absent in self.steps:
            raw = values[position]
            if raw is None:
                row[name] = absent
            elif raw is UNCHANGED_TOAST:
                row[name] = self._unchanged(name, previous[position] if previous is not None else None)
            else:
                value = convert(raw)  # type: ignore[arg-type]
                # A converter answers None where Debezium writes no value (NaN in precise mode, say).
                row[name] = absent if value is None else value
        return row

    def _unchanged(self, name: str, earlier: RawValue) -> Any:
        """An unchanged TOASTed value: the old row's when it carries one, else Debezium's placeholder."""
        field = next(f for f in self.fields if f.name == name)
        return field.convert(earlier) if isinstance(earlier, str) else field.unavailable

    def key(self, row: Row) -> Row | None:
        names = self.key_names
        if len(names) == 1:  # the usual single-column key, without a comprehension's frame
            name = names[0]
            return {name: row[name]}
        if not names:
            return None
        return {name: row[name] for name in names}


def _absent(schema: dict[str, Any], column: ColumnInfo) -> Any:
    # JsonConverter writes a field's schema default in place of null (replace.null.with.default=true, its
    # default), optional column or not; a NOT NULL column without a default gets Debezium's type fallback.
    if "default" in schema:
        return schema["default"]
    if column.optional:
        return None
    return _FALLBACK_BY_TYPE.get(schema.get("type"))


def topic_name(config: ConnectorConfig, table: TableId) -> str:
    return _TOPIC_UNSAFE.sub("_", config.table_topic(table.schema, table.table))


def build_table(
    message: RelationMessage,
    catalog_columns: dict[str, ColumnInfo],
    primary_key: tuple[str, ...],
    config: ConnectorConfig,
    *,
    warn: Callable[[str], None],
    snapshot: bool = False,
    queried: bool = False,
) -> CapturedTable:
    """Combine pgoutput's column list (authoritative for the tuple) with the catalog's details (nullability,
    defaults, domain base types); drop excluded and unsupported columns. ``snapshot``: the table is read by a
    snapshot, where Debezium takes column lengths from JDBC rather than from pgoutput. ``queried``: its rows
    are read by a query (an initial snapshot implies it; an incremental snapshot's chunks are), whose values
    Debezium reads through JDBC."""
    table = TableId(message.namespace, message.name)
    fields: list[CapturedField] = []
    columns: list[ColumnInfo] = []
    masks: list[ColumnMask] = []
    key_names = config.key_columns_for(table.schema, table.table) or primary_key
    for position, column in enumerate(message.columns):
        info = catalog_columns.get(column.name) or ColumnInfo(
            name=column.name,
            type_oid=column.type_oid,
            type_name=str(column.type_oid),
            type_modifier=column.type_modifier,
            optional=True,
            default_expr=None,
        )
        if not config.captures_column(table.schema, table.table, column.name):
            continue
        convert = value_converter(info, config.type_modes, queried=snapshot or queried)
        schema = field_schema(info, config.type_modes)
        if convert is None or schema is None:
            warn(
                f"column {table}.{column.name} has type {info.type_name}, which Debezium leaves out of events "
                "too; it is left out (include.unknown.datatypes=true writes a scalar of it as its text's bytes)"
            )
            continue
        columns.append(info)
        absent = _absent(schema, info)
        rules = config.column_rules_for(table.schema, table.table, column.name)
        if len(rules) > 1 and rules[1].kind == rules[0].kind:
            warn(
                f"column {table}.{column.name} matches both {rules[0].key} and {rules[1].key}; pgcdc applies "
                "the first, Debezium the first in its hash map's order: make their patterns disjoint"
            )
        mask = column_mask(rules[0], info, schema, snapshot=snapshot) if rules else None
        if mask is not None:
            masks.append(mask)
            if mask.transform is not None and info.optional and column.name not in key_names:
                # The mapper sees the NULL before JsonConverter writes the default in its place, so a hash or a
                # cut leaves that default as it is and the mask writes asterisks.
                absent = None
        fields.append(
            CapturedField(
                name=column.name,
                position=position,
                convert=convert,
                absent=absent,
                unavailable=unavailable_value(info, config.type_modes, str(schema["type"])),
                schema=schema,
            )
        )
    by_name = {f.name: f for f in fields}
    key_fields = tuple(by_name[name] for name in key_names if name in by_name)
    relation = Relation(
        oid=message.oid,
        table=table,
        columns=tuple(columns),
        key_columns=tuple(f.name for f in key_fields),
        replica_identity=message.replica_identity,
    )
    return CapturedTable(
        relation=relation,
        topic=topic_name(config, table),
        fields=tuple(fields),
        key_fields=key_fields,
        steps=tuple((f.name, f.position, f.convert, f.absent) for f in fields),
        key_names=tuple(f.name for f in key_fields),
        masks=TableMasks(masks) if masks else None,
    )
