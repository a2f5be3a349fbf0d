"""Debezium's record headers, as a Kafka Connect worker writes them by default: SimpleHeaderConverter's text.

A worker turns a Connect header into bytes with its ``header.converter``, SimpleHeaderConverter unless set:
the value's string form from Kafka's ``Values``, which is JSON-like but not JSON. A struct is
``{"name":value,...}``; strings inside it are quoted with only ``\\`` and ``"`` escaped (control characters
stay raw); bytes are base64 in quotes; a Decimal is BigDecimal.toString (``1.50``, ``1E-9``), unquoted; Connect's
Date, Time and Timestamp are ISO text, unquoted: a time, a date or both as the instant falls; floats are Java's
spelling. Values arrive here in their JSON form (what the event's key holds), with the field schemas that say how
to read them back. A plain string is written as its UTF-8 bytes, unquoted.
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from typing import Any

import orjson

from pgcdc.decode.values.calendar import iso_date

Schema = dict[str, Any]
Headers = dict[str, str | bytes | None]
"""A record's headers in order (a dict keeps its insertion order, and Debezium's header names are distinct). A dict,
not a list of pairs: confluent-kafka converts a dict to librdkafka's headers without parsing each pair as a tuple,
about a third of the headers' cost per record."""

_MS_PER_DAY = 86_400_000
_DECIMAL = "org.apache.kafka.connect.data.Decimal"
_DATE = "org.apache.kafka.connect.data.Date"
_TIME = "org.apache.kafka.connect.data.Time"
_TIMESTAMP = "org.apache.kafka.connect.data.Timestamp"


def context_headers(*, logical_name: str, run_id: str) -> Headers:
    """Debezium 3's ``extended.headers.enabled`` headers, in its order (DebeziumHeaderProducer): all STRING.

    pgcdc runs one task per connector, so the task id is always Kafka Connect's first, 0; ``connectorName`` is
    the plugin's name, not the connector's.
    """
    return {
        "__debezium.context.connectorLogicalName": logical_name.encode(),
        "__debezium.context.taskId": b"0",
        "__debezium.context.connectorName": b"postgresql",
        "__debezium.context.runId": run_id.encode(),
    }


def new_run_id(now_ms: int | None = None) -> str:
    """A run id as Debezium draws one at each task start: a version 7 (time-ordered, random) UUID."""
    millis = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    random = int.from_bytes(os.urandom(10), "big")  # 80 bits: 12 for rand_a, 62 for rand_b, 6 spare
    high = (millis & 0xFFFF_FFFF_FFFF) << 16 | 0x7000 | random >> 68
    low = 0x8000_0000_0000_0000 | random & 0x3FFF_FFFF_FFFF_FFFF
    return str(uuid.UUID(int=high << 64 | low))


def struct_header(fields: list[Schema], row: dict[str, Any]) -> bytes:
    """A struct (a record key, say) as the header value a worker writes."""
    return _struct(fields, row).encode()


def _struct(fields: list[Schema], row: dict[str, Any]) -> str:
    parts = (f"{_quoted(str(f['field']))}:{_value(f, row.get(str(f['field'])))}" for f in fields)
    return "{" + ",".join(parts) + "}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value(schema: Schema, value: Any) -> str:
    if value is None:
        return "null"
    kind = schema.get("type")
    name = schema.get("name")
    if name == _DECIMAL:
        return _big_decimal(int.from_bytes(base64.b64decode(value), "big", signed=True), _scale(schema))
    if name == _DATE:
        return _java_util_date(value * _MS_PER_DAY)
    if name in (_TIME, _TIMESTAMP):
        return _java_util_date(value)
    if kind == "struct":
        return _struct(schema["fields"], value)
    if kind == "array":
        return "[" + ",".join(_value(schema["items"], item) for item in value) + "]"
    if kind == "map":
        entries = (f"{_value(schema['keys'], k)}:{_value(schema['values'], v)}" for k, v in value.items())
        return "{" + ",".join(entries) + "}"
    if kind in ("string", "bytes"):  # bytes are base64 text in the JSON form already
        return _quoted(value)
    if kind == "boolean":
        return "true" if value else "false"
    if isinstance(value, str):  # NaN and the infinities, which JSON cannot hold as numbers
        return value
    # Integers, and floats (kept as orjson fragments of Java's spelling): the JSON text is Java's text.
    return orjson.dumps(value).decode()


def _scale(schema: Schema) -> int:
    parameters = schema.get("parameters") or {}
    return int(parameters.get("scale", 0))


def _java_util_date(millis: int) -> str:
    """A Date, Time or Timestamp as Connect's Values.dateFormatFor picks its pattern: by the instant, not the
    schema. Before one day past the epoch (every date up to 1970-01-01, and every time) only the clock
    (HH:mm:ss.SSS'Z'); at a midnight after that only the date (yyyy-MM-dd); else both. UTC, as in the usual
    Kafka Connect images (the JVM's zone); dates from 1970-01-02 on need no Julian calendar."""
    day, clock = divmod(millis, _MS_PER_DAY)
    seconds, ms = divmod(clock, 1000)
    minutes, second = divmod(seconds, 60)
    time = f"{minutes // 60:02d}:{minutes % 60:02d}:{second:02d}.{ms:03d}Z"
    if millis < _MS_PER_DAY:
        return time
    date = iso_date(day).lstrip("+")  # SimpleDateFormat's yyyy has no sign beyond 9999
    return date if clock == 0 else f"{date}T{time}"


def _big_decimal(unscaled: int, scale: int) -> str:
    """BigDecimal.toString(): plain unless the scale is negative or the exponent below -6."""
    sign = "-" if unscaled < 0 else ""
    digits = str(abs(unscaled))
    if scale == 0:
        return sign + digits
    adjusted = len(digits) - 1 - scale
    if scale > 0 and adjusted >= -6:
        if len(digits) > scale:
            return f"{sign}{digits[:-scale]}.{digits[-scale:]}"
        return f"{sign}0.{'0' * (scale - len(digits))}{digits}"
    text = sign + digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    if adjusted:
        text += f"E{'+' if adjusted > 0 else ''}{adjusted}"
    return text
