"""pgoutput column text -> the Python value whose JSON is what Debezium + JsonConverter write for the column.

A converter is chosen once per column, so the per-value call does no mode branching. Values come from
PostgreSQL's output functions with the settings the walsender is pinned to (DateStyle ISO, IntervalStyle
postgres, bytea_output hex, extra_float_digits 1, TimeZone UTC). Modules by domain: ``numeric``, ``temporal``,
``interval``, ``binary`` (bytea, bit strings, unknown types), ``geometry``, ``hstore``, ``arrays`` (with
``jdbc_temporal`` for dates and times inside arrays); ``java_number`` and ``calendar`` hold the Java spellings
and calendar arithmetic that ``pgcdc.serialize`` shares for column defaults.
"""

from __future__ import annotations

from collections.abc import Callable

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values.arrays import array_converter
from pgcdc.decode.values.binary import bits_converter, bytea_converter, unknown_converter
from pgcdc.decode.values.converter import Converter
from pgcdc.decode.values.geometry import point_converter
from pgcdc.decode.values.hstore import hstore_converter
from pgcdc.decode.values.interval import interval_converter
from pgcdc.decode.values.numeric import (
    boolean,
    float4_converter,
    float8_converter,
    integer,
    money_converter,
    numeric_converter,
    oid_converter,
)
from pgcdc.decode.values.temporal import (
    date_converter,
    time_converter,
    timestamp_converter,
    timestamptz_converter,
    timetz_converter,
)

__all__ = ["INTEGER_TEXT", "STRING_TEXT", "Converter", "is_known_type", "text_form", "value_converter"]

Factory = Callable[[ColumnInfo, TypeModes], Converter | None]


def value_converter(column: ColumnInfo, modes: TypeModes, *, queried: bool = False) -> Converter | None:
    """The converter for ``column`` under ``modes``, or None when Debezium leaves the column out of events.
    ``queried``: the value is read by a snapshot's query, which Debezium reads through JDBC."""
    if column.element_type_name is not None:
        return array_converter(column, modes, _element_converter)
    factory = _element_factory(column)
    if factory is not None:
        return factory(column, modes)
    if column.type_name == "name":
        # Debezium's schema for name is a string. JDBC hands its snapshots the text, which they write; its
        # stream reader treats name as an unknown type, so streamed values are null (a NOT NULL column's "").
        return _text if queried or modes.include_unknown_datatypes else _nothing
    if modes.include_unknown_datatypes and column.type_kind != "p":
        return unknown_converter(column, modes)
    return None


def is_known_type(column: ColumnInfo) -> bool:
    """True when Debezium maps the column's type itself (not through include.unknown.datatypes)."""
    return _element_factory(column) is not None or column.type_name == "name"


def _element_factory(column: ColumnInfo) -> Factory | None:
    if column.enum_values and column.element_type_name is None:
        return _fixed(_text)
    return _FACTORIES.get(column.type_name)


def _element_converter(column: ColumnInfo, modes: TypeModes) -> Converter | None:
    factory = _element_factory(column)
    return None if factory is None else factory(column, modes)


def _text(text: str) -> object:
    return text


INTEGER_TEXT = 1
"""``text_form``: the text is the value's JSON, an integer as PostgreSQL prints it."""
STRING_TEXT = 2
"""``text_form``: the value is the text itself, a JSON string."""


def text_form(convert: Converter) -> int:
    """How ``convert``'s value relates to the column's text, for a serializer that writes JSON straight from the
    text: INTEGER_TEXT, STRING_TEXT, or 0 when only the converter can say."""
    if convert is _text:
        return STRING_TEXT
    if convert in _INTEGERS:
        return INTEGER_TEXT
    return 0


def _nothing(text: str) -> object:
    return None


def _fixed(converter: Converter) -> Factory:
    return lambda column, modes: converter


_TEXT = _fixed(_text)
# Types Debezium writes as their text: strings, network addresses, ranges, full-text vectors, ltree, citext, json.
_TEXTUAL = [
    "text",
    "varchar",
    "bpchar",
    "char",
    "citext",
    "uuid",
    "json",
    "jsonb",
    "xml",
    "inet",
    "cidr",
    "macaddr",
    "macaddr8",
    "tsvector",
    "ltree",
    "int4range",
    "int8range",
    "numrange",
    "tsrange",
    "tstzrange",
    "daterange",
]
_SMALLINT = integer("smallint", 16)
_INTEGER = integer("integer", 32)
_BIGINT = integer("bigint", 64)
_INTEGERS = (_SMALLINT, _INTEGER, _BIGINT)
_FACTORIES: dict[str, Factory] = {
    **dict.fromkeys(_TEXTUAL, _TEXT),
    "int2": _fixed(_SMALLINT),
    "int4": _fixed(_INTEGER),
    "int8": _fixed(_BIGINT),
    "oid": oid_converter,
    "bool": _fixed(boolean),
    "float4": float4_converter,
    "float8": float8_converter,
    "numeric": numeric_converter,
    "money": money_converter,
    "date": date_converter,
    "time": time_converter,
    "timestamp": timestamp_converter,
    "timestamptz": timestamptz_converter,
    "timetz": timetz_converter,
    "interval": interval_converter,
    "bytea": bytea_converter,
    "bit": bits_converter,
    "varbit": bits_converter,
    "point": point_converter,
    "hstore": hstore_converter,
}
