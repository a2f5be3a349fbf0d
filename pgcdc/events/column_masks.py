"""Debezium's column mappers (column.truncate / column.mask): resolved once per table, applied to each row image.

Debezium applies them after the type conversion, to the value side only (the key keeps the real values), and
changes the field's value schema too: ``masked=true`` on every column a mask rule matches, whatever its type,
``truncateLength=N`` on every column whose declared length is unknown or above N. Values change only where the
Java value allows it: masks and hashes touch character columns (JDBC CHAR/VARCHAR: text, varchar, char, "char",
name, enums and domains over them), truncation cuts Strings and ByteBuffers (bytea in bytes mode).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pgcdc.config import ColumnRule
from pgcdc.decode.relation import ColumnInfo
from pgcdc.events.change import Row

Schema = dict[str, Any]
Transform = Callable[[Any], Any]

# pgjdbc's unknownLength: what TypeInfoCache answers for a length it cannot tell (text, bytea, json...).
UNKNOWN_LENGTH = 2**31 - 1
_CHARACTER_TYPES = frozenset({"text", "varchar", "bpchar", "char", "name"})
_FIXED_PRECISION = {
    "int2": 5,
    "int4": 10,
    "oid": 10,
    "int8": 19,
    "float4": 8,
    "float8": 17,
    "bool": 1,
    "char": 1,
}
_FIXED_DISPLAY = {
    "int2": 6,
    "int4": 11,
    "oid": 10,
    "int8": 20,
    "float4": 15,
    "float8": 25,
    "bool": 1,
    "char": 1,
}
_TEMPORAL_WIDTH = {"date": 13, "time": 8, "timetz": 14, "timestamp": 22, "timestamptz": 28, "interval": 49}


def _display_size(type_name: str, typmod: int) -> int:
    """pgjdbc's TypeInfoCache.getDisplaySize for a base type (an array's is its element's)."""
    if type_name in _FIXED_DISPLAY:
        return _FIXED_DISPLAY[type_name]
    if type_name in ("date", "interval"):
        return _TEMPORAL_WIDTH[type_name]
    if type_name in _TEMPORAL_WIDTH:
        seconds = {-1: 7, 0: 0, 1: 3}.get(typmod, typmod + 1)
        return _TEMPORAL_WIDTH[type_name] + seconds
    if type_name in ("bpchar", "varchar"):
        return UNKNOWN_LENGTH if typmod == -1 else typmod - 4
    if type_name == "numeric":
        if typmod == -1:
            return 131089
        precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
        return 1 + precision + (1 if scale else 0)
    if type_name == "bit":
        return typmod
    if type_name == "varbit":
        return UNKNOWN_LENGTH if typmod == -1 else typmod
    return UNKNOWN_LENGTH


def _precision(type_name: str, typmod: int) -> int:
    """pgjdbc's TypeInfoCache.getPrecision: what Debezium takes as a column's length."""
    if type_name in _FIXED_PRECISION:
        return _FIXED_PRECISION[type_name]
    if type_name == "numeric":
        return 0 if typmod == -1 else ((typmod - 4) & 0xFFFF0000) >> 16
    if type_name in _TEMPORAL_WIDTH:
        return _display_size(type_name, typmod)
    return (
        _display_size(type_name, typmod)
        if type_name in ("bpchar", "varchar", "bit", "varbit")
        else UNKNOWN_LENGTH
    )


def column_length(column: ColumnInfo, *, snapshot: bool) -> int:
    """Debezium's Column.length(): from pgoutput's type modifier when streaming, from JDBC's COLUMN_SIZE in a
    snapshot. The two differ for an unconstrained numeric only: its precision 0, which JDBC keeps and the
    stream replaces by the display size."""
    type_name = column.element_type_name or column.type_name
    typmod = column.type_modifier
    length = _precision(type_name, typmod)
    jdbc_keeps_zero = snapshot and column.type_name == "numeric" and column.type_kind != "d"
    if length == 0 and not jdbc_keeps_zero:
        length = _display_size(type_name, typmod)
    return length


def is_character(column: ColumnInfo) -> bool:
    """A column Debezium sees as JDBC CHAR/VARCHAR, the only ones masks and hashes change."""
    if column.element_type_name is not None:
        return False
    return column.type_name in _CHARACTER_TYPES or bool(column.enum_values)


def java_truncated(text: str, length: int) -> str:
    """``String.substring(0, length)``: Java counts UTF-16 units, so a character outside the BMP counts two.

    Where the cut falls inside such a pair Java keeps half of it, which JSON cannot carry as text; the half is
    dropped here."""
    if len(text) <= length // 2 or text.isascii():
        return text[:length]
    units = text.encode("utf-16-le")
    if len(units) <= 2 * length:
        return text
    return units[: 2 * length].decode("utf-16-le", errors="ignore")


