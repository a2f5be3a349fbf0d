"""How column values are rendered: Debezium's ``*.handling.mode`` settings that decide both a value and its schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DecimalMode = Literal["precise", "double", "string"]
TimePrecisionMode = Literal[
    "adaptive", "adaptive_time_microseconds", "connect", "isostring", "microseconds", "nanoseconds"
]
BinaryMode = Literal["bytes", "base64", "base64-url-safe", "hex"]
IntervalMode = Literal["numeric", "string"]
HstoreMode = Literal["json", "map"]


@dataclass(frozen=True, slots=True)
class TypeModes:
    """The settings that change a column's schema and value; Debezium's names and defaults."""

    decimal_handling_mode: DecimalMode = "precise"
    time_precision_mode: TimePrecisionMode = "adaptive"
    binary_handling_mode: BinaryMode = "bytes"
    unavailable_value_placeholder: str = "__debezium_unavailable_value"
    interval_handling_mode: IntervalMode = "numeric"
    hstore_handling_mode: HstoreMode = "json"
    money_fraction_digits: int = 2
    include_unknown_datatypes: bool = False
