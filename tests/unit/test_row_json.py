"""A row's JSON written straight from pgoutput's text (serialize.assembly.row_json) is the JSON of the row's dict,
for every type and value the real Debezium streamed in the reference (tests/data), compiled and plain."""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import Any

import pytest

from pgcdc import hot_path
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values import INTEGER_TEXT, STRING_TEXT, text_form, value_converter
from pgcdc.serialize.assembly import json_bytes
from tests.unit.test_assembly import compiled, plain
from tests.unit.test_values import modes_of, streamed_cases

CASES = streamed_cases()


@cache
def twins() -> tuple[ModuleType, ...]:
    """The plain form, and the compiled one where it is built."""
    built = "pgcdc.serialize.assembly" not in hot_path.unbuilt()
    return (plain(), compiled()) if built else (plain(),)


@pytest.mark.parametrize(("record", "col", "text"), CASES)
def test_row_json_writes_what_the_row_dict_serializes_to(
    record: dict[str, Any], col: ColumnInfo, text: str
) -> None:
    convert = value_converter(col, modes_of(record["run"]))
    assert convert is not None
    value = convert(text)
    expected = json_bytes({col.name: value})
    name = json_bytes(col.name) + b":"
    columns = ((name, 1, text_form(convert), convert, b"null"),)
    for twin in twins():
        assert twin.row_json(columns, (0,), ["ignored", text]) == (expected, expected)


def test_the_reference_holds_every_text_form() -> None:
    forms = {
        text_form(value_converter(col, modes_of(record["run"])))  # type: ignore[arg-type]
        for record, col, _ in (case.values for case in CASES)
    }
    assert forms == {0, INTEGER_TEXT, STRING_TEXT}
