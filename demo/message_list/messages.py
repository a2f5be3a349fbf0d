"""A Kafka record as the page shows it: its key and value decoded (JSON, text, bytes or nothing), and a
one-line summary of the change event it carries (op, table, key). Parsing only: never raises on a value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

PREVIEW_BYTES = 2048
"""Bytes of a value shown when it is too large to parse, or is not text."""

OP_LABELS = {
    "c": "create",
    "u": "update",
    "d": "delete",
    "r": "read (snapshot)",
    "t": "truncate",
    "m": "message",
}


@dataclass(frozen=True, slots=True)
class Received:
    """One record as the consumer got it; ``timestamp_ms`` None when the broker gave none."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()

    @property
    def size(self) -> int:
        return len(self.key or b"") + len(self.value or b"")


Kind = Literal["json", "text", "binary", "absent", "too_large"]


@dataclass(frozen=True, slots=True)
class Decoded:
    """A key or value: parsed JSON (``data``), text, a preview of bytes, or absent (null)."""

    kind: Kind
    size: int
    data: Any = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class Summary:
    """The one-line summary: ``op`` is a Debezium op letter, "tombstone", or "" when the value is no event."""

    op: str
    label: str
    table: str
    key: str


@dataclass(frozen=True, slots=True)
class Shown:
    """Everything the page shows of one record."""

    received: Received
    key: Decoded
    value: Decoded
    summary: Summary
    headers: tuple[tuple[str, str], ...] = field(default=())

    @property
    def timestamp(self) -> str:
        if self.received.timestamp_ms is None:
            return "no timestamp"
        moment = datetime.fromtimestamp(self.received.timestamp_ms / 1000, tz=UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} UTC"


def decode(raw: bytes | None, *, limit: int) -> Decoded:
    """JSON when it parses, else text when it is UTF-8, else bytes; over ``limit`` bytes only a preview."""
    if raw is None:
        return Decoded(kind="absent", size=0)
    if len(raw) > limit:
        return Decoded(kind="too_large", size=len(raw), text=raw[:PREVIEW_BYTES].decode("utf-8", "replace"))
    try:
        return Decoded(kind="json", size=len(raw), data=orjson.loads(raw))
    except orjson.JSONDecodeError:
        pass
    try:
        return Decoded(kind="text", size=len(raw), text=raw.decode("utf-8"))
    except UnicodeDecodeError:
        return Decoded(kind="binary", size=len(raw), text=raw[:PREVIEW_BYTES].hex(" "))


def _payload(data: Any) -> Any:
    """The payload of a JsonConverter record with schemas.enable=true; the record itself without schemas."""
    if isinstance(data, dict) and "payload" in data and set(data) <= {"schema", "payload"}:
        return data["payload"]
    return data


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return repr(value)


def key_text(key: Decoded) -> str:
    """``id=5`` for a Debezium key; the key as it is for anything else."""
    if key.kind == "absent":
        return "no key"
    if key.kind != "json":
        return f"{key.size} bytes" if key.kind in ("binary", "too_large") else key.text[:80]
    payload = _payload(key.data)
    if isinstance(payload, dict) and payload:
        return ", ".join(f"{name}={_compact(value)}" for name, value in payload.items())
    return _compact(payload)[:80]


def table_of_topic(topic: str) -> str:
    """``schema.table`` from Debezium's ``<prefix>.<schema>.<table>`` topic names; other names as they are."""
    parts = topic.split(".")
    return ".".join(parts[-2:]) if len(parts) >= 3 else topic


def summarize(received: Received, key: Decoded, value: Decoded) -> Summary:
    keys = key_text(key)
    if value.kind == "absent":
        return Summary(op="tombstone", label="tombstone", table=table_of_topic(received.topic), key=keys)
    if value.kind != "json":
        label = {"text": "not JSON", "binary": "not JSON (bytes)", "too_large": "too large to show"}
        return Summary(op="", label=label.get(value.kind, value.kind), table=received.topic, key=keys)
    envelope = _payload(value.data)
    if not isinstance(envelope, dict) or not isinstance(envelope.get("op"), str):
        return Summary(op="", label="JSON", table=received.topic, key=keys)
    op = envelope["op"]
    source = envelope.get("source")
    table = received.topic
    if isinstance(source, dict) and isinstance(source.get("table"), str):
        table = f"{source.get('schema', '')}.{source['table']}".lstrip(".")
    elif op == "m" and isinstance(envelope.get("message"), dict):
        table = f"prefix {envelope['message'].get('prefix', '')}"
    return Summary(op=op, label=OP_LABELS.get(op, f"op {op}"), table=table, key=keys)


def show(received: Received, *, limit: int) -> Shown:
    key = decode(received.key, limit=limit)
    value = decode(received.value, limit=limit)
    headers = tuple(
        (name, "null" if raw is None else raw.decode("utf-8", "replace")) for name, raw in received.headers
    )
    return Shown(
        received=received, key=key, value=value, summary=summarize(received, key, value), headers=headers
    )
