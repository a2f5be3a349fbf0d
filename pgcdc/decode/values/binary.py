"""Bytes: bytea by binary.handling.mode, bit/varbit as io.debezium.data.Bits, and unknown types as text bytes."""

from __future__ import annotations

from base64 import urlsafe_b64encode
from binascii import Error as BinasciiError
from binascii import a2b_hex, b2a_base64
from collections.abc import Callable

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values.converter import Converter, malformed
from pgcdc.decode.values.geometry import GEOMETRIC, pgjdbc_text

BIT_LENGTH_UNBOUNDED = 2147483647
"""The length Debezium gives a varbit without one."""


def binary_encoder(modes: TypeModes) -> Callable[[bytes], str]:
    """bytes -> the JSON string of binary.handling.mode ("bytes" is base64 too: Jackson's binary node)."""
    mode = modes.binary_handling_mode
    if mode == "hex":
        return bytes.hex
    if mode == "base64-url-safe":
        return lambda data: urlsafe_b64encode(data).decode("ascii")
    return lambda data: b2a_base64(data, newline=False).decode("ascii")


def bytea_bytes(text: str) -> bytes:
    """bytea_output hex text (``\\x00ff``) -> the bytes."""
    if not text.startswith("\\x"):
        raise malformed("bytea", text)
    try:
        return a2b_hex(text[2:])
    except (BinasciiError, ValueError):
        raise malformed("bytea", text) from None


def bytea_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
    encode = binary_encoder(modes)
    return lambda text: encode(bytea_bytes(text))


def bit_length(column: ColumnInfo) -> int:
    """The length Debezium reads for bit(n)/varbit(n): n, or 2147483647 for a varbit without one."""
    return BIT_LENGTH_UNBOUNDED if column.type_modifier < 0 else column.type_modifier


def bits_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
    """bit(1) is a boolean; longer bit strings are BitSet.toByteArray(): little-endian, no trailing zero bytes."""
    if bit_length(column) <= 1:
        return _bit
    return _bits


def _bit(text: str) -> object:
    return _bit_value(text) != 0


def _bits(text: str) -> object:
    value = _bit_value(text) if text else 0
    return b2a_base64(value.to_bytes((value.bit_length() + 7) // 8, "little"), newline=False).decode("ascii")


def _bit_value(text: str) -> int:
    if text.strip("01"):
        raise malformed("bit", text)
    return int(text, 2)


def unknown_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
    """include.unknown.datatypes: the value's text (pgjdbc's rendering for geometric types) as UTF-8 bytes."""
    encode = binary_encoder(modes)
    if column.type_name in GEOMETRIC:
        return lambda text: encode(pgjdbc_text(text).encode())
    return lambda text: encode(text.encode())
