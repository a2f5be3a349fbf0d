"""Arrays: PostgreSQL's array text -> a JSON array of element values, as Debezium's array converter writes it.

Debezium hands the text to pgjdbc's PgArray and converts each element with the element type's converter, so
temporal elements follow pgjdbc (``jdbc_temporal``). An array it cannot read as a whole (a NaN numeric, a NULL in
an array of an enum, tsvector or ltree, more than one dimension) becomes null.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values.converter import Converter, malformed
from pgcdc.decode.values.jdbc_temporal import (
    date_element,
    time_element,
    timestamp_element,
    timestamptz_element,
    timetz_element,
)
from pgcdc.decode.values.numeric import SPECIAL_DECIMALS

ElementFactory = Callable[[ColumnInfo, TypeModes], Converter | None]

UNSUPPORTED_ELEMENTS = frozenset({"interval", "money", "xml", "point", "varbit", "name", "refcursor"})
"""Element types whose arrays Debezium leaves out of events (PostgresValueConverter has no schema for them)."""
_NULL_BREAKS = frozenset({"tsvector", "ltree"})  # and enums: a NULL element fails the whole array
_TEMPORAL: dict[str, ElementFactory] = {
    "date": date_element,
    "time": time_element,
    "timetz": timetz_element,
    "timestamp": timestamp_element,
    "timestamptz": timestamptz_element,
}


# One element: "quoted, with backslash escapes" or bare up to the next comma.
_ELEMENT = re.compile(r'"((?:[^"\\]|\\.)*)"|([^,"]*)', re.S)
_UNESCAPE = re.compile(r"\\(.)", re.S).sub


class _Unreadable(Exception):
    """Debezium fails on this array value and writes null for the column."""


def element_column(column: ColumnInfo) -> ColumnInfo | None:
    """The column Debezium makes up for an array's elements: its type, and the array's typmod."""
    if column.element_type_name is None:
        return None
    return ColumnInfo(
        name=f"{column.name}-element",
        type_oid=0,
        type_name=column.element_type_name,
        type_modifier=column.type_modifier,
        optional=True,
        default_expr=None,
        type_kind="e" if column.enum_values else "b",
        enum_values=column.enum_values,
    )


def array_converter(column: ColumnInfo, modes: TypeModes, scalar: ElementFactory) -> Converter | None:
    """The converter of an array column, or None when Debezium leaves it out; ``scalar`` gives the converter
    of a supported element type (None for unknown ones: Debezium drops arrays of those even with
    include.unknown.datatypes)."""
    element = element_column(column)
    if element is None or element.type_name in UNSUPPORTED_ELEMENTS:
        return None
    if element.type_name == "bit":
        return lambda text: None  # its schema is Bits or boolean, which a list never fits: always null
    factory = _TEMPORAL.get(element.type_name, scalar)
    convert = factory(element, modes)
    if convert is None:
        return None
    null_breaks = bool(column.enum_values) or element.type_name in _NULL_BREAKS
    specials_break = element.type_name == "numeric"

    def array(text: str) -> object:
        try:
            items = parse_array(text)
            if null_breaks and None in items:
                return None
            if specials_break and any(item in SPECIAL_DECIMALS for item in items):
                return None  # pgjdbc's BigDecimal refuses NaN and the infinities
        except _Unreadable:
            return None
        return [None if item is None else convert(item) for item in items]

    return array


def parse_array(text: str) -> list[str | None]:
    """array_out text (``{1,NULL,"a b","q\\"x"}``) -> the elements' texts, None for NULL."""
    if text.startswith("["):  # explicit bounds: [0:1]={...}
        text = text[text.find("=") + 1 :]
    if len(text) < 2 or text[0] != "{" or text[-1] != "}":
        raise malformed("array", text)
    body = text[1:-1]
    if not body:
        return []
    if '"' not in body and "\\" not in body:
        if "{" in body:
            raise _Unreadable  # more than one dimension
        return [None if item == "NULL" else item for item in body.split(",")]
    return _parse_quoted(body, text)


def _parse_quoted(body: str, text: str) -> list[str | None]:
    items: list[str | None] = []
    pos, size = 0, len(body)
    while True:
        match = _ELEMENT.match(body, pos)
        if match is None:
            raise malformed("array", text)
        quoted, bare = match.groups()
        if quoted is not None:
            items.append(_UNESCAPE(r"\1", quoted) if "\\" in quoted else quoted)
        elif bare.startswith("{"):
            raise _Unreadable  # more than one dimension
        else:
            items.append(None if bare == "NULL" else bare)
        pos = match.end()
        if pos >= size:
            return items
        if body[pos] != ",":
            raise malformed("array", text)
        pos += 1
