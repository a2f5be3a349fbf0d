"""Parse pgoutput protocol version 1 messages from bytes; never raises anything but DecodeError."""

from __future__ import annotations

from collections.abc import Callable
from struct import Struct
from struct import error as StructError
from typing import TYPE_CHECKING, Any

from pgcdc.decode.messages import (
    UNCHANGED_TOAST,
    Begin,
    Commit,
    Delete,
    Insert,
    LogicalMessage,
    Message,
    Origin,
    RawValue,
    RelationColumn,
    RelationMessage,
    Truncate,
    Update,
)
from pgcdc.errors import DecodeError
from pgcdc.lsn import Lsn

if TYPE_CHECKING:
    # Cython reads the C types of the annotations below when it compiles this module (setup.py); at run time
    # annotations are not evaluated, so the uncompiled module needs no Cython.
    import cython

# pgoutput timestamps count microseconds from 2000-01-01; Debezium reports them from 1970-01-01.
POSTGRES_EPOCH_OFFSET_US = 946_684_800_000_000

_I8 = Struct(">b")
_I16 = Struct(">h")
_I32 = Struct(">i")
_U32 = Struct(">I")
_Q = Struct(">Q")
_BEGIN = Struct(">QqI")
_COMMIT = Struct(">bQQq")
_REL_HEAD = Struct(">I")
_COL_TAIL = Struct(">Ii")


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(0, pos)
    return data[pos:end].decode("utf-8"), end + 1


def _tuple(data: bytes, pos: cython.Py_ssize_t) -> tuple[list[RawValue], int]:
    # The hot path of decoding: a loop over columns with no per-column allocation but the value itself. The
    # typed locals are C integers when compiled (pgcdc.hot_path); the bytes are read one by one, which compiled
    # code does without a call (the length is read unsigned: pgoutput's are never negative).
    end: cython.Py_ssize_t = len(data)
    count: cython.Py_ssize_t = (data[pos] << 8) | data[pos + 1]  # unsigned: a tuple never has 32,768 columns
    pos += 2
    values: list[RawValue] = []
    append = values.append
    kind: cython.int
    start: cython.Py_ssize_t
    for _ in range(count):
        kind = data[pos]
        if kind == 116:  # 't' text: kind, length, bytes; one position update per column
            start = pos + 5
            pos = start + (
                (data[pos + 1] << 24) | (data[pos + 2] << 16) | (data[pos + 3] << 8) | data[pos + 4]
            )
            append(data[start:pos].decode("utf-8"))
        elif kind == 110:  # 'n' null
            append(None)
            pos += 1
        elif kind == 117:  # 'u' unchanged TOAST
            append(UNCHANGED_TOAST)
            pos += 1
        else:
            raise DecodeError(
                f"unexpected tuple column kind {chr(kind)!r}: pgcdc asks pgoutput for text values"
            )
    if pos > end:
        # Slicing past the end shortens silently; one check per tuple catches any truncated value.
        raise DecodeError(f"tuple data ends {pos - end} byte(s) early")
    return values, pos


def _relation(data: bytes) -> RelationMessage:
    (oid,) = _REL_HEAD.unpack_from(data, 1)
    namespace, pos = _cstring(data, 5)
    name, pos = _cstring(data, pos)
    replica_identity = chr(data[pos])
    (count,) = _I16.unpack_from(data, pos + 1)
    pos += 3
    columns = []
    for _ in range(count):
        flags = data[pos]
        column_name, pos = _cstring(data, pos + 1)
        type_oid, type_modifier = _COL_TAIL.unpack_from(data, pos)
        pos += 8
        columns.append(RelationColumn(flags, column_name, type_oid, type_modifier))
    return RelationMessage(oid, namespace or "pg_catalog", name, replica_identity, tuple(columns))


def _update(data: bytes) -> Update:
    (oid,) = _U32.unpack_from(data, 1)
    pos = 5
    old: list[RawValue] | None = None
    key_only = False
    marker = data[pos]
    if marker in (75, 79):  # 'K' old key, 'O' old row
        key_only = marker == 75
        old, pos = _tuple(data, pos + 1)
        marker = data[pos]
    if marker != 78:  # 'N'
        raise DecodeError(f"update of relation {oid}: expected new tuple, got {chr(marker)!r}")
    new, _ = _tuple(data, pos + 1)
    return Update(oid, old, key_only, new)


