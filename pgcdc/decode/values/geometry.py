"""Geometric types: point as io.debezium.data.geometry.Point, and the others' text as pgjdbc re-renders it."""

from __future__ import annotations

import re
import struct
from binascii import b2a_base64

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values.converter import Converter, malformed
from pgcdc.decode.values.java_number import java_double, java_double_text

_POINT = re.compile(r"\(([^,()]+),([^,()]+)\)")
_WKB_HEADER = b"\x01" + struct.pack("<I", 1)  # little-endian marker, WKB type 1 (POINT)
_PACK_XY = struct.Struct("<dd").pack
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?")
GEOMETRIC = frozenset({"box", "circle", "line", "lseg", "path", "polygon"})
"""Types that pgjdbc parses into PGbox etc. before Debezium writes them as unknown (include.unknown.datatypes)."""


def point_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
    return point


def point(text: str) -> object:
    """PGpoint(text) -> Point.createValue: x, y, a 21-byte WKB point (always base64: a Connect bytes field)."""
    match = _POINT.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        x, y = float(match.group(1)), float(match.group(2))
    except ValueError:
        raise malformed("point", text) from None
    wkb = b2a_base64(_WKB_HEADER + _PACK_XY(x, y), newline=False).decode("ascii")
    return {"x": java_double(x), "y": java_double(y), "wkb": wkb, "srid": None}


def pgjdbc_text(text: str) -> str:
    """A box/circle/line/lseg/path/polygon as its PGobject.getValue() writes it: every number as a Java double
    (``(1,1),(0,0)`` -> ``(1.0,1.0),(0.0,0.0)``); the brackets and separators are PostgreSQL's already."""
    return _NUMBER.sub(lambda m: java_double_text(float(m.group())), text)
