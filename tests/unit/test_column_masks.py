"""column.truncate / column.mask: settings, Debezium's column lengths, the hashes and the records they change.

The expected digests are the ones the real Debezium 3.6.3 wrote (tests/differential/test_column_masks_debezium.py
checks the rest against it) or computed here from their definition with hashlib.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest

from pgcdc.api.shapes import validate_config
from pgcdc.config import ConnectorConfig, parse_config, setting_for
from pgcdc.decode.messages import RelationColumn, RelationMessage
from pgcdc.decode.relation import ColumnInfo
from pgcdc.errors import ConfigError
from pgcdc.events.change import ChangeEvent, SourcePosition
from pgcdc.events.column_masks import (
    UNKNOWN_LENGTH,
    column_length,
    is_character,
    java_serialized,
    java_truncated,
)
from pgcdc.events.table import CapturedTable, build_table
from pgcdc.lsn import Lsn
from pgcdc.serialize.records import RecordSerializer

BASE = {"database.url": "postgres://u@h/db", "topic.prefix": "p"}


def config(**rules: str) -> ConnectorConfig:
    return parse_config({**BASE, **{k.replace("_", "."): v for k, v in rules.items()}}, env={})


def rules_of(settings: dict[str, str]) -> list[tuple[str, str, int, str, bytes]]:
    parsed = parse_config({**BASE, **settings}, env={})
    return [(r.key, r.kind, r.length, r.algorithm, r.salt) for r in parsed.column_rules]


def test_rules_parse_in_debeziums_order() -> None:
    settings = {
        "column.mask.hash.v2.md5.with.salt.a.b": "public.t.h2",
        "column.mask.hash.SHA-256.with.salt.s@lt": "public.t.h1",
        "column.mask.with.3.chars": "public.t.m",
        "column.truncate.to.20.chars": "public.t.c",
    }
    assert rules_of(settings) == [
        ("column.truncate.to.20.chars", "truncate", 20, "", b""),
        ("column.mask.with.3.chars", "mask", 3, "", b""),
        ("column.mask.hash.SHA-256.with.salt.s@lt", "hash", 0, "sha256", b"s@lt"),
        ("column.mask.hash.v2.md5.with.salt.a.b", "hash_v2", 0, "md5", b"a.b"),
    ]


@pytest.mark.parametrize(
    ("name", "algorithm"),
    [
        *(
            ("SHA", "sha1"),
            ("sha1", "sha1"),
            ("Sha-224", "sha224"),
            ("SHA256", "sha256"),
            ("SHA-384", "sha384"),
        ),
        *(("sha-512", "sha512"), ("SHA-512/256", "sha512_256"), ("SHA512/224", "sha512_224")),
        *(("SHA3-256", "sha3_256"), ("sha3-512", "sha3_512"), ("MD5", "md5")),
    ],
)
def test_java_algorithm_names_map_to_hashlib(name: str, algorithm: str) -> None:
    assert rules_of({f"column.mask.hash.{name}.with.salt.x": "s.t.c"})[0][3] == algorithm


def test_a_column_matches_whole_patterns_ignoring_case() -> None:
    parsed = config(**{"column.mask.with.3.chars": r"PUBLIC.USERS.E.*,public\.cards\.number"})
    assert parsed.column_rules_for("public", "users", "email")[0].length == 3
    assert parsed.column_rules_for("public", "cards", "number")
    assert not parsed.column_rules_for("public", "cards", "number2")
    assert not parsed.column_rules_for("other", "users", "email")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("column.mask.with.0.chars", "s.t.c", "column.mask.with.0.chars: the number of characters must be"),
        ("column.truncate.to.0.chars", "s.t.c", "must be a whole number from 1 to 2147483647"),
        ("column.truncate.to.9999999999.chars", "s.t.c", "from 1 to 2147483647"),
        (
            "column.truncate.to.ten.chars",
            "s.t.c",
            "is not a column rule pgcdc knows: write column.truncate.to",
        ),
        ("column.mask.with.3", "s.t.c", "column.mask.with.3 is not a column rule pgcdc knows"),
        ("column.mask.hash.SHA-256.with.salt.", "s.t.c", "is not a column rule pgcdc knows"),
        (
            "column.mask.hash.SHA-999.with.salt.x",
            "s.t.c",
            "'SHA-999' is not a hash algorithm pgcdc can compute",
        ),
        ("column.mask.hash.MD2.with.salt.x", "s.t.c", "use one of Java's MessageDigest names MD5, SHA-1"),
        ("column.mask.hash.v2.with.salt.x", "s.t.c", "'v2' is not a hash algorithm"),
        (
            "column.mask.with.3.chars",
            "public.t.(",
            "column.mask.with.3.chars: 'public.t.(' is not a valid regular",
        ),
        (
            "column.mask.with.3.chars",
            " ",
            "column.mask.with.3.chars lists no columns: set it to comma-separated",
        ),
        ("transforms", "unwrap", "transforms is not supported by pgcdc yet"),
        ("predicates.p.type", "x", "predicates.p.type is not supported by pgcdc yet"),
    ],
)
def test_bad_rules_name_the_key_and_what_to_write(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({**BASE, key: value}, env={})
    assert str(err.value).startswith(key)
    assert message in str(err.value)


def col(type_name: str, typmod: int = -1, **extra: Any) -> ColumnInfo:
    return ColumnInfo("c", 0, type_name, typmod, True, None, **extra)


@pytest.mark.parametrize(
    ("column", "streamed", "snapshot"),
    [
        (col("varchar", 9), 5, 5),
        (col("varchar"), UNKNOWN_LENGTH, UNKNOWN_LENGTH),
        (col("bpchar", 8), 4, 4),
        (col("char"), 1, 1),
        (col("bool"), 1, 1),
        (col("text"), UNKNOWN_LENGTH, UNKNOWN_LENGTH),
        (col("name"), UNKNOWN_LENGTH, UNKNOWN_LENGTH),
        (col("int2"), 5, 5),
        (col("int4"), 10, 10),
        (col("int8"), 19, 19),
        (col("float8"), 17, 17),
        (col("numeric", (7 << 16) + 2 + 4), 7, 7),
        # pgjdbc's precision of an unconstrained numeric is 0: JDBC keeps it, the stream takes the display size
        (col("numeric"), 131089, 0),
        (col("numeric", type_kind="d"), 131089, 131089),
        (col("_numeric", element_type_name="numeric"), 131089, 131089),
        (col("_varchar", 9, element_type_name="varchar"), 5, 5),
        (col("date"), 13, 13),
        (col("time"), 15, 15),
        (col("time", 3), 12, 12),
        (col("timestamp", 0), 22, 22),
        (col("timestamptz"), 35, 35),
        (col("timetz", 6), 21, 21),
        (col("interval"), 49, 49),
        (col("bit", 3), 3, 3),
        (col("varbit"), UNKNOWN_LENGTH, UNKNOWN_LENGTH),
        (col("bytea"), UNKNOWN_LENGTH, UNKNOWN_LENGTH),
        (col("json"), UNKNOWN_LENGTH, UNKNOWN_LENGTH),
        (col("mood", enum_values=("happy", "sad")), UNKNOWN_LENGTH, UNKNOWN_LENGTH),
    ],
    ids=lambda v: v.type_name + str(v.type_modifier) if isinstance(v, ColumnInfo) else str(v),
)
def test_column_length_is_pgjdbcs(column: ColumnInfo, streamed: int, snapshot: int) -> None:
    assert column_length(column, snapshot=False) == streamed
    assert column_length(column, snapshot=True) == snapshot


def test_character_columns_are_jdbc_char_and_varchar() -> None:
    assert all(is_character(col(t)) for t in ("text", "varchar", "bpchar", "char", "name"))
    assert is_character(col("mood", enum_values=("a",)))
    assert not any(is_character(col(t)) for t in ("json", "uuid", "citext", "xml", "inet", "int4", "bytea"))
    assert not is_character(col("_text", element_type_name="text"))


def test_java_serialization_of_strings() -> None:
    assert java_serialized("r1") == bytes.fromhex("aced0005740002") + b"r1"
    # modified UTF-8: a character outside the BMP is two 3-byte surrogates, NUL is two bytes
    assert java_serialized("é😀\0") == bytes.fromhex("aced000574000a" + "c3a9" + "eda0bdedb880" + "c080")
    assert java_serialized("") == bytes.fromhex("aced0005740000")
    assert java_serialized("é€") == bytes.fromhex("aced0005740005c3a9e282ac")
    long = "x" * 70000
    assert java_serialized(long) == bytes.fromhex("aced00057c") + (70000).to_bytes(8, "big") + long.encode()


def test_java_truncation_counts_utf16_units() -> None:
    assert java_truncated("hello world", 5) == "hello"
    assert java_truncated("héllo", 2) == "hé"
    assert java_truncated("😀éxyz", 2) == "😀"
    assert java_truncated("😀éxyz", 3) == "😀é"
    assert java_truncated("é😀xyz", 2) == "é"  # Java would keep half of the emoji
    assert java_truncated("é😀", 3) == "é😀"
    assert java_truncated("", 1) == ""


# Relation of a table with a text key, an optional text with a default, a NOT NULL text with a default, a
# varchar(5), a json, an int and a bytea.
CATALOG = {
    "id": ColumnInfo("id", 25, "text", -1, False, None),
    "note": ColumnInfo("note", 25, "text", -1, True, "'dflt'::text"),
    "code": ColumnInfo("code", 25, "text", -1, False, "'nn-dflt'::text"),
    "v5": ColumnInfo("v5", 1043, "varchar", 9, True, None),
    "doc": ColumnInfo("doc", 114, "json", -1, True, None),
    "n": ColumnInfo("n", 23, "int4", -1, True, None),
    "raw": ColumnInfo("raw", 17, "bytea", -1, True, None),
}
RELATION = RelationMessage(
    16384,
    "public",
    "t",
    "d",
    tuple(RelationColumn(int(c.name == "id"), c.name, c.type_oid, c.type_modifier) for c in CATALOG.values()),
)
ROW_TEXT = ("r1", "hello world", "some code", "abcde", '{"a": 1}', "123456", "\\xdeadbeefcafe")
NULLS = ("r2", None, None, None, None, None, None)


def table_with(rules: dict[str, str], *, snapshot: bool = False) -> tuple[CapturedTable, list[str]]:
    warnings: list[str] = []
    parsed = parse_config({**BASE, **rules}, env={})
    table = build_table(RELATION, CATALOG, ("id",), parsed, warn=warnings.append, snapshot=snapshot)
    return table, warnings


def record(table: CapturedTable, values: tuple[str | None, ...]) -> tuple[Any, Any]:
    row = table.row(values)
    event = ChangeEvent("c", table, table.key(row), None, row, SourcePosition(1, 0, None), Lsn(1), None)
    serializer = RecordSerializer(server_name="p", dbname="db")
    key, value = serializer.key(event), serializer.value(event)
    assert key is not None and value is not None
    return orjson.loads(key), orjson.loads(value)


def fields(document: Any) -> dict[str, Any]:
    return {f["field"]: f for f in document["schema"]["fields"][1]["fields"]}


def test_mask_with_asterisks_changes_character_values_and_marks_every_matched_schema() -> None:
    table, _ = table_with({"column.mask.with.3.chars": "public.t.*"})
    key, value = record(table, ROW_TEXT)
    assert key["payload"] == {"id": "r1"}
    assert key["schema"]["fields"] == [{"type": "string", "optional": False, "field": "id"}]
    after = value["payload"]["after"]
    assert after == {
        "id": "***",
        "note": "***",
        "code": "***",
        "v5": "***",
        "doc": '{"a": 1}',
        "n": 123456,
        "raw": "3q2+78r+",
    }
    schemas = fields(value)
    assert all(s["parameters"] == {"masked": "true"} for s in schemas.values())
    assert list(schemas["note"]) == ["type", "optional", "parameters", "default", "field"]
    assert schemas["note"]["default"] == "dflt"
    # the mapper sees NULL itself and answers asterisks
    assert record(table, NULLS)[1]["payload"]["after"]["note"] == "***"
    assert table.row(ROW_TEXT)["id"] == "r1", "the event keeps the real values; only the record is masked"


def test_hash_v1_hashes_javas_serialization_and_v2_the_utf8_bytes() -> None:
    v1, _ = table_with({"column.mask.hash.SHA-256.with.salt.s@lt.x": "public.t.id,public.t.v5"})
    v2, _ = table_with({"column.mask.hash.v2.MD5.with.salt.pepper": "public.t.id,public.t.note,public.t.doc"})
    after = record(v1, ROW_TEXT)[1]["payload"]["after"]
    # What Debezium 3.6.3 wrote for 'r1' under the same rule.
    assert after["id"] == "8d54d36e42cf3c6e2be36183df44e5f72d16b0c676ec40ad362ee5209183879c"
    # cut to varchar(5)'s length
    assert (
        after["v5"] == hashlib.sha256(b"s@lt.x" + bytes.fromhex("aced0005740005") + b"abcde").hexdigest()[:5]
    )
    after = record(v2, ROW_TEXT)[1]["payload"]["after"]
    assert after["id"] == "7929a5a7acfaf16551dc8e7e0d52e1fe"
    assert after["note"] == hashlib.md5(b"pepperhello world").hexdigest()
    assert after["doc"] == '{"a": 1}'
    # NULL stays NULL, which JsonConverter writes as the column's default, unmasked
    assert record(v2, NULLS)[1]["payload"]["after"]["note"] == "dflt"


def test_non_ascii_values_hash_as_debezium_hashed_them() -> None:
    v2, _ = table_with({"column.mask.hash.v2.MD5.with.salt.pepper": "public.t.note"})
    v1, _ = table_with({"column.mask.hash.SHA-256.with.salt.s@lt.x": "public.t.note"})
    values = ("r1", "é😀xyzw", *ROW_TEXT[2:])
    assert record(v2, values)[1]["payload"]["after"]["note"] == "1dc2fe37963d47a618a664831dd47f60"
    assert (
        record(v1, values)[1]["payload"]["after"]["note"]
        == "c86f6dcf7bd7ed70e22ea29e94412a190a5852e2265a739ebfb04dbd1aa9acae"
    )


def test_a_not_null_column_without_its_value_hashes_its_default() -> None:
    table, _ = table_with({"column.mask.hash.v2.MD5.with.salt.pepper": "public.t.code"})
    # a key-only old tuple (a delete under REPLICA IDENTITY DEFAULT) has no value for code
    row = table.row(("r1", None, None, None, None, None, None))
    event = ChangeEvent("d", table, table.key(row), row, None, SourcePosition(1, 0, None), Lsn(1), None)
    value = orjson.loads(RecordSerializer(server_name="p", dbname="db").value(event) or b"")
    assert value["payload"]["before"]["code"] == hashlib.md5(b"peppernn-dflt").hexdigest()


def test_truncate_cuts_strings_and_bytes_and_marks_columns_longer_than_n() -> None:
    table, _ = table_with({"column.truncate.to.2.chars": "public.t.*"})
    key, value = record(table, ROW_TEXT)
    assert key["payload"] == {"id": "r1"}
    after = value["payload"]["after"]
    assert after == {
        "id": "r1",
        "note": "he",
        "code": "so",
        "v5": "ab",
        "doc": '{"',
        "n": 123456,
        "raw": "3q0=",
    }
    assert {n: s.get("parameters") for n, s in fields(value).items()} == {
        name: {"truncateLength": "2"} for name in CATALOG
    }
    # NULL stays NULL: JsonConverter writes the default, whole
    assert record(table, NULLS)[1]["payload"]["after"]["note"] == "dflt"
    wide, _ = table_with({"column.truncate.to.10.chars": "public.t.*"})
    params = {n: s.get("parameters") for n, s in fields(record(wide, ROW_TEXT)[1]).items()}
    assert params["v5"] is None and params["n"] is None, "varchar(5) and int4 (10) cannot exceed 10"
    assert params["note"] == {"truncateLength": "10"}


def test_first_rule_wins_and_two_rules_of_one_kind_warn() -> None:
    table, warnings = table_with(
        {
            "column.mask.with.3.chars": "public.t.note",
            "column.truncate.to.2.chars": "public.t.note,public.t.v5",
            "column.truncate.to.4.chars": "public.t.v5",
        }
    )
    after = record(table, ROW_TEXT)[1]["payload"]["after"]
    assert after["note"] == "he"
    assert after["v5"] == "ab"
    assert warnings == [
        "column public.t.v5 matches both column.truncate.to.2.chars and column.truncate.to.4.chars; pgcdc "
        "applies the first, Debezium the first in its hash map's order: make their patterns disjoint"
    ]


def test_tables_without_matching_rules_carry_no_masks() -> None:
    table, _ = table_with({"column.mask.with.3.chars": "public.other.*"})
    assert table.masks is None
    assert table_with({})[0].masks is None


def test_rule_keys_are_documented_and_validated_under_their_own_name() -> None:
    assert setting_for("column.mask.with.8.chars").key == "column.mask.with.<N>.chars"  # type: ignore[union-attr]
    assert setting_for("column.truncate.to.x.chars") is None
    key = "column.mask.hash.v2.SHA-256.with.salt.k"
    infos = validate_config("x", {**BASE, key: "public.t.c", "column.mask.with.0.chars": "public.t.d"})
    configs = {c["definition"]["name"]: c for c in infos["configs"]}
    assert "UTF-8 bytes" in configs[key]["definition"]["documentation"]
    assert configs["column.mask.with.0.chars"]["value"]["errors"] == [
        "column.mask.with.0.chars: the number of characters must be a whole number from 1 to 2147483647 "
        "(e.g. column.mask.with.8.chars)"
    ]
