"""The JSON of a record's parts, a row's JSON written straight from its tuple's text, and a row event's value put
together from its template's pieces, its rows' and transaction block's JSON, its LSN and the clock.

The plain-Python form of ``assembly.pyx``, which setup.py compiles in its place (pgcdc.hot_path): the two must
write the same bytes (tests/unit/test_assembly.py holds them to it). The compiled one writes the digits and copies
the parts straight into the new record; here they go through ``b"%d"`` and one join.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import orjson

from pgcdc.decode.values import INTEGER_TEXT, STRING_TEXT
from pgcdc.serialize.escapes import upper_case_escapes

RowPieces = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes]
"""What goes around the parts of a row event, in order: up to ``before``, between ``before`` and ``after``, from
``after`` to the LSN (in ``sequence``), between the two LSNs, from the second LSN to ``transaction``, from there to
``ts_ms`` (the op written in), to ``ts_us``, to ``ts_ns``, and the end."""


RowColumn = tuple[bytes, int, int, Callable[[str], object] | None, bytes]
"""One field for ``row_json``: its name's JSON and a colon, its place in the tuple, its text's form
(decode.values.text_form), its converter, and the JSON written when it has no value."""

# PostgreSQL prints an integer without a sign for zero and positives and without leading zeros; any other text
# (none is expected) is left to the converter, which says what is wrong with it.
_INTEGER = re.compile(r"-?[1-9][0-9]*|0")

# Bound once: looking up orjson.dumps and bytes.find by name took about a third of the time of a key's JSON.
_orjson_dumps = orjson.dumps
_find = bytes.find


def json_bytes(value: object) -> bytes:
    """``value`` as JsonConverter writes it: orjson's compact JSON in insertion order, with Jackson's escapes."""
    data = _orjson_dumps(value)
    # find, not `in`: bytes.__contains__ first tries the operand as an integer and clears the TypeError.
    if _find(data, b"\\u00") >= 0:
        data = upper_case_escapes(data)
    return data


def row_json(
    columns: tuple[RowColumn, ...], key_columns: tuple[int, ...], values: Sequence[object]
) -> tuple[bytes, bytes] | None:
    """The JSON of a row and of its key (``key_columns``: indexes into ``columns``, in the key's order) from a
    pgoutput tuple's text, without the row's dict: the bytes json_bytes writes for that dict. None when a value
    is one only the dict path handles (an unchanged TOASTed value, an integer's text not as PostgreSQL prints
    it)."""
    parts: list[bytes] = []
    for name, position, form, convert, absent in columns:
        raw = values[position]
        if raw is None:
            part = absent
        elif type(raw) is not str:
            return None
        elif form == INTEGER_TEXT:
            if _INTEGER.fullmatch(raw) is None:
                return None
            part = raw.encode()
        else:
            value = raw if form == STRING_TEXT or convert is None else convert(raw)
            part = absent if value is None else json_bytes(value)
        parts.append(name + part)
    key = [parts[i] for i in key_columns]
    return b"{" + b",".join(parts) + b"}", b"{" + b",".join(key) + b"}"


def row_value(
    pieces: RowPieces,
    before: bytes,
    after: bytes,
    transaction: bytes,
    lsn: int,
    second_lsn: bool,
    now_ns: int,
) -> bytes:
    """``pieces`` joined with ``before``, ``after`` and ``transaction`` (JSON, ``null`` when absent), the LSN (twice,
    or once without ``second_lsn``) and ``now_ns`` as ts_ms, ts_us and ts_ns (the same digits without the last
    six, or three)."""
    to_before, to_after, to_lsn, between_lsns, to_transaction, to_ms, to_us, to_ns, tail = pieces
    digits = b"%d" % lsn
    ns = b"%d" % now_ns
    return b"".join(
        (
            to_before,
            before,
            to_after,
            after,
            to_lsn,
            digits,
            between_lsns,
            digits if second_lsn else b"",
            to_transaction,
            transaction,
            to_ms,
            ns[:-6],
            to_us,
            ns[:-3],
            to_ns,
            ns,
            tail,
        )
    )
