"""Change event -> Kafka record bytes as Debezium + JsonConverter write them.

Each table's schema JSON is serialized once; per event only the payload is, and spliced in after the cached
``{"schema":...,"payload":`` prefix. A row event's payload is itself a template per table and transaction (its
``source`` block serialized once), between whose pieces only the rows, the position and the times are joined.
Once a table's template is there, an insert's row and key JSON is written straight from pgoutput's text
(``insert_parts``), without a row dict or an event. orjson writes compact JSON in insertion order, as Jackson
does.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from time import time_ns
from typing import TYPE_CHECKING

from pgcdc import __version__
from pgcdc.decode.values import text_form
from pgcdc.events.change import ChangeEvent, SourcePosition, TransactionBlock, TransactionMarker
from pgcdc.events.table import CapturedTable
from pgcdc.lsn import Lsn
from pgcdc.serialize.assembly import json_bytes, row_json, row_value
from pgcdc.serialize.headers import Headers, context_headers, struct_header
from pgcdc.serialize.schemas import (
    HEARTBEAT_KEY_SCHEMA,
    HEARTBEAT_VALUE_SCHEMA,
    MESSAGE_KEY_SCHEMA,
    MESSAGE_VALUE_SCHEMA,
    TRANSACTION_KEY_SCHEMA,
    TRANSACTION_VALUE_SCHEMA,
    Schema,
    envelope_schema,
    key_schema,
)

if TYPE_CHECKING:
    # Only the plain module defines them: the compiled twin (assembly.pyx) has no type aliases.
    from pgcdc.serialize.assembly import RowColumn, RowPieces

__all__ = ["Headers", "RecordSerializer"]

_SUFFIX = b"}"

# Stands for the event's LSN while a source block is serialized into a template: negative, so never an LSN; a
# template is used only when the mark appears exactly where the LSN goes.
_LSN_MARK = str(0x5EED - 2**63).encode()
_NULL = b"null"
_OPS = {op: op.encode() for op in ("c", "u", "d", "r", "t")}


def _block(block: TransactionBlock | None) -> dict[str, object] | None:
    if block is None:
        return None
    return {
        "id": block.id,
        "total_order": block.total_order,
        "data_collection_order": block.data_collection_order,
    }


def _prefix(schema: Schema) -> bytes:
    return b'{"schema":' + json_bytes(schema) + b',"payload":'


@dataclass(frozen=True, slots=True)
class _TablePrefixes:
    table: CapturedTable
    key: bytes | None
    value: bytes
    row_plan: tuple[tuple[RowColumn, ...], tuple[int, ...]] | None
    """``row_json``'s columns and key columns: a row's JSON straight from its tuple. None for a table with column
    masks (applied to the row's dict) or without a key."""


def _row_plan(table: CapturedTable) -> tuple[tuple[RowColumn, ...], tuple[int, ...]] | None:
    if table.masks is not None or not table.key_fields:
        return None
    columns = tuple(
        (json_bytes(f.name) + b":", f.position, text_form(f.convert), f.convert, json_bytes(f.absent))
        for f in table.fields
    )
    names = [f.name for f in table.fields]
    return columns, tuple(names.index(name) for name in table.key_names)


class _RowTemplate:
    """A row event's value for one table and transaction (source position), in pieces to assemble with the rest.
    Written out, not a dataclass: compiled (records.pxd) its fields are read from the C struct."""

    __slots__ = ("by_op", "lsn_null", "position", "table")

    def __init__(
        self, table: CapturedTable, position: SourcePosition, by_op: dict[str, RowPieces], lsn_null: bool
    ) -> None:
        self.table = table
        self.position = position
        self.by_op = by_op
        """By op, the pieces that go around the event's parts (assembly.RowPieces), the op written in. Pieces
        rather than one %-format: the template is the table's whole schema (2.9 kB for four columns), which %
        scans and copies with a resizing writer, where the assembly allocates once."""
        self.lsn_null = lsn_null
        """The ``lsn`` field is null (an incremental snapshot row): the LSN goes only into ``sequence``."""


class RecordSerializer:
    """Serializes events of one connector; keeps per-table schema prefixes until a relation changes shape."""

    def __init__(self, *, server_name: str, dbname: str, run_id: str | None = None) -> None:
        """``run_id`` (headers.new_run_id) turns on the context headers of every row record; None leaves them out."""
        self._server_name = server_name
        self._dbname = dbname
        # One list for every row record of the run: the producer copies headers, nothing here changes it.
        self._context: Headers | None = (
            None if run_id is None else context_headers(logical_name=server_name, run_id=run_id)
        )
        self._tables: dict[int, _TablePrefixes] = {}
        self._templates: dict[int, _RowTemplate] = {}
        self._first_events: dict[int, SourcePosition] = {}
        self._last_source: tuple[SourcePosition, str, str, dict[str, object]] | None = None
        self._message_key_prefix = _prefix(MESSAGE_KEY_SCHEMA)
        self._message_value_prefix = _prefix(MESSAGE_VALUE_SCHEMA)
        self._heartbeat_key = (
            _prefix(HEARTBEAT_KEY_SCHEMA) + json_bytes({"serverName": server_name}) + _SUFFIX
        )
        self._heartbeat_value_prefix = _prefix(HEARTBEAT_VALUE_SCHEMA)
        self._transaction_key_prefix = _prefix(TRANSACTION_KEY_SCHEMA)
        self._transaction_value_prefix = _prefix(TRANSACTION_VALUE_SCHEMA)

    def _prefixes(self, table: CapturedTable) -> _TablePrefixes:
        cached = self._tables.get(table.oid)
        if cached is not None and cached.table is table:
            return cached
        base = f"{self._server_name}.{table.table.schema}.{table.table.table}"
        fields = [f.schema for f in table.fields]
        if table.masks is not None:
            fields = table.masks.value_fields(fields)
        key_prefix = (
            _prefix(key_schema([f.schema for f in table.key_fields], base)) if table.key_fields else None
        )
        value_prefix = _prefix(envelope_schema(fields, base))
        built = _TablePrefixes(table, key_prefix, value_prefix, _row_plan(table))
        self._tables[table.oid] = built
        return built

    def _template(self, table: CapturedTable, position: SourcePosition) -> _RowTemplate | None:
        """The value template of ``table``'s events in the transaction at ``position``; None when the table's
        names happen to contain the LSN mark (then the payload is built as a dict)."""
        source = json_bytes(
            self._source_block(position, table.table.schema, table.table.table, int(_LSN_MARK))
        )
        lsn_null = position.snapshot == "incremental"
        if source.count(_LSN_MARK) != (1 if lsn_null else 2):
            return None
        around_lsn = source.split(_LSN_MARK)
        to_before = self._prefixes(table).value + b'{"before":'
        to_lsn = b',"source":' + around_lsn[0]
        # An incremental snapshot row's template has no second LSN hole (its piece there is empty).
        between_lsns = around_lsn[1] if len(around_lsn) == 3 else b""
        to_transaction = around_lsn[-1] + b',"transaction":'
        by_op: dict[str, RowPieces] = {
            op: (
                to_before,
                b',"after":',
                to_lsn,
                between_lsns,
                to_transaction,
                b',"op":"' + code + b'","ts_ms":',
                b',"ts_us":',
                b',"ts_ns":',
                b"}}",
            )
            for op, code in _OPS.items()
        }
        built = _RowTemplate(table, position, by_op, lsn_null)
        self._templates[table.oid] = built
        return built

    def _source(self, position: SourcePosition, schema: str, table: str, lsn: int) -> dict[str, object]:
        last = position.last_commit_lsn
        sequence = f'["{last}","{lsn}"]' if last is not None else f'[null,"{lsn}"]'
        cached = self._last_source
        if cached is not None and cached[0] is position and cached[1] == schema and cached[2] == table:
            # Events of one transaction and table share all of the block but their position; it is
            # serialized before the next event, so one dict can serve them all.
            block = cached[3]
            block["sequence"] = sequence
            if block["lsn"] is not None:
                block["lsn"] = lsn
            return block
        block = self._source_block(position, schema, table, lsn)
        self._last_source = (position, schema, table, block)
        return block

    def _source_block(self, position: SourcePosition, schema: str, table: str, lsn: int) -> dict[str, object]:
        last = position.last_commit_lsn
        sequence = f'["{last}","{lsn}"]' if last is not None else f'[null,"{lsn}"]'
        commit_us = position.commit_time_us
        return {
            "version": __version__,
            "connector": "postgresql",
            "name": self._server_name,
            "ts_ms": commit_us // 1000,
            "snapshot": position.snapshot,
            "db": self._dbname,
            "sequence": sequence,
            "ts_us": commit_us,
            "ts_ns": commit_us * 1000,
            "schema": schema,
            "table": table,
            "txId": position.tx_id,
            # Debezium's incremental snapshot rows carry no position of their own: lsn and txId are null.
            "lsn": None if position.snapshot == "incremental" else lsn,
            "xmin": None,
            "origin": None,
            "origin_lsn": None,
        }

    def key(self, event: ChangeEvent) -> bytes | None:
        if event.key is None:
            return None
        if event.table is None:
            return self._message_key_prefix + json_bytes(event.key) + _SUFFIX
        prefix = self._prefixes(event.table).key
        if prefix is None:
            return None
        return b"".join((prefix, json_bytes(event.key), _SUFFIX))  # one copy of the schema, not two

    def value(self, event: ChangeEvent) -> bytes | None:
        if event.tombstone:
            return None
        now_ns = time_ns()
        table: CapturedTable | None = event.table
        if table is None:
            return self._message_value(event, now_ns)
        before, after = event.before, event.after
        if table.masks is not None:
            before, after = table.masks.row(before), table.masks.row(after)
        oid = table.oid
        template: _RowTemplate | None = self._templates.get(oid)
        if template is None or template.position is not event.position or template.table is not table:
            # A template pays off from a table's second event in a transaction on: the first one (a single-row
            # transaction's only one) is built as a dict, which costs less than making the template.
            if self._first_events.get(oid) is event.position:
                template = self._template(table, event.position)
            else:
                self._first_events[oid] = event.position
                template = None
        if template is not None:
            pieces = template.by_op.get(event.op)
            if pieces is not None:
                block = event.transaction
                return row_value(
                    pieces,
                    _NULL if before is None else json_bytes(before),
                    _NULL if after is None else json_bytes(after),
                    _NULL if block is None else json_bytes(_block(block)),
                    event.lsn,
                    not template.lsn_null,
                    now_ns,
                )
        payload = {
            "before": before,
            "after": after,
            "source": self._source(event.position, table.table.schema, table.table.table, event.lsn),
            "transaction": _block(event.transaction),
            "op": event.op,
            "ts_ms": now_ns // 1_000_000,
            "ts_us": now_ns // 1000,
            "ts_ns": now_ns,
        }
        return self._prefixes(table).value + json_bytes(payload) + _SUFFIX

    def insert_parts(
        self, table: CapturedTable, values: Sequence[object], position: SourcePosition
    ) -> tuple[bytes, bytes] | None:
        """An insert's key record and its row's JSON straight from the tuple, without its event, or None: then
        the event is built and serialized as any other. Only where the value has its template already (a
        table's third insert in a transaction on) and the table has no column masks."""
        template: _RowTemplate | None = self._templates.get(table.oid)
        if template is None or template.position is not position or template.table is not table:
            return None
        prefixes = self._prefixes(table)
        plan = prefixes.row_plan
        if plan is None or prefixes.key is None:
            return None
        parts = row_json(plan[0], plan[1], values)
        if parts is None:
            return None
        after, key = parts
        return b"".join((prefixes.key, key, _SUFFIX)), after

    def insert_value(
        self, table: CapturedTable, after: bytes, block: TransactionBlock | None, lsn: Lsn
    ) -> bytes:
        """The value of the insert whose row JSON ``insert_parts`` gave, with its transaction block."""
        template: _RowTemplate = self._templates[table.oid]
        return row_value(
            template.by_op["c"],
            _NULL,
            after,
            _NULL if block is None else json_bytes(_block(block)),
            lsn,
            not template.lsn_null,
            time_ns(),
        )

    @property
    def context(self) -> Headers | None:
        """The context headers every row record carries (None when the run has none)."""
        return self._context

    def _message_value(self, event: ChangeEvent, now_ns: int) -> bytes:
        content = event.message_content or b""
        payload = {
            "op": "m",
            "ts_ms": now_ns // 1_000_000,
            "source": self._source(event.position, "", "", event.lsn),
            "transaction": _block(event.transaction),
            "message": {"prefix": event.message_prefix, "content": base64.b64encode(content).decode()},
        }
        return self._message_value_prefix + json_bytes(payload) + _SUFFIX

    def headers(self, event: ChangeEvent) -> Headers | None:
        """The record's headers, in Debezium's order: the other key of a key-changing update, then (row records
        only: not messages) the context headers, rendered as a Connect worker does."""
        table = event.table
        if table is None:
            return event.headers
        change = event.key_change
        context = self._context
        if change is None and not event.headers:
            return context  # the common case: the same headers for every record
        headers: Headers = {}
        if change is not None:
            headers[change.header] = struct_header([f.schema for f in table.key_fields], change.key)
        headers.update(context or ())
        headers.update(event.headers or ())
        return headers or None

    def transaction_marker(self, marker: TransactionMarker) -> tuple[bytes, bytes]:
        """Key and value of a BEGIN or END record."""
        key = self._transaction_key_prefix + json_bytes({"id": marker.id}) + _SUFFIX
        collections = marker.data_collections
        payload = {
            "status": marker.status,
            "id": marker.id,
            "event_count": marker.event_count,
            "data_collections": None
            if collections is None
            else [{"data_collection": name, "event_count": count} for name, count in collections],
            "ts_ms": marker.position.commit_time_us // 1000,
        }
        return key, self._transaction_value_prefix + json_bytes(payload) + _SUFFIX

    def heartbeat(self, now_ms: int) -> tuple[bytes, bytes]:
        """Key and value of a heartbeat record."""
        return self._heartbeat_key, self._heartbeat_value_prefix + json_bytes({"ts_ms": now_ms}) + _SUFFIX
