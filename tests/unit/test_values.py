"""Column text -> JSON values, checked against what the real Debezium 3.6 wrote (tests/data/)."""

from __future__ import annotations

import base64
import contextlib
import json
import random
import string
from pathlib import Path
from typing import Any

import orjson
import pytest

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values import value_converter
from pgcdc.decode.values.calendar import epoch_day, iso_date, zoned_timestamp
from pgcdc.decode.values.java_number import (
    decimal_base64,
    float32_shortest,
    java_double,
    java_float,
    plain_decimal,
)
from pgcdc.errors import DecodeError
from pgcdc.serialize.fields import field_schema

DATA = Path(__file__).parent.parent / "data" / "debezium-types.jsonl"
_MODE_SETTINGS = {
    "time.precision.mode": "time_precision_mode",
    "decimal.handling.mode": "decimal_handling_mode",
    "binary.handling.mode": "binary_handling_mode",
    "interval.handling.mode": "interval_handling_mode",
    "hstore.handling.mode": "hstore_handling_mode",
    "money.fraction.digits": "money_fraction_digits",
    "include.unknown.datatypes": "include_unknown_datatypes",
}
_MODE_VALUES: dict[str, Any] = {
    "money.fraction.digits": int,
    "include.unknown.datatypes": lambda v: v == "true",
}
# The oracle ran on JDK 17, whose Float.toString is not always the shortest decimal; JDK 19+ and pgcdc (which
# keeps PostgreSQL's shortest digits) write the shortest one. This is the only value where that shows.
JDK17_FLOAT_SPELLINGS = {"-1.17549435E-38": "-1.1754944E-38"}


def jdk17_parsed(value: Any) -> Any:
    """A parsed value with JDK 17's float spellings read as the shortest ones (inside arrays, say)."""
    if isinstance(value, list):
        return [jdk17_parsed(v) for v in value]
    if isinstance(value, float):
        return next((float(s) for j, s in JDK17_FLOAT_SPELLINGS.items() if value == float(j)), value)
    return value


def load_reference() -> tuple[dict[str, list[ColumnInfo]], dict[str, Any], list[dict[str, Any]]]:
    # Not splitlines(): values hold U+2028, which it would split on.
    lines = [json.loads(line) for line in DATA.read_text().split("\n") if line]
    tables = {
        line["table"]: [ColumnInfo(**{**c, "enum_values": tuple(c["enum_values"])}) for c in line["columns"]]
        for line in lines
        if line["kind"] == "table"
    }
    runs = {line["run"]: line for line in lines if line["kind"] == "run"}
    records = [line for line in lines if line["kind"] == "record"]
    return tables, runs, records


TABLES, RUNS, RECORDS = load_reference()


def modes_of(run: str) -> TypeModes:
    config = RUNS[run]["config"].items()
    return TypeModes(**{_MODE_SETTINGS[k]: _MODE_VALUES.get(k, str)(v) for k, v in config})


def column(
    type_name: str, type_modifier: int = -1, *, optional: bool = True, default: str | None = None
) -> ColumnInfo:
    return ColumnInfo("c", 0, type_name, type_modifier, optional, default)


def json_of(value: object) -> str:
    return orjson.dumps(value).decode()


def streamed_cases() -> list[Any]:
    """One case per (run, row, column) that Debezium streamed with a non-null text."""
    cases = []
    for record in RECORDS:
        if record["phase"] != "stream":
            continue
        for col in TABLES[record["table"]]:
            text = record["text"].get(col.name)  # toasted: only id and n, the rest was not sent
            if text is not None and col.name in record["after"]:
                case_id = f"{record['run']}-{record['table']}-{record['id']}-{col.name}"
                cases.append(pytest.param(record, col, text, id=case_id))
    return cases


