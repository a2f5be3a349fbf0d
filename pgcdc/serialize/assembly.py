"""The JSON of a record's parts, and a row event's value put together from its template's pieces, its rows' and
transaction block's JSON, its LSN and the clock.

The plain-Python form of ``assembly.pyx``, which setup.py compiles in its place (pgcdc.hot_path): the two must
write the same bytes (tests/unit/test_assembly.py holds them to it). The compiled one writes the digits and copies
the parts straight into the new record; here they go through ``b"%d"`` and one join.
"""

from __future__ import annotations

import orjson

from pgcdc.serialize.escapes import upper_case_escapes

RowPieces = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes]
"""What goes around the parts of a row event, in order: up to ``before``, between ``before`` and ``after``, from
``after`` to the LSN (in ``sequence``), between the two LSNs, from the second LSN to ``transaction``, from there to
``ts_ms`` (the op written in), to ``ts_us``, to ``ts_ns``, and the end."""


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
