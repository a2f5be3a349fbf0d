"""What a column converter is, and how one reports text it cannot read or a value Debezium leaves out."""

from __future__ import annotations

from collections.abc import Callable

from pgcdc.decode.relation import ColumnInfo
from pgcdc.errors import DecodeError

Converter = Callable[[str], object]
"""pgoutput text of a non-null value -> its JSON-ready value (None: Debezium writes no value)."""


def malformed(what: str, text: str) -> DecodeError:
    return DecodeError(
        f"malformed {what} value {text[:80]!r} in pgoutput; check that the server runs with "
        "DateStyle ISO and bytea_output hex, then report it if it persists"
    )


def missing(column: ColumnInfo, what: str) -> Converter:
    """Where Debezium fails to convert a value it leaves the field null (JsonConverter then writes the
    default); a NOT NULL column without a default makes Debezium stop, so pgcdc stops too."""
    nullable = column.optional or column.default_expr is not None

    def absent(text: str) -> object:
        if nullable:
            return None
        raise DecodeError(
            f"{what} value {text!r} of NOT NULL column {column.name!r} has no Debezium "
            "representation in this mode; change the handling mode or the column"
        )

    return absent
