"""A column's Kafka Connect field schema as JsonConverter writes it, with the default Debezium derives for it.

The schema follows Debezium 3.6's PostgresValueConverter.schemaBuilder, including its logical names (Enum with
its ``allowed`` labels, Bits with its ``length``, Point, MicroDuration, Tsvector, Ltree, Xml); the default is
``pgcdc.serialize.defaults``'.
"""

from __future__ import annotations

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values import is_known_type
from pgcdc.decode.values.arrays import UNSUPPORTED_ELEMENTS, element_column
from pgcdc.decode.values.binary import bit_length
from pgcdc.decode.values.numeric import numeric_shape
from pgcdc.decode.values.temporal import time_precision
from pgcdc.serialize.defaults import ABSENT, column_default

Schema = dict[str, object]

_VARIABLE_DECIMAL_FIELDS: list[Schema] = [
    {"type": "int32", "optional": False, "field": "scale"},
    {"type": "bytes", "optional": False, "field": "value"},
]
_POINT_FIELDS: list[Schema] = [
    {"type": "double", "optional": False, "field": "x"},
    {"type": "double", "optional": False, "field": "y"},
    {"type": "bytes", "optional": True, "field": "wkb"},
    {"type": "int32", "optional": True, "field": "srid"},
]
_STRUCT_FIELDS = {"io.debezium.data.VariableScaleDecimal": _VARIABLE_DECIMAL_FIELDS}
_STRUCT_FIELDS["io.debezium.data.geometry.Point"] = _POINT_FIELDS
# Element schemas Debezium builds without .optional(): a NULL element then fails the whole array.
_REQUIRED_ELEMENTS = {"tsvector"}


def field_schema(column: ColumnInfo, modes: TypeModes) -> Schema | None:
    """The field's schema inside a ``...Value``/``...Key`` struct; None when Debezium leaves the column out."""
    schema = _schema(column, modes, column.optional)
    if schema is None:
        return None
    if column.element_type_name is None or schema["type"] != "array":
        default = column_default(column, modes)
        if default is not ABSENT:
            schema["default"] = default
    schema["field"] = column.name
    return schema


def _schema(column: ColumnInfo, modes: TypeModes, optional: bool) -> Schema | None:
    if column.element_type_name is not None:
        return _array(column, modes, optional)
    spec = _spec(column, modes)
    if spec is None:
        return None
    kind, name, extra = spec
    schema: Schema = {"type": kind}
    if kind == "struct" and name is not None:
        schema["fields"] = [dict(field) for field in _STRUCT_FIELDS[name]]
    if kind == "map":  # hstore as a map
        schema["keys"] = {"type": "string", "optional": False}
        schema["values"] = {"type": "string", "optional": True}
    schema["optional"] = optional
    if name is not None:
        schema["name"] = name
        schema["version"] = 1
    schema.update(extra)  # doc, parameters: after version, as JsonConverter orders them
    return schema


def _array(column: ColumnInfo, modes: TypeModes, optional: bool) -> Schema | None:
    element = element_column(column)
    if element is None or element.type_name in UNSUPPORTED_ELEMENTS or not is_known_type(element):
        return None
    if element.type_name == "bit":  # Debezium's schema for bit[] is the bit type's own, not an array
        return _schema(element, modes, optional)
    required = bool(element.enum_values) or element.type_name in _REQUIRED_ELEMENTS
    items = _schema(element, modes, not required)
    if items is None:
        return None
    return {"type": "array", "items": items, "optional": optional}


_Spec = tuple[str, str | None, Schema]


def _spec(column: ColumnInfo, modes: TypeModes) -> _Spec | None:
    """(Connect type, logical name, doc/parameters), following PostgresValueConverter.schemaBuilder."""
    t = column.type_name
    if column.enum_values:
        return "string", "io.debezium.data.Enum", {"parameters": {"allowed": ",".join(column.enum_values)}}
    if t in _PLAIN:
        return _PLAIN[t], None, {}
    if t in _NAMED:
        kind, name = _NAMED[t]
        return kind, name, {}
    builder = _BUILDERS.get(t)
    if builder is not None:
        return builder(column, modes)
    if modes.include_unknown_datatypes and column.type_kind != "p":
        return _binary(column, modes)
    return None


def _numeric(column: ColumnInfo, modes: TypeModes) -> _Spec | None:
    shape = numeric_shape(column)
    if modes.decimal_handling_mode == "double":
        return "double", None, {}
    if modes.decimal_handling_mode == "string":
        return "string", None, {}
    if shape is None:
        return "struct", "io.debezium.data.VariableScaleDecimal", {"doc": "Variable scaled decimal"}
    parameters = {"scale": str(shape[1]), "connect.decimal.precision": str(shape[0])}
    return "bytes", "org.apache.kafka.connect.data.Decimal", {"parameters": parameters}


