"""pgoutput decoding from hand-built frames: every message kind, and malformed input as DecodeError."""

from __future__ import annotations

import struct

import pytest

from pgcdc.decode.messages import (
    UNCHANGED_TOAST,
    Begin,
    Commit,
    Delete,
    Insert,
    LogicalMessage,
    RelationMessage,
    Truncate,
    Update,
)
from pgcdc.decode.pgoutput import POSTGRES_EPOCH_OFFSET_US, decode
from pgcdc.errors import DecodeError


def cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def tuple_data(*values: str | object | None) -> bytes:
    out = struct.pack(">h", len(values))
    for value in values:
        if value is None:
            out += b"n"
        elif value is UNCHANGED_TOAST:
            out += b"u"
        else:
            raw = str(value).encode()
            out += b"t" + struct.pack(">i", len(raw)) + raw
    return out


def test_begin_converts_commit_time_to_unix_epoch() -> None:
    frame = b"B" + struct.pack(">QqI", 0x16B374D848, 1_000_000, 742)
    assert decode(frame) == Begin(0x16B374D848, 1_000_000 + POSTGRES_EPOCH_OFFSET_US, 742)  # type: ignore[arg-type]


def test_commit() -> None:
    frame = b"C" + struct.pack(">bQQq", 0, 100, 164, 5)
    assert decode(frame) == Commit(100, 164, 5 + POSTGRES_EPOCH_OFFSET_US)  # type: ignore[arg-type]


def test_relation_with_quoted_names() -> None:
    frame = (
        b"R"
        + struct.pack(">I", 16384)
        + cstr("My Schema")
        + cstr("Users.v2")
        + b"f"
        + struct.pack(">h", 2)
        + b"\x01"
        + cstr("id")
        + struct.pack(">Ii", 23, -1)
        + b"\x00"
        + cstr('Naïve "col"')
        + struct.pack(">Ii", 1043, 54)
    )
    message = decode(frame)
    assert isinstance(message, RelationMessage)
    assert (message.oid, message.namespace, message.name, message.replica_identity) == (
        16384,
        "My Schema",
        "Users.v2",
        "f",
    )
    assert [(c.flags, c.name, c.type_oid, c.type_modifier) for c in message.columns] == [
        (1, "id", 23, -1),
        (0, 'Naïve "col"', 1043, 54),
    ]


def test_insert_update_delete_tuples() -> None:
    insert = decode(b"I" + struct.pack(">I", 7) + b"N" + tuple_data("1", None, "héllo"))
    assert insert == Insert(7, ["1", None, "héllo"])
    update = decode(
        b"U" + struct.pack(">I", 7) + b"O" + tuple_data("1", "a") + b"N" + tuple_data("1", UNCHANGED_TOAST)
    )
    assert isinstance(update, Update)
    assert (update.old, update.old_is_key_only, update.new) == (["1", "a"], False, ["1", UNCHANGED_TOAST])
    plain_update = decode(b"U" + struct.pack(">I", 7) + b"N" + tuple_data("2", "b"))
    assert plain_update == Update(7, None, False, ["2", "b"])
    delete = decode(b"D" + struct.pack(">I", 7) + b"K" + tuple_data("1", None))
    assert delete == Delete(7, ["1", None], True)


def test_an_insert_keeps_an_oid_past_two_to_the_31() -> None:
    # OIDs are unsigned 32-bit and wrap around on busy clusters; the compiled decoder reads them byte by byte.
    for oid in (2**31, 2**32 - 1):
        assert decode(b"I" + struct.pack(">I", oid) + b"N" + tuple_data("1")) == Insert(oid, ["1"])


def test_truncate_and_message() -> None:
    truncate = decode(b"T" + struct.pack(">ib", 2, 3) + struct.pack(">II", 10, 11))
    assert truncate == Truncate((10, 11), True, True)
    content = b"\x00binary\xff"
    message = decode(
        b"M" + b"\x01" + struct.pack(">Q", 99) + cstr("prefix") + struct.pack(">i", len(content)) + content
    )
    assert message == LogicalMessage(True, 99, "prefix", content)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"I",
        b"I" + struct.pack(">I", 7) + b"X",
        b"I" + struct.pack(">I", 7) + b"N" + struct.pack(">h", 1) + b"t" + struct.pack(">i", 10) + b"ab",
        b"I" + struct.pack(">I", 7) + b"N" + struct.pack(">h", 1) + b"b" + struct.pack(">i", 1) + b"a",
        b"R" + struct.pack(">I", 1) + b"no-terminator",
        b"Z",
        b"I" + struct.pack(">I", 7) + b"N" + struct.pack(">h", 1) + b"t" + struct.pack(">i", 2) + b"\xff\xfe",
    ],
)
def test_malformed_frames_raise_decode_error(frame: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(frame)
