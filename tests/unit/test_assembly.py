"""serialize.assembly: its plain-Python form and its compiled twin (assembly.pyx) write the same bytes."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pgcdc import hot_path
from pgcdc.decode.values import INTEGER_TEXT, STRING_TEXT

FOLDER = Path(__file__).resolve().parents[2] / "pgcdc" / "serialize"
PIECES = (
    b'{"schema":{},"payload":{"before":',
    b',"after":',
    b',"source":{"sequence":"[null,\\"',
    b'\\"]","lsn":',
)
PIECES += (b',"transaction":', b',"op":"c","ts_ms":', b',"ts_us":', b',"ts_ns":', b"}}")


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plain() -> ModuleType:
    return _load("assembly_plain", FOLDER / "assembly.py")


def compiled() -> ModuleType:
    """The built twin, loaded from its file whichever variant this run imports (PGCDC_PURE_PYTHON or not)."""
    if "pgcdc.serialize.assembly" in hot_path.unbuilt():
        pytest.skip("serialize.assembly is not compiled here (scripts/bootstrap builds it)")
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    path = FOLDER / ("assembly" + suffix)
    name = "pgcdc.serialize.assembly"
    # Loading it registers it in sys.modules under its full name: put back what this run imports there.
    imported = sys.modules.get(name)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if imported is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = imported
    return module


def test_the_plain_form_writes_the_lsn_twice_and_the_clock_three_ways() -> None:
    value = plain().row_value(
        PIECES, b"null", b'{"id":1}', b"null", 24_373_248, True, 1_796_300_203_000_123_456
    )
    assert value == (
        b'{"schema":{},"payload":{"before":null,"after":{"id":1},"source":{"sequence":"[null,\\"24373248\\"]",'
        b'"lsn":24373248,"transaction":null,"op":"c","ts_ms":1796300203000,"ts_us":1796300203000123,'
        b'"ts_ns":1796300203000123456}}'
    )


TRANSACTION = b'{"id":"740:24373248","total_order":1,"data_collection_order":1}'


@pytest.mark.parametrize(
    ("before", "after", "transaction", "lsn", "second_lsn", "now_ns"),
    [
        (b"null", b'{"id":1}', b"null", 24_373_248, True, 1_796_300_203_000_123_456),
        # UTF-8, an escape; lsn 0, a 7-digit clock
        (b"null", b'{"name":"\xc3\xa9t\xc3\xa9 \\u001F"}', b"null", 0, True, 1_000_000),
        # the largest LSN, written once; a clock shorter than its slices
        (b"null", b"null", b"null", 2**64 - 1, False, 999),
        (b"null", b"", b"null", 7, True, 10**18),
        # a delete's before row and a transaction block
        (b'{"id":1,"note":"x"}', b"null", TRANSACTION, 24_373_248, True, 1_796_300_203_000_123_456),
    ],
)
def test_the_compiled_twin_writes_the_same_bytes(
    before: bytes, after: bytes, transaction: bytes, lsn: int, second_lsn: bool, now_ns: int
) -> None:
    expected = plain().row_value(PIECES, before, after, transaction, lsn, second_lsn, now_ns)
    assert compiled().row_value(PIECES, before, after, transaction, lsn, second_lsn, now_ns) == expected


def test_the_compiled_twin_refuses_pieces_that_are_not_nine_bytes() -> None:
    twin = compiled()
    with pytest.raises(TypeError):
        twin.row_value(PIECES[:8], b"null", b"{}", b"null", 1, True, 10**18)
    with pytest.raises(TypeError):
        twin.row_value((*PIECES[:8], "}}"), b"null", b"{}", b"null", 1, True, 10**18)


@pytest.mark.parametrize(
    "value",
    [
        {"id": 1},
        "a\x1fb",
        {"k\x1a": ["\x7f", "é", "literal \\u001f", "\\\x1e"]},
        None,
        ["", 2**63, -1.5],
    ],
)
def test_the_compiled_twin_writes_the_same_json(value: object) -> None:
    assert compiled().json_bytes(value) == plain().json_bytes(value)


def _upper(text: str) -> object:
    return None if text == "none" else text.upper()


ROW_COLUMNS = (
    (b'"id":', 0, INTEGER_TEXT, None, b"null"),
    (b'"n":', 1, INTEGER_TEXT, None, b"0"),
    (b'"s":', 2, STRING_TEXT, None, b"null"),
    (b'"u":', 3, 0, _upper, b'"absent"'),
    (b'"f":', 4, 0, lambda text: int(text) * 1.5, b"null"),
)


@pytest.mark.parametrize(
    "values",
    [
        ["1", "-20", "héllo \u2028 \x7f /", "abc", "3"],
        ["0", None, 'q"uote\\ \x01 \n', "none", "2"],
        ["9223372036854775807", "-9223372036854775808", "", "", "0"],
        ["2", "3", "x", "y\x1f", "1"],  # a converted string that needs escapes
    ],
)
def test_the_compiled_twin_writes_the_same_row_json(values: list[object]) -> None:
    expected = plain().row_json(ROW_COLUMNS, (0, 2), values)
    assert expected is not None
    assert compiled().row_json(ROW_COLUMNS, (0, 2), values) == expected


@pytest.mark.parametrize(
    "values",
    [
        ["-0", "1", "x", "y", "1"],  # integers not as PostgreSQL prints them
        ["01", "1", "x", "y", "1"],
        ["1 ", "1", "x", "y", "1"],
        ["", "1", "x", "y", "1"],
        ["-", "1", "x", "y", "1"],
        ["\u0661", "1", "x", "y", "1"],  # a digit, but not an ASCII one (ARABIC-INDIC DIGIT ONE)
        ["1", "1", object(), "y", "1"],  # not text: an unchanged TOASTed value
    ],
)
def test_row_json_leaves_to_the_row_dict_what_it_cannot_write(values: list[object]) -> None:
    assert plain().row_json(ROW_COLUMNS, (0,), values) is None
    assert compiled().row_json(ROW_COLUMNS, (0,), values) is None