def _delete(data: bytes) -> Delete:
    (oid,) = _U32.unpack_from(data, 1)
    marker = data[5]
    if marker not in (75, 79):
        raise DecodeError(f"delete of relation {oid}: expected old key or row, got {chr(marker)!r}")
    old, _ = _tuple(data, 6)
    return Delete(oid, old, marker == 75)


def _truncate(data: bytes) -> Truncate:
    (count,) = _I32.unpack_from(data, 1)
    options = data[5]
    oids = tuple(_U32.unpack_from(data, 6 + 4 * i)[0] for i in range(count))
    return Truncate(oids, bool(options & 1), bool(options & 2))


def _message(data: bytes) -> LogicalMessage:
    flags = data[1]
    (lsn,) = _Q.unpack_from(data, 2)
    prefix, pos = _cstring(data, 10)
    (length,) = _I32.unpack_from(data, pos)
    return LogicalMessage(bool(flags & 1), Lsn(lsn), prefix, bytes(data[pos + 4 : pos + 4 + length]))


def decode(data: bytes) -> Message:
    """One pgoutput message -> its value; None for kinds pgcdc ignores (Type)."""
    try:
        kind = data[0]
        if kind == 73:  # 'I'
            # Read byte by byte, as _tuple reads lengths: a struct unpack per row cost a buffer and a tuple. The
            # first byte is shifted as an unsigned long when compiled: as a C int it would overflow from 2**31 on.
            oid: cython.ulong = data[1]
            oid = (oid << 24) | (data[2] << 16) | (data[3] << 8) | data[4]
            if data[5] != 78:
                raise DecodeError(f"insert into relation {oid}: expected new tuple, got {chr(data[5])!r}")
            return Insert(oid, _tuple(data, 6)[0])
        if kind == 85:  # 'U'
            return _update(data)
        if kind == 68:  # 'D'
            return _delete(data)
        if kind == 66:  # 'B'
            final_lsn, ts, xid = _BEGIN.unpack_from(data, 1)
            return Begin(Lsn(final_lsn), ts + POSTGRES_EPOCH_OFFSET_US, xid)
        if kind == 67:  # 'C'
            _, commit_lsn, end_lsn, ts = _COMMIT.unpack_from(data, 1)
            return Commit(Lsn(commit_lsn), Lsn(end_lsn), ts + POSTGRES_EPOCH_OFFSET_US)
        if kind == 82:  # 'R'
            return _relation(data)
        if kind == 84:  # 'T'
            return _truncate(data)
        if kind == 77:  # 'M'
            return _message(data)
        if kind == 79:  # 'O'
            (lsn,) = _Q.unpack_from(data, 1)
            return Origin(Lsn(lsn), _cstring(data, 9)[0])
        if kind == 89:  # 'Y' type: pgcdc reads types from the catalog instead
            return None
    except DecodeError:
        raise
    except (IndexError, ValueError, StructError, UnicodeDecodeError) as err:
        raise DecodeError(
            f"malformed pgoutput message {chr(data[0]) if data else '(empty)'!r}: {err}"
        ) from err
    raise DecodeError(
        f"unknown pgoutput message kind {chr(kind)!r}: is the publication's protocol version 1?"
    )


def handle_frames(
    read: Callable[[], Any], handle: Callable[[Message, Lsn], None], limit: cython.Py_ssize_t
) -> int:
    """Decode each frame ``read`` returns (psycopg2's ReplicationMessage: ``payload``, ``data_start``) and pass it
    to ``handle``, until ``read`` returns None or ``limit`` frames are handled; returns how many were.

    One compiled loop (pgcdc.hot_path) for a run of frames, so that no bytecode of the stream's interpreted loop
    runs per frame between the socket and the builder."""
    count: cython.Py_ssize_t = 0
    while count < limit:
        frame = read()
        if frame is None:
            break
        handle(decode(frame.payload), frame.data_start)
        count += 1
    return count
