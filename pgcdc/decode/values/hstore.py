"""hstore: pgoutput text -> a JSON string (hstore.handling.mode=json) or a Connect map (map), in Java's order.

Debezium parses the text into a java.util.HashMap (pgjdbc's HStoreConverter) and writes its entries in the map's
iteration order, which follows String.hashCode, not the text. ``java_hash_order`` reproduces that order.
"""

from __future__ import annotations

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values.converter import Converter, malformed
from pgcdc.java_string import java_string_hash

_TREEIFY_THRESHOLD = 8
_MIN_TREEIFY_CAPACITY = 64
# Jackson's escapes: the two-character forms for these, \u00XX (upper-case hex) for other control characters.
_JACKSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
for _code in range(0x20):
    _JACKSON_ESCAPES.setdefault(chr(_code), f"\\u{_code:04X}")
_JACKSON_TABLE = str.maketrans(_JACKSON_ESCAPES)


def hstore_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
    if modes.hstore_handling_mode == "map":
        return lambda text: dict(java_hash_order(parse_hstore(text)))
    return lambda text: jackson_object(java_hash_order(parse_hstore(text)))


def parse_hstore(text: str) -> list[tuple[str, str | None]]:
    """HStoreConverter.fromString: ``"k"=>"v", "k2"=>NULL`` -> pairs in text order, a repeated key kept once."""
    pairs: dict[str, str | None] = {}
    pos = 0
    try:
        while pos < len(text):
            key, end = _quoted(text, text.index('"', pos))
            pos = end + 3
            if text[pos] == "N":
                value: str | None = None
                pos += 4
            else:
                value, pos = _quoted(text, pos)
            pos += 1
            pairs[key] = value
    except (ValueError, IndexError):
        raise malformed("hstore", text) from None
    return list(pairs.items())


def _quoted(text: str, pos: int) -> tuple[str, int]:
    if text[pos] != '"':
        raise ValueError(text)
    chars = []
    pos += 1
    while text[pos] != '"':
        if text[pos] == "\\":
            pos += 1
        chars.append(text[pos])
        pos += 1
    return "".join(chars), pos


def java_hash_order(pairs: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """The iteration order of a HashMap filled with ``pairs`` in order (default capacity and load factor).

    Buckets by the spread hash, insertion order within a bucket; a bucket that would grow past eight entries
    while the table is under 64 slots doubles the table, as HashMap.treeifyBin does. (Tree bins themselves, eight
    colliding keys in a table of 64 or more, keep insertion order here, which HashMap does not promise.)
    """
    capacity = 16
    buckets: dict[int, int] = {}
    spread = []
    for key, _ in pairs:
        h = java_string_hash(key)
        spread.append(h ^ (h >> 16))
    for count, h in enumerate(spread, start=1):
        index = h & (capacity - 1)
        buckets[index] = buckets.get(index, 0) + 1
        if buckets[index] > _TREEIFY_THRESHOLD and capacity < _MIN_TREEIFY_CAPACITY:
            capacity *= 2
            buckets = _recount(spread[:count], capacity)
        if count > capacity * 3 // 4:
            capacity *= 2
            buckets = _recount(spread[:count], capacity)
    mask = capacity - 1
    order = sorted(range(len(pairs)), key=lambda i: (spread[i] & mask, i))
    return [pairs[i] for i in order]


def _recount(spread: list[int], capacity: int) -> dict[int, int]:
    buckets: dict[int, int] = {}
    for h in spread:
        buckets[h & (capacity - 1)] = buckets.get(h & (capacity - 1), 0) + 1
    return buckets


def jackson_object(pairs: list[tuple[str, str | None]]) -> str:
    """A JSON object of string fields as Jackson's JsonGenerator writes it (no spaces)."""
    fields = (
        f'"{jackson_escape(k)}":' + ("null" if v is None else f'"{jackson_escape(v)}"') for k, v in pairs
    )
    return "{" + ",".join(fields) + "}"


def jackson_escape(text: str) -> str:
    return text.translate(_JACKSON_TABLE)
