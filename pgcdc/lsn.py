"""The PostgreSQL log sequence number (LSN) as a value type."""

from __future__ import annotations

from typing import NewType

Lsn = NewType("Lsn", int)
"""A WAL position: a 64-bit unsigned integer, written ``XXX/YYYYYYYY`` by PostgreSQL."""


def parse_lsn(text: str) -> Lsn:
    """``'16/B374D848'`` -> ``Lsn``; raises ValueError on anything else."""
    high, sep, low = text.partition("/")
    if not sep or not high or not low:
        raise ValueError(f"not an LSN: {text!r} (expected the form 16/B374D848)")
    return Lsn((int(high, 16) << 32) | int(low, 16))


def format_lsn(lsn: int) -> str:
    """``Lsn`` -> ``'16/B374D848'``, the form PostgreSQL prints and accepts."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"
