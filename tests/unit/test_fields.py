"""Field schemas and column defaults, checked against what the real Debezium 3.6 wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.serialize.fields import field_schema
from tests.unit.test_values import JDK17_FLOAT_SPELLINGS, RECORDS, RUNS, TABLES, column, modes_of

USERS_REFERENCE = Path(__file__).parents[3] / "shared" / "reference" / "debezium-3.6-users-events.jsonl"
USERS = [
    ColumnInfo("id", 23, "int4", -1, False, "nextval('users_id_seq'::regclass)"),
    ColumnInfo("first_name", 25, "text", -1, True, None),
    ColumnInfo("last_name", 25, "text", -1, True, None),
    ColumnInfo("email", 25, "text", -1, True, None),
    ColumnInfo("created_at", 1184, "timestamptz", -1, True, "now()"),
]
# Copied from the reference records (Debezium 3.6.3, users table): the value struct's fields.
USERS_FIELDS = (
    '[{"type":"int32","optional":false,"default":0,"field":"id"},'
    '{"type":"string","optional":true,"field":"first_name"},'
    '{"type":"string","optional":true,"field":"last_name"},'
    '{"type":"string","optional":true,"field":"email"},'
    '{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1,'
    '"default":"1970-01-01T00:00:00.000000Z","field":"created_at"}]'
)


def test_users_reference_fields() -> None:
    fields = [field_schema(c, TypeModes()) for c in USERS]
    assert orjson.dumps(fields).decode() == USERS_FIELDS
    assert orjson.dumps(fields[:1]).decode() == '[{"type":"int32","optional":false,"default":0,"field":"id"}]'


@pytest.mark.skipif(not USERS_REFERENCE.exists(), reason="shared/reference is not beside the repository")
def test_users_reference_file_agrees() -> None:
    first = json.loads(USERS_REFERENCE.read_text().splitlines()[0])
    value_fields = first["value"]["schema"]["fields"][1]["fields"]
    assert json.dumps(value_fields, separators=(",", ":")) == USERS_FIELDS
    assert first["key"]["schema"]["fields"] == value_fields[:1]


def schema_cases() -> list[Any]:
    return [
        pytest.param(run, table, col, id=f"{run}-{table}-{col.name}")
        for run, line in RUNS.items()
        for table in line["tables"]
        for col in TABLES[table]
    ]


def key_orders(value: object) -> object:
    """The keys of every object, in order, so that a test can see JsonConverter's field order."""
    if isinstance(value, dict):
        return [(k, key_orders(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [key_orders(v) for v in value]
    return None


@pytest.mark.parametrize(("run", "table", "col"), schema_cases())
def test_field_schemas_match_debezium(run: str, table: str, col: ColumnInfo) -> None:
    expected = next((f for f in RUNS[run]["tables"][table]["value_fields"] if f["field"] == col.name), None)
    got = field_schema(col, modes_of(run))
    if expected is None:  # Debezium left the column out
        assert got is None
        return
    assert got is not None
    written = orjson.dumps(got).decode()
    spelled = RUNS[run]["tables"][table]["default_number_text"].get(col.name)
    if spelled is not None:  # a float default: compare Java's spelling, not the parsed double
        assert f'"default":{JDK17_FLOAT_SPELLINGS.get(spelled, spelled)},' in written
        expected = {k: v for k, v in expected.items() if k != "default"}
        got = {k: v for k, v in got.items() if k != "default"}
        written = orjson.dumps(got).decode()
    assert json.loads(written) == expected
    assert key_orders(json.loads(written)) == key_orders(expected)


@pytest.mark.parametrize(("run", "table", "col"), schema_cases())
def test_key_fields_are_the_same_schemas(run: str, table: str, col: ColumnInfo) -> None:
    for expected in RUNS[run]["tables"][table]["key_fields"]:
        if expected["field"] == col.name:
            assert json.loads(orjson.dumps(field_schema(col, modes_of(run)))) == expected


def test_null_values_are_written_as_the_default() -> None:
    """JsonConverter (replace.null.with.default=true) writes a null field as its schema default: the
    serializer has to do the same, and the default it needs is exactly field_schema's."""
    checked = 0
    for record in RECORDS:
        fields = {f["field"]: f for f in RUNS[record["run"]]["tables"][record["table"]]["value_fields"]}
        for col in TABLES[record["table"]]:
            field = fields.get(col.name, {})
            if col.name in record["text"] and record["text"][col.name] is None and "default" in field:
                assert record["after"][col.name] == field["default"]
                checked += 1
    assert checked > 100


@pytest.mark.parametrize(
    ("type_name", "typmod", "expr", "expected"),
    [
        ("int4", -1, "nextval('t_id_seq'::regclass)", 0),
        ("int4", -1, "'-5'::integer", -5),
        ("int4", -1, "(1 + 2)", None),  # an expression: no default
        ("int2", -1, "'-7'::integer", -7),
        ("int2", -1, "40000", None),  # Short.parseShort refuses it
        ("int8", -1, "'-9223372036854775808'::bigint", -9223372036854775808),
        ("int4", -1, "NULL::integer", None),
        ("text", -1, "'it''s'::text", "it's"),
        ("text", -1, "('a'::text || 'b'::text)", "a"),  # the first literal, as Debezium takes it
        ("text", -1, "upper('q'::text)", ""),
        ("text", -1, "CURRENT_USER", "CURRENT_USER"),
        ("text", -1, "'a\nb'::text", "a\nb"),
        ("text", -1, "NULL::text", None),
        ("bpchar", 8, "'x '::bpchar", "x "),
        ("bool", -1, "true", True),
        ("bool", -1, "(1 = 1)", False),
        ("bool", -1, "NULL::boolean", None),
        ("numeric", 655366, "12.5", "BOI="),
        ("numeric", 655366, "'-3.25'::numeric", "/rs="),
        ("numeric", 655366, "1.234", None),  # setScale(2) would have to round
        ("numeric", 655366, "random()", "AA=="),
        ("numeric", -1, "3.14159", None),  # a VariableScaleDecimal default is a struct, which Connect refuses
        ("numeric", -1, "'NaN'::numeric", None),
        ("float8", -1, "'-2.25'::numeric", -2.25),
        ("float8", -1, "'NaN'::double precision", "NaN"),
        ("float4", -1, "'-Infinity'::real", "-Infinity"),
        ("uuid", -1, "gen_random_uuid()", "00000000-0000-0000-0000-000000000000"),
        ("json", -1, "jsonb_build_object('a', 1)", "{}"),
        ("date", -1, "CURRENT_DATE", 0),
        ("date", -1, "'2024-02-29'::date", 19782),
        ("date", -1, "'0044-03-15 BC'::date", -735160),
        ("date", -1, "'infinity'::date", 169560311),
        ("time", -1, "LOCALTIME", 0),
        ("time", -1, "'24:00:00'::time without time zone", 86399999999),
        ("time", 3, "'01:02:03.456'::time without time zone", 3723456),
        ("timestamp", -1, "'-infinity'::timestamp without time zone", -9223372036854775808),
        ("timestamp", 3, "'infinity'::timestamp without time zone", None),
        ("timestamp", -1, "now()", 0),
        (
            "timestamptz",
            -1,
            "'2024-01-02 06:34:05+05:30'::timestamp with time zone",
            "2024-01-02T01:04:05.000000Z",
        ),
        ("timestamptz", 3, "now()", "1970-01-01T00:00:00.000Z"),
        ("timestamptz", 0, "now()", "1970-01-01T00:00:00Z"),
        ("timestamptz", -1, "'infinity'::timestamp with time zone", None),
        ("timetz", -1, "'10:11:12+03'::time with time zone", None),  # Debezium has no parser for timetz
        ("bytea", -1, "'\\x00ff'::bytea", None),
    ],
)
def test_defaults(type_name: str, typmod: int, expr: str, expected: object) -> None:
    schema = field_schema(column(type_name, typmod, default=expr), TypeModes())
    assert schema is not None
    assert json.loads(orjson.dumps(schema.get("default"))) == expected
    assert list(schema)[-1] == "field"


def test_optional_follows_not_null_and_unsupported_types_have_no_schema() -> None:
    assert field_schema(column("int4", optional=False), TypeModes()) == {
        "type": "int32",
        "optional": False,
        "field": "c",
    }
    assert field_schema(column("tsquery"), TypeModes()) is None
    assert field_schema(column("_text"), TypeModes()) is None  # an array needs its element type


def test_schemas_are_fresh_objects() -> None:
    """Callers may mutate what they get (e.g. to add a field name); nothing is shared between calls."""
    modes = TypeModes()
    first = field_schema(column("numeric"), modes)
    second = field_schema(column("numeric"), modes)
    assert first == second and first is not second
    assert first is not None and second is not None
    assert first["fields"] is not second["fields"]
