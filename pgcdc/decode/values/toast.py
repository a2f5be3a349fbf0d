"""What Debezium writes for an unchanged out-of-line (TOAST) value that pgoutput did not send, per type.

Debezium substitutes marker objects by type name (UnchangedToastedReplicationMessageColumn) and its converters
render them (UnchangedToastedPlaceholder): the placeholder text for string fields, its bytes for bytea in bytes
mode, a one-element list for text/json/bytea/uuid arrays, the placeholder's bytes as numbers for int4, int8 and
date arrays, a one-entry map for hstore. Every other field gets null, because the converter rejects the marker.
"""

from __future__ import annotations

import hashlib
import uuid
from binascii import b2a_base64

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values import is_known_type
from pgcdc.decode.values.hstore import jackson_object

_TEXT_ARRAYS = frozenset({"text", "varchar", "bpchar", "json", "jsonb"})


def unavailable_value(column: ColumnInfo, modes: TypeModes, schema_type: str) -> object:
    """The JSON-ready value of an unchanged TOASTed ``column`` whose field schema has type ``schema_type``."""
    placeholder = modes.unavailable_value_placeholder
    raw = placeholder.encode()
    element = column.element_type_name
    if element is not None:
        if element in _TEXT_ARRAYS:
            return [placeholder]
        if element == "bytea":
            return [_base64(raw)] if modes.binary_handling_mode == "bytes" else None
        if element in ("int4", "int8") or (
            element == "date" and modes.time_precision_mode not in ("connect", "isostring")
        ):
            return [byte - 256 if byte > 127 else byte for byte in raw]  # Java bytes are signed
        if element == "uuid":
            return [_name_uuid(raw)]
        return None
    if column.type_name == "hstore":
        if modes.hstore_handling_mode == "map":
            return {placeholder: placeholder}
        return jackson_object([(placeholder, placeholder)])
    if column.type_name == "bytea" or not is_known_type(column):  # binary.handling.mode applies
        if modes.binary_handling_mode == "bytes":
            return _base64(raw)
        return placeholder if modes.binary_handling_mode == "hex" else None
    return placeholder if schema_type == "string" else None


def _base64(data: bytes) -> str:
    return b2a_base64(data, newline=False).decode("ascii")


def _name_uuid(data: bytes) -> str:
    """UUID.nameUUIDFromBytes: an MD5 (version 3) UUID of the bytes alone."""
    digest = bytearray(hashlib.md5(data, usedforsecurity=False).digest())
    digest[6] = (digest[6] & 0x0F) | 0x30
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))
