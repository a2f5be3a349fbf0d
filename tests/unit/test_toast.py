"""Unchanged TOASTed values: what Debezium 3.6 wrote for each type in each mode (tests/data, table toasted)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values.toast import unavailable_value
from pgcdc.serialize.fields import field_schema
from tests.unit.test_values import RECORDS, TABLES, modes_of


def toast_cases() -> list[Any]:
    cases = []
    for record in RECORDS:
        if record["table"] == "toasted" and record["op"] == "u":
            columns = {c.name: c for c in TABLES["toasted"]}
            for name in record["unchanged"]:
                case_id = f"{record['run']}-{record['id']}-{name}"
                cases.append(pytest.param(record, columns[name], id=case_id))
    return cases


@pytest.mark.parametrize(("record", "col"), toast_cases())
def test_unchanged_toast_value_matches_debezium(record: dict[str, Any], col: ColumnInfo) -> None:
    modes = modes_of(record["run"])
    schema = field_schema(col, modes)
    assert schema is not None
    got = unavailable_value(col, modes, str(schema["type"]))
    assert orjson.loads(orjson.dumps(got)) == record["after"][col.name]


def test_every_mode_and_many_types_are_covered() -> None:
    cases = toast_cases()
    assert len(cases) >= 6 * 2 * 24
    assert len({c.values[1].type_name for c in cases}) >= 15


def test_placeholder_is_configurable() -> None:
    col = ColumnInfo("c", 0, "_int4", -1, True, None, element_type_name="int4")
    assert unavailable_value(col, TypeModes(unavailable_value_placeholder="é"), "array") == [-61, -87]
    text = ColumnInfo("c", 0, "text", -1, True, None)
    assert unavailable_value(text, TypeModes(unavailable_value_placeholder="?"), "string") == "?"