@pytest.mark.parametrize(("record", "col", "text"), streamed_cases())
def test_streamed_values_match_debezium(record: dict[str, Any], col: ColumnInfo, text: str) -> None:
    convert = value_converter(col, modes_of(record["run"]))
    assert convert is not None
    value = convert(text)
    expected = record["after"][col.name]
    if value is None:  # Debezium left the field null; JsonConverter then wrote the default, if any
        field = next(
            f
            for f in RUNS[record["run"]]["tables"][record["table"]]["value_fields"]
            if f["field"] == col.name
        )
        assert expected == field.get("default")
        return
    spelled = record["number_text"].get(col.name)
    if spelled is None:
        assert json.loads(json_of(value)) == jdk17_parsed(expected)
    else:  # a JSON number with a fraction or exponent: compare Java's spelling
        assert json_of(value) == JDK17_FLOAT_SPELLINGS.get(spelled, spelled)


def absent_cases() -> list[Any]:
    """Columns Debezium left out of its events (unknown types, arrays of unmapped types)."""
    cases = []
    for run, line in RUNS.items():
        for table, shapes in line["tables"].items():
            present = {f["field"] for f in shapes["value_fields"]}
            for col in TABLES[table]:
                if col.name not in present:
                    cases.append(pytest.param(run, col, id=f"{run}-{table}-{col.name}"))
    return cases


@pytest.mark.parametrize(("run", "col"), absent_cases())
def test_columns_debezium_leaves_out_have_no_converter(run: str, col: ColumnInfo) -> None:
    assert value_converter(col, modes_of(run)) is None


def test_reference_covers_every_mode() -> None:
    assert {run for run in RUNS} == {
        "adaptive",
        "connect",
        "microseconds",
        "nanoseconds",
        "isostring",
        "adaptive_time_microseconds",
    }
    assert sum(1 for r in RECORDS if r["phase"] == "stream") > 380
    assert len(absent_cases()) > 40


# --- hand-picked cases ---------------------------------------------------------------------------------

ADAPTIVE = TypeModes()


@pytest.mark.parametrize(
    ("type_name", "typmod", "text", "expected"),
    [
        ("int2", -1, "-32768", "-32768"),
        ("int8", -1, "9223372036854775807", "9223372036854775807"),
        ("bool", -1, "t", "true"),
        ("bool", -1, "f", "false"),
        ("bpchar", 9, "ab   ", '"ab   "'),
        ("numeric", 655366, "12.50", '"BOI="'),  # numeric(10,2): 1250
        ("numeric", 655366, "-0.01", '"/w=="'),
        ("numeric", -1, "1.0000", '{"scale":0,"value":"AQ=="}'),
        ("numeric", -1, "-0.000001", '{"scale":6,"value":"/w=="}'),
        ("numeric", -1, "100", '{"scale":0,"value":"ZA=="}'),
        ("float8", -1, "1e+16", "1.0E16"),
        ("float8", -1, "0.0001", "1.0E-4"),
        ("float8", -1, "-Infinity", '"-Infinity"'),
        ("float4", -1, "1e-45", "1.4E-45"),
        ("float4", -1, "NaN", '"NaN"'),
        ("date", -1, "0044-03-15 BC", "-735160"),
        ("date", -1, "infinity", "-2147472692"),
        ("time", -1, "24:00:00", "86400000000"),
        ("time", 3, "23:59:59.999", "86399999"),
        ("timestamp", -1, "2262-04-11 23:47:16.854775", "9223372036854775"),
        (
            "timestamp",
            -1,
            "294276-12-31 23:59:59.999999",
            "-9223372036853775810",
        ),  # Debezium's overflow, kept
        ("timestamp", 3, "-infinity", "-9223372036832400"),
        ("timestamptz", -1, "2024-01-01 09:00:00+00", '"2024-01-01T09:00:00.000000Z"'),
        ("timestamptz", -1, "2024-01-03 15:45:30.123456+05:30", '"2024-01-03T10:15:30.123456Z"'),
        ("timestamptz", 3, "2024-01-03 10:15:30.12+00", '"2024-01-03T10:15:30.120Z"'),
        ("timestamptz", 0, "2024-01-01 09:00:01+00", '"2024-01-01T09:00:01Z"'),
        ("timestamptz", -1, "0001-01-01 05:53:28+05:53:28", '"0001-01-01T00:00:00.000000Z"'),
        ("timestamptz", -1, "0044-03-15 12:00:00.5+00 BC", '"-0043-03-15T12:00:00.500000Z"'),
        ("timestamptz", -1, "10000-01-01 00:00:00.25+00", '"+10000-01-01T00:00:00.250000Z"'),
        ("timestamptz", 6, "infinity", '"infinity"'),
        ("timetz", -1, "10:11:12+03", '"07:11:12Z"'),
        ("timetz", -1, "12:00:00.5+05:30", '"06:30:00.5Z"'),
        ("timetz", -1, "24:00:00+00", '"00:00:00Z"'),
        ("bytea", -1, "\\x00ff80", '"AP+A"'),
        ("bytea", -1, "\\x", '""'),
        ("uuid", -1, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", '"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"'),
        ("jsonb", -1, '{"a": 1}', '"{\\"a\\": 1}"'),
    ],
)
def test_adaptive_values(type_name: str, typmod: int, text: str, expected: str) -> None:
    convert = value_converter(column(type_name, typmod), ADAPTIVE)
    assert convert is not None
    assert json_of(convert(text)) == expected


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("bytes", '"3q2+7w=="'),
        ("base64", '"3q2+7w=="'),
        ("base64-url-safe", '"3q2-7w=="'),
        ("hex", '"deadbeef"'),
    ],
)
def test_binary_modes(mode: str, expected: str) -> None:
    convert = value_converter(column("bytea"), TypeModes(binary_handling_mode=mode))  # type: ignore[arg-type]
    assert convert is not None
    assert json_of(convert("\\xdeadbeef")) == expected


