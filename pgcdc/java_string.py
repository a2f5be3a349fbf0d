"""Java's String.hashCode, which orders the HashMaps whose iteration order Debezium's records show."""

from __future__ import annotations


def java_string_hash(text: str) -> int:
    """String.hashCode over UTF-16 code units, as an unsigned 32-bit value (HashMap spreads and masks it so)."""
    h = 0
    for char in text:
        code = ord(char)
        if code > 0xFFFF:  # a surrogate pair
            code -= 0x10000
            h = (31 * h + 0xD800 + (code >> 10)) & 0xFFFFFFFF
            code = 0xDC00 + (code & 0x3FF)
        h = (31 * h + code) & 0xFFFFFFFF
    return h
