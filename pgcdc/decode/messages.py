"""The pgoutput messages pgcdc acts on, as plain values.

The per-row messages (and Begin/Commit) are plain slots dataclasses, not frozen ones: a frozen dataclass's
``__init__`` sets each field through ``object.__setattr__``, which made constructing one 2.7 times as costly;
nothing mutates or hashes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

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


@dataclass(slots=True)
class Begin:
    final_lsn: Lsn
    commit_time_us: int
    """Microseconds since the Unix epoch (pgoutput counts from 2000-01-01; converted here)."""
    xid: int


@dataclass(slots=True)
class Commit:
    commit_lsn: Lsn
    end_lsn: Lsn
    commit_time_us: int


@dataclass(slots=True)
class Insert:
    relation_oid: int
    new: list[RawValue]


@dataclass(slots=True)
class Update:
    relation_oid: int
    old: list[RawValue] | None
    """The old key (identity DEFAULT/INDEX, only when the key changed) or old row (FULL); else None."""
    old_is_key_only: bool
    new: list[RawValue]


@dataclass(slots=True)
class Delete:
    relation_oid: int
    old: list[RawValue]
    old_is_key_only: bool


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
