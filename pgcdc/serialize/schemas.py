"""The Connect schemas Debezium writes: source, envelope, key, heartbeat, message, transaction metadata."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def _f(type_: str, field: str, *, optional: bool, **extra: Any) -> Schema:
    # JsonConverter's key order: type, optional, name, version, parameters, default, then field.
    schema: Schema = {"type": type_, "optional": optional}
    schema.update(extra)
    schema["field"] = field
    return schema


SOURCE_SCHEMA: Schema = {
    "type": "struct",
    "fields": [
        _f("string", "version", optional=False),
        _f("string", "connector", optional=False),
        _f("string", "name", optional=False),
        _f("int64", "ts_ms", optional=False),
        _f(
            "string",
            "snapshot",
            optional=True,
            name="io.debezium.data.Enum",
            version=1,
            parameters={
                "allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"
            },
            default="false",
        ),
        _f("string", "db", optional=False),
        _f("string", "sequence", optional=True),
        _f("int64", "ts_us", optional=True),
        _f("int64", "ts_ns", optional=True),
        _f("string", "schema", optional=False),
        _f("string", "table", optional=False),
        _f("int64", "txId", optional=True),
        _f("int64", "lsn", optional=True),
        _f("int64", "xmin", optional=True),
        _f("string", "origin", optional=True),
        _f("int64", "origin_lsn", optional=True),
    ],
    "optional": False,
    "name": "io.debezium.connector.postgresql.Source",
    "version": 1,
    "field": "source",
}

TRANSACTION_SCHEMA: Schema = {
    "type": "struct",
    "fields": [
        _f("string", "id", optional=False),
        _f("int64", "total_order", optional=False),
        _f("int64", "data_collection_order", optional=False),
    ],
    "optional": True,
    "name": "event.block",
    "version": 1,
    "field": "transaction",
}


def row_struct(fields: list[Schema], name: str, field: str) -> Schema:
    return {"type": "struct", "fields": fields, "optional": True, "name": name, "field": field}


def envelope_schema(row_fields: list[Schema], base_name: str) -> Schema:
    """``<prefix>.<schema>.<table>.Envelope``: before, after, source, transaction, op, ts_ms/us/ns."""
    value_name = f"{base_name}.Value"
    return {
        "type": "struct",
        "fields": [
            row_struct(row_fields, value_name, "before"),
            row_struct(row_fields, value_name, "after"),
            SOURCE_SCHEMA,
            TRANSACTION_SCHEMA,
            _f("string", "op", optional=False),
            _f("int64", "ts_ms", optional=True),
            _f("int64", "ts_us", optional=True),
            _f("int64", "ts_ns", optional=True),
        ],
        "optional": False,
        "name": f"{base_name}.Envelope",
        "version": 2,
    }


def key_schema(key_fields: list[Schema], base_name: str) -> Schema:
    return {"type": "struct", "fields": key_fields, "optional": False, "name": f"{base_name}.Key"}


HEARTBEAT_KEY_SCHEMA: Schema = {
    "type": "struct",
    "fields": [_f("string", "serverName", optional=False)],
    "optional": False,
    "name": "io.debezium.connector.common.ServerNameKey",
    "version": 1,
}

HEARTBEAT_VALUE_SCHEMA: Schema = {
    "type": "struct",
    "fields": [_f("int64", "ts_ms", optional=False)],
    "optional": False,
    "name": "io.debezium.connector.common.Heartbeat",
    "version": 1,
}

MESSAGE_KEY_SCHEMA: Schema = {
    "type": "struct",
    "fields": [_f("string", "prefix", optional=True)],
    "optional": False,
    "name": "io.debezium.connector.postgresql.MessageKey",
    "version": 1,
}

MESSAGE_VALUE_SCHEMA: Schema = {
    "type": "struct",
    "fields": [
        _f("string", "op", optional=False),
        _f("int64", "ts_ms", optional=True),
        SOURCE_SCHEMA,
        TRANSACTION_SCHEMA,
        {
            "type": "struct",
            "fields": [_f("string", "prefix", optional=True), _f("bytes", "content", optional=True)],
            "optional": False,
            "name": "io.debezium.connector.postgresql.Message",
            "version": 1,
            "field": "message",
        },
    ],
    "optional": False,
    "name": "io.debezium.connector.postgresql.MessageValue",
    "version": 1,
}

TRANSACTION_KEY_SCHEMA: Schema = {
    "type": "struct",
    "fields": [_f("string", "id", optional=False)],
    "optional": False,
    "name": "io.debezium.connector.common.TransactionMetadataKey",
    "version": 1,
}

TRANSACTION_VALUE_SCHEMA: Schema = {
    "type": "struct",
    "fields": [
        _f("string", "status", optional=False),
        _f("string", "id", optional=False),
        _f("int64", "event_count", optional=True),
        {
            "type": "array",
            "items": {
                "type": "struct",
                "fields": [
                    _f("string", "data_collection", optional=False),
                    _f("int64", "event_count", optional=False),
                ],
                "optional": True,
                "name": "event.collection",
                "version": 1,
            },
            "optional": True,
            "field": "data_collections",
        },
        _f("int64", "ts_ms", optional=False),
    ],
    "optional": False,
    "name": "io.debezium.connector.common.TransactionMetadataValue",
    "version": 1,
}