def _money(column: ColumnInfo, modes: TypeModes) -> _Spec:
    if modes.decimal_handling_mode == "double":
        return "double", None, {}
    if modes.decimal_handling_mode == "string":
        return "string", None, {}
    parameters = {"scale": str(modes.money_fraction_digits)}
    return "bytes", "org.apache.kafka.connect.data.Decimal", {"parameters": parameters}


def _binary(column: ColumnInfo, modes: TypeModes) -> _Spec:
    return ("bytes" if modes.binary_handling_mode == "bytes" else "string"), None, {}


def _bits(column: ColumnInfo, modes: TypeModes) -> _Spec:
    length = bit_length(column)
    if length <= 1:
        return "boolean", None, {}
    return "bytes", "io.debezium.data.Bits", {"parameters": {"length": str(length)}}


def _interval(column: ColumnInfo, modes: TypeModes) -> _Spec:
    if modes.interval_handling_mode == "string":
        return "string", "io.debezium.time.Interval", {}
    return "int64", "io.debezium.time.MicroDuration", {}


def _hstore(column: ColumnInfo, modes: TypeModes) -> _Spec:
    if modes.hstore_handling_mode == "map":
        return "map", None, {}
    return "string", "io.debezium.data.Json", {}


def _point(column: ColumnInfo, modes: TypeModes) -> _Spec:
    return "struct", "io.debezium.data.geometry.Point", {"doc": "Geometry (POINT)"}


def _date(column: ColumnInfo, modes: TypeModes) -> _Spec:
    mode = modes.time_precision_mode
    if mode == "isostring":
        return "string", "io.debezium.time.IsoDate", {}
    if mode == "connect":
        return "int32", "org.apache.kafka.connect.data.Date", {}
    return "int32", "io.debezium.time.Date", {}


def _time(column: ColumnInfo, modes: TypeModes) -> _Spec:
    mode, precision = modes.time_precision_mode, time_precision(column)
    if mode == "isostring":
        return "string", "io.debezium.time.IsoTime", {}
    if mode == "connect":
        return "int32", "org.apache.kafka.connect.data.Time", {}
    if mode == "nanoseconds":
        return "int64", "io.debezium.time.NanoTime", {}
    if mode == "adaptive" and precision <= 3:
        return "int32", "io.debezium.time.Time", {}
    return "int64", "io.debezium.time.MicroTime", {}


def _timestamp(column: ColumnInfo, modes: TypeModes) -> _Spec:
    mode, precision = modes.time_precision_mode, time_precision(column)
    if mode == "isostring":
        return "string", "io.debezium.time.IsoTimestamp", {}
    if mode == "connect":
        return "int64", "org.apache.kafka.connect.data.Timestamp", {}
    if mode == "nanoseconds":
        return "int64", "io.debezium.time.NanoTimestamp", {}
    if mode in ("adaptive", "adaptive_time_microseconds") and precision <= 3:
        return "int64", "io.debezium.time.Timestamp", {}
    return "int64", "io.debezium.time.MicroTimestamp", {}


# Strings as PostgreSQL prints them: text types, citext, network addresses, ranges.
_STRINGS: tuple[str, ...] = ("text", "varchar", "bpchar", "char", "name", "citext", "inet", "cidr")
_STRINGS += ("macaddr", "macaddr8", "int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange")
_PLAIN = {
    "int2": "int16",
    "int4": "int32",
    "int8": "int64",
    "oid": "int64",
    "bool": "boolean",
    "float4": "float",
    "float8": "double",
    **dict.fromkeys(_STRINGS, "string"),
}
_NAMED = {
    "uuid": ("string", "io.debezium.data.Uuid"),
    "json": ("string", "io.debezium.data.Json"),
    "jsonb": ("string", "io.debezium.data.Json"),
    "xml": ("string", "io.debezium.data.Xml"),
    "tsvector": ("string", "io.debezium.data.Tsvector"),
    "ltree": ("string", "io.debezium.data.Ltree"),
    "timestamptz": ("string", "io.debezium.time.ZonedTimestamp"),
    "timetz": ("string", "io.debezium.time.ZonedTime"),
}
_BUILDERS = {
    "numeric": _numeric,
    "money": _money,
    "bytea": _binary,
    "bit": _bits,
    "varbit": _bits,
    "interval": _interval,
    "hstore": _hstore,
    "point": _point,
    "date": _date,
    "time": _time,
    "timestamp": _timestamp,
}