@pytest.mark.parametrize(
    ("mode", "text", "expected"),
    [
        ("double", "12.50", "12.5"),
        ("double", "NaN", '"NaN"'),
        ("string", "12.50", '"12.50"'),
        ("string", "Infinity", '"POSITIVE_INFINITY"'),
        ("string", "NaN", '"NAN"'),
    ],
)
def test_decimal_modes(mode: str, text: str, expected: str) -> None:
    convert = value_converter(column("numeric", 655366), TypeModes(decimal_handling_mode=mode))  # type: ignore[arg-type]
    assert convert is not None
    assert json_of(convert(text)) == expected


def test_numeric_nan_in_precise_mode_is_null_or_stops() -> None:
    optional = value_converter(column("numeric"), ADAPTIVE)
    required = value_converter(column("numeric", optional=False), ADAPTIVE)
    assert optional is not None and required is not None
    assert optional("NaN") is None  # Debezium logs and leaves the field null
    with pytest.raises(DecodeError, match="NOT NULL"):
        required("Infinity")


def test_nanosecond_timestamps_outside_int64_are_null() -> None:
    convert = value_converter(column("timestamp"), TypeModes(time_precision_mode="nanoseconds"))
    assert convert is not None
    assert convert("2262-04-11 23:47:16.854775") == 9223372036854775000
    assert convert("1677-09-21 12:00:00") is None  # Debezium multiplies the day out first, which overflows
    assert convert("infinity") == 2**63 - 1


def test_timetz_offset_with_seconds_stops_like_debezium() -> None:
    convert = value_converter(column("timetz"), ADAPTIVE)
    assert convert is not None
    with pytest.raises(DecodeError):
        convert("12:00:00+05:30:15")


def test_unsupported_types_have_no_converter() -> None:
    for type_name in ("tsquery", "box", "pg_lsn", "my_composite"):
        assert value_converter(column(type_name), ADAPTIVE) is None
    for element in ("interval", "money", "xml", "point", "varbit", "tsquery"):
        array = ColumnInfo("c", 0, "_" + element, -1, True, None, element_type_name=element)
        assert value_converter(array, TypeModes(include_unknown_datatypes=True)) is None


SUPPORTED = [
    "int2",
    "int4",
    "int8",
    "bool",
    "float4",
    "float8",
    "numeric",
    "text",
    "varchar",
    "bpchar",
    "uuid",
    "json",
    "jsonb",
    "date",
    "time",
    "timestamp",
    "timestamptz",
    "timetz",
    "bytea",
    "money",
    "interval",
    "point",
    "hstore",
    "bit",
    "varbit",
    "oid",
    "_int4",
    "_numeric",
    "_date",
    "_timestamp",
    "_timestamptz",
    "_time",
    "_timetz",
    "_text",
    "_mood",
]
MALFORMED = [
    "",
    " ",
    "x",
    "1_000",
    "12:",
    "2024-13-01",
    "2024-02-30 10:00:00+00",
    "25:00:00",
    "\\x0",
    "\\xzz",
    "1e999",
    "-",
    "+",
    "..",
    "2024-01-01 10:00:00+0530",
    "99999999999-01-01",
    "\x00",
    "١٢",
]


