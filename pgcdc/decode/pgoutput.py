"""Parse pgoutput protocol version 1 messages from bytes; never raises anything but DecodeError."""

from __future__ import annotations

from struct import Struct
from struct import error as StructError

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


def _tuple(data: bytes, pos: int) -> tuple[list[RawValue], int]:
    # The hot path of decoding: a loop over columns with no per-column allocation but the value itself.
    (count,) = _I16.unpack_from(data, pos)
    pos += 2
    values: list[RawValue] = []
    append = values.append
    unpack_len = _I32.unpack_from
    for _ in range(count):
        kind = data[pos]
        if kind == 116:  # 't' text: kind, length, bytes; one position update per column
            start = pos + 5
            pos = start + unpack_len(data, pos + 1)[0]
            append(data[start:pos].decode())
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
    if pos > len(data):
        # Slicing past the end shortens silently; one check per tuple catches any truncated value.
        raise DecodeError(f"tuple data ends {pos - len(data)} byte(s) early")
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
            (oid,) = _U32.unpack_from(data, 1)
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