def java_serialized(text: str) -> bytes:
    """What ObjectOutputStream.writeObject writes for a String: stream header, TC_STRING (or TC_LONGSTRING
    past 65535 bytes), the length, then the text in Java's modified UTF-8."""
    if "\0" not in text and (text.isascii() or max(text) <= "\uffff"):
        data = text.encode()  # modified UTF-8 differs from UTF-8 only for NUL and outside the BMP
    else:
        data = _modified_utf8(text)
    if len(data) <= 0xFFFF:
        return b"\xac\xed\x00\x05\x74" + len(data).to_bytes(2, "big") + data
    return b"\xac\xed\x00\x05\x7c" + len(data).to_bytes(8, "big") + data


def _modified_utf8(text: str) -> bytes:
    """Java's modified UTF-8: UTF-8 of each UTF-16 unit (a surrogate pair is 6 bytes), NUL as two bytes."""
    data = bytearray()
    for unit in memoryview(text.encode("utf-16-le")).cast("H"):
        if 0 < unit < 0x80:
            data.append(unit)
        elif unit < 0x800:
            data += bytes((0xC0 | unit >> 6, 0x80 | unit & 0x3F))
        else:
            data += bytes((0xE0 | unit >> 12, 0x80 | (unit >> 6) & 0x3F, 0x80 | unit & 0x3F))
    return bytes(data)


def _asterisks(count: int) -> Transform:
    mask = "*" * count
    return lambda value: mask


def _hash(rule: ColumnRule, length: int) -> Transform:
    salted = hashlib.new(rule.algorithm, rule.salt)
    as_bytes: Callable[[str], bytes] = java_serialized if rule.kind == "hash" else str.encode
    # MaskStrings cuts the hex digest to the column's declared length (varchar(n), char(n), "char").
    cut = length if 0 < length < UNKNOWN_LENGTH else None

    def digest(value: Any) -> Any:
        if value is None:
            return None
        hashed = salted.copy()
        hashed.update(as_bytes(value))
        return hashed.hexdigest()[:cut]

    return digest


def _truncate(length: int, schema: Schema) -> Transform | None:
    if schema["type"] == "string":
        return lambda value: value if value is None else java_truncated(value, length)
    if schema["type"] == "bytes" and "name" not in schema:
        # A plain bytes field is a ByteBuffer, which TruncateColumn cuts too; here it is in its JSON form.
        def cut_bytes(value: Any) -> Any:
            if value is None:
                return None
            data = base64.b64decode(value)
            return value if len(data) <= length else base64.b64encode(data[:length]).decode()

        return cut_bytes
    return None  # numbers, Decimal and Bits byte arrays, structs, arrays, maps: not Strings or ByteBuffers


def _with_parameter(schema: Schema, name: str, value: str) -> Schema:
    """The field schema with one more parameter, placed where JsonConverter writes parameters."""
    altered: Schema = {}
    for key, item in schema.items():
        if key in ("default", "field") and "parameters" not in altered:
            altered["parameters"] = {}
        altered[key] = dict(item) if key == "parameters" else item
    altered.setdefault("parameters", {})[name] = value
    return altered


@dataclass(frozen=True, slots=True)
class ColumnMask:
    """What one rule does to one field: its value schema, and the transformation of its values (if any)."""

    name: str
    schema: Schema
    transform: Transform | None
    null: Any
    """What JsonConverter writes when the transformation answers None: the schema's default, or null."""


def column_mask(rule: ColumnRule, column: ColumnInfo, schema: Schema, *, snapshot: bool) -> ColumnMask | None:
    """The mask a rule puts on a column with the given field schema; None when the rule changes nothing."""
    null = schema.get("default")
    if rule.kind == "truncate":
        length = column_length(column, snapshot=snapshot)
        if 0 <= length <= rule.length:
            return None
        truncating = _truncate(rule.length, schema)
        return ColumnMask(
            column.name, _with_parameter(schema, "truncateLength", str(rule.length)), truncating, null
        )
    masked = _with_parameter(schema, "masked", "true")
    if not is_character(column):
        return ColumnMask(column.name, masked, None, null)
    if rule.kind == "mask":
        return ColumnMask(column.name, masked, _asterisks(rule.length), null)
    return ColumnMask(column.name, masked, _hash(rule, column_length(column, snapshot=snapshot)), null)


class TableMasks:
    """The masks of one captured table's fields, for its row images and its value schema."""

    __slots__ = ("_steps", "masks")

    def __init__(self, masks: Sequence[ColumnMask]) -> None:
        self.masks = tuple(masks)
        self._steps = tuple((m.name, m.transform, m.null) for m in self.masks if m.transform is not None)

    def row(self, row: Row | None) -> Row | None:
        """A masked copy of a row image; the event keeps its own, since a retry serializes it again."""
        if row is None or not self._steps:
            return row
        shown = dict(row)
        for name, transform, null in self._steps:
            value = transform(shown[name])
            shown[name] = null if value is None else value
        return shown

    def value_fields(self, schemas: Sequence[Schema]) -> list[Schema]:
        """The row struct's field schemas with the parameters the masks add (the key's stay as they are)."""
        by_name = {m.name: m.schema for m in self.masks}
        return [by_name.get(s["field"], s) for s in schemas]