@pytest.mark.parametrize("mode", ["adaptive", "connect", "nanoseconds", "isostring"])
@pytest.mark.parametrize("type_name", SUPPORTED)
def test_bad_text_raises_decode_error_only(type_name: str, mode: str) -> None:
    """External input never escapes as anything but DecodeError (text types accept anything)."""
    modes = TypeModes(time_precision_mode=mode, decimal_handling_mode="precise")  # type: ignore[arg-type]
    rng = random.Random(type_name + mode)
    alphabet = string.digits + '-:.+ eEBCADxinfty\\{}",()$=>N'
    samples = MALFORMED + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(300)
    ]
    for typmod in (-1, 3, 655366):
        col = column(type_name, typmod, optional=False)
        if type_name.startswith("_"):
            element = type_name[1:].replace("mood", "text")
            labels = ("a", "b") if type_name == "_mood" else ()
            col = ColumnInfo(
                "c", 0, type_name, typmod, False, None, element_type_name=element, enum_values=labels
            )
        convert = value_converter(col, modes)
        assert convert is not None
        for text in samples:
            with contextlib.suppress(DecodeError):
                orjson.dumps(convert(text))


def test_fast_and_general_timestamp_paths_agree() -> None:
    """Years 1..9999 take the datetime fast path; the same instants spelled with a BC-free general path must
    give the same JSON, whatever the server's TimeZone made of the offset."""
    rng = random.Random(11)
    tz_convert = {w: value_converter(column("timestamptz", w), ADAPTIVE) for w in (-1, 0, 3)}
    ts_convert = {w: value_converter(column("timestamp", w), ADAPTIVE) for w in (-1, 3)}
    for _ in range(3000):
        day = rng.randint(epoch_day(1, 1, 2), epoch_day(9999, 12, 30))
        micros = rng.randrange(86_400_000_000)
        micros -= micros % 1000 if rng.random() < 0.3 else 0
        offset = rng.choice([0, 0, 3600, -9000, 19800, 21208, -34200, 50400])
        local = day * 86_400_000_000 + micros + offset * 1_000_000
        local_day, local_micros = divmod(local, 86_400_000_000)
        seconds, fraction = divmod(local_micros, 1_000_000)
        clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        if fraction:
            clock += f".{fraction:06d}".rstrip("0")
        sign, size = ("+" if offset >= 0 else "-"), abs(offset)
        zone = f"{sign}{size // 3600:02d}" + (f":{size // 60 % 60:02d}" if size % 3600 else "")
        zone += f":{size % 60:02d}" if size % 60 else ""
        text = f"{iso_date(local_day)} {clock}{zone}"
        utc_nanos = (day * 86_400_000_000 + micros) * 1000
        for width, convert in tz_convert.items():
            assert convert is not None
            if width == 0 and micros % 1_000_000:
                continue  # PostgreSQL never sends a fraction for timestamptz(0)
            assert convert(text) == zoned_timestamp(utc_nanos, 6 if width < 0 else width), text
        if offset == 0:  # the same local date-time as a timestamp without time zone
            naive = f"{iso_date(day)} {clock}"
            for width, convert in ts_convert.items():
                assert convert is not None
                expected = utc_nanos // 1000 if width < 0 else utc_nanos // 1_000_000
                assert convert(naive) == expected, naive


# --- the shared renderers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "java"),
    [
        (0.1, "0.1"),
        (100.0, "100.0"),
        (1e7, "1.0E7"),
        (9999999.0, "9999999.0"),
        (0.001, "0.001"),
        (0.00099, "9.9E-4"),
        (-0.0, "-0.0"),
        (1.7976931348623157e308, "1.7976931348623157E308"),
        (5e-324, "4.9E-324"),
        (1e-310, "1.0E-310"),
        (123456789.0, "1.23456789E8"),
        (-2.5e-5, "-2.5E-5"),
    ],
)
def test_java_double_spelling(value: float, java: str) -> None:
    assert json_of(java_double(value)) == java


