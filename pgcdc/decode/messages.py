"""The pgoutput messages pgcdc acts on, as plain values.

The per-row messages (and Begin/Commit) are written-out classes, not dataclasses: compiled (messages.pxd,
pgcdc.hot_path) they are extension types whose fields other compiled modules read from the C struct, and whose
``__init__`` is compiled too (a dataclass's generated one is interpreted even in a compiled module). Uncompiled
they are plain slots classes. Nothing mutates or hashes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from pgcdc.lsn import Lsn


class _Unchanged:
    """An unchanged TOASTed value: pgoutput sends a marker instead of the data."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNCHANGED_TOAST"


UNCHANGED_TOAST: Final = _Unchanged()

RawValue = str | None | _Unchanged
"""A column as pgoutput sends it: text, NULL, or the unchanged-TOAST marker."""


@dataclass(frozen=True, slots=True)
class RelationColumn:
    flags: int
    """1 when the column is part of the replica identity."""
    name: str
    type_oid: int
    type_modifier: int


@dataclass(frozen=True, slots=True)
class RelationMessage:
    oid: int
    namespace: str
    name: str
    replica_identity: str
    columns: tuple[RelationColumn, ...]


class _Value:
    """Equality and repr field by field, as a dataclass's: for tests and logs, never on the per-row path."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, _Value) and other._values() == self._values()

    __hash__ = None  # type: ignore[assignment]  # mutable, like a non-frozen dataclass

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={value!r}" for name, value in zip(self._fields, self._values(), strict=True)
        )
        return f"{type(self).__name__}({fields})"


class Begin(_Value):
    __slots__ = ("commit_time_us", "final_lsn", "xid")
    _fields = ("final_lsn", "commit_time_us", "xid")

    def __init__(self, final_lsn: Lsn, commit_time_us: int, xid: int) -> None:
        self.final_lsn = final_lsn
        self.commit_time_us = commit_time_us
        """Microseconds since the Unix epoch (pgoutput counts from 2000-01-01; converted here)."""
        self.xid = xid


class Commit(_Value):
    __slots__ = ("commit_lsn", "commit_time_us", "end_lsn")
    _fields = ("commit_lsn", "end_lsn", "commit_time_us")

    def __init__(self, commit_lsn: Lsn, end_lsn: Lsn, commit_time_us: int) -> None:
        self.commit_lsn = commit_lsn
        self.end_lsn = end_lsn
        self.commit_time_us = commit_time_us


class Insert(_Value):
    __slots__ = ("new", "relation_oid")
    _fields = ("relation_oid", "new")

    def __init__(self, relation_oid: int, new: list[RawValue]) -> None:
        self.relation_oid = relation_oid
        self.new = new


class Update(_Value):
    __slots__ = ("new", "old", "old_is_key_only", "relation_oid")
    _fields = ("relation_oid", "old", "old_is_key_only", "new")

    def __init__(
        self, relation_oid: int, old: list[RawValue] | None, old_is_key_only: bool, new: list[RawValue]
    ) -> None:
        self.relation_oid = relation_oid
        self.old = old
        """The old key (identity DEFAULT/INDEX, only when the key changed) or old row (FULL); else None."""
        self.old_is_key_only = old_is_key_only
        self.new = new


class Delete(_Value):
    __slots__ = ("old", "old_is_key_only", "relation_oid")
    _fields = ("relation_oid", "old", "old_is_key_only")

    def __init__(self, relation_oid: int, old: list[RawValue], old_is_key_only: bool) -> None:
        self.relation_oid = relation_oid
        self.old = old
        self.old_is_key_only = old_is_key_only


@dataclass(frozen=True, slots=True)
class Truncate:
    relation_oids: tuple[int, ...]
    cascade: bool
    restart_identity: bool


@dataclass(frozen=True, slots=True)
class LogicalMessage:
    transactional: bool
    lsn: Lsn
    prefix: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Origin:
    lsn: Lsn
    name: str


Message = (
    RelationMessage | Begin | Commit | Insert | Update | Delete | Truncate | LogicalMessage | Origin | None
)
"""What the decoder returns; None for messages pgcdc has no use for (Type)."""