def test_float32_shortest_reads_like_float_parse_float() -> None:
    assert [float32_shortest(v) for v in (0.1, 3.4028235e38, -3.4028235e38, 1e-45, 3.25, 16777217.0)] == [
        0.1,
        3.4028235e38,
        -3.4028235e38,
        1e-45,
        3.25,
        16777216.0,
    ]
    assert float32_shortest(3e10) == 3.0000001e10  # 3e10 is exactly halfway: not accepted, as in float4out


def test_java_float_spelling() -> None:
    assert json_of(java_float(3.4028235e38)) == "3.4028235E38"
    assert json_of(java_float(1e-45)) == "1.4E-45"
    assert json_of(java_float(float("inf"))) == '"Infinity"'


def test_decimal_bytes_are_javas_minimal_twos_complement() -> None:
    assert [decimal_base64(n) for n in (0, 127, 128, -128, -129, 255)] == [
        "AA==",
        "fw==",
        "AIA=",
        "gA==",
        "/38=",
        "AP8=",
    ]
    assert plain_decimal(-5, 3) == "-0.005"
    assert plain_decimal(12, -2) == "1200"


def test_calendar_round_trips_across_eras() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        day = rng.randint(-2_500_000, 2_200_000_000)
        text = iso_date(day)
        sign = -1 if text.startswith("-") else 1
        year, month, dom = text.lstrip("+-").split("-")
        assert epoch_day(sign * int(year), int(month), int(dom)) == day
    assert iso_date(0) == "1970-01-01"
    with pytest.raises(ValueError):
        epoch_day(2023, 2, 29)


def test_name_values_are_text_in_snapshots_and_null_when_streamed() -> None:
    """Debezium's snapshots (JDBC) write a name column's text; its stream writes null unless
    include.unknown.datatypes=true (then the text). The reference's snapshot ran with it false."""
    name = next(c for c in TABLES["moretypes"] if c.type_name == "name")
    snapshot = [r for r in RECORDS if r["phase"] == "snapshot" and r["table"] == "moretypes"]
    checked = 0
    for record in snapshot:
        text = record["text"].get(name.name)
        if text is None:
            continue
        assert not modes_of(record["run"]).include_unknown_datatypes
        convert = value_converter(name, modes_of(record["run"]), queried=True)
        assert convert is not None
        assert convert(text) == record["after"][name.name]
        streamed = value_converter(name, modes_of(record["run"]))
        assert streamed is not None and streamed(text) is None
        checked += 1
    assert checked == 2  # 'some_name' and ''


def test_negative_scale_numerics_as_debezium_reads_them() -> None:
    """numeric(5,-2): Debezium 3.6.3 read the scale as 2046 (pgjdbc's 16 low bits of an 11-bit signed scale) and
    wrote 12345 (stored as 12300) as these values, the same in its snapshot and its stream."""
    neg = column("numeric", ((5 << 16) | (2048 - 2)) + 4)
    precise = value_converter(neg, ADAPTIVE)
    assert precise is not None
    value = precise("12300")
    assert isinstance(value, str) and len(value) == 1136 and value.startswith("BMLOWGDcR8HNxi")
    assert int.from_bytes(base64.b64decode(value), "big", signed=True) == 12300 * 10**2046
    negative = precise("-99900")
    assert isinstance(negative, str) and negative.startswith("2VTqtVE02GmLch")
    text = value_converter(neg, TypeModes(decimal_handling_mode="string"))
    assert text is not None
    assert text("12300") == "12300." + "0" * 2046
    assert text("-99900") == "-99900." + "0" * 2046
    assert text("NaN") == "NAN"
    double = value_converter(neg, TypeModes(decimal_handling_mode="double"))
    assert double is not None and json_of(double("-99900")) == "-99900.0"
    schema = field_schema(neg, ADAPTIVE)
    assert schema is not None
    assert schema["parameters"] == {"scale": "2046", "connect.decimal.precision": "5"}
