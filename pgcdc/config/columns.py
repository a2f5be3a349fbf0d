"""Column settings: Debezium's column.truncate / column.mask rules, and message.key.columns overrides."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pgcdc.config.values import compile_patterns
from pgcdc.errors import ConfigError

# Debezium's column mapper keys, whose name carries a parameter (ColumnMappers.create's patterns).
COLUMN_RULE = re.compile(r"column\.(mask|truncate)\..*")
_TRUNCATE_KEY = re.compile(r"column\.truncate\.to\.(\d+)\.chars")
_MASK_KEY = re.compile(r"column\.mask\.with\.(\d+)\.chars")
_HASH_KEY = re.compile(r"column\.mask\.hash\.([^.]+)\.with\.salt\.(.+)")
_HASH_V2_KEY = re.compile(r"column\.mask\.hash\.v2\.([^.]+)\.with\.salt\.(.+)")
_COLUMN_RULE_FORMS = (
    "column.truncate.to.<N>.chars, column.mask.with.<N>.chars, "
    "column.mask.hash.<algorithm>.with.salt.<salt> or column.mask.hash.v2.<algorithm>.with.salt.<salt>"
)
# Java's MessageDigest names (and the SUN provider's aliases; Java matches them ignoring case) -> hashlib's.
_HASH_ALGORITHMS = {
    "MD5": "md5",
    **dict.fromkeys(("SHA-1", "SHA1", "SHA"), "sha1"),
    **dict.fromkeys(("SHA-224", "SHA224"), "sha224"),
    **dict.fromkeys(("SHA-256", "SHA256"), "sha256"),
    **dict.fromkeys(("SHA-384", "SHA384"), "sha384"),
    **dict.fromkeys(("SHA-512", "SHA512"), "sha512"),
    **dict.fromkeys(("SHA-512/224", "SHA512/224"), "sha512_224"),
    **dict.fromkeys(("SHA-512/256", "SHA512/256"), "sha512_256"),
    **{f"SHA3-{bits}": f"sha3_{bits}" for bits in (224, 256, 384, 512)},
}


@dataclass(frozen=True, slots=True)
class ColumnRule:
    """One ``column.truncate.*`` / ``column.mask.*`` setting: what it does to the columns its patterns match."""

    key: str
    kind: Literal["truncate", "mask", "hash", "hash_v2"]
    patterns: tuple[re.Pattern[str], ...]
    """Matched (whole, ignoring case, as Debezium does) against ``schema.table.column``."""
    length: int = 0
    """truncate: the most characters kept; mask: the number of asterisks."""
    algorithm: str = ""
    """hash: the hashlib name of the MessageDigest algorithm."""
    salt: bytes = b""


def column_rule_form(key: str) -> str | None:
    """The documented form (a SETTINGS key) of a column rule key like column.mask.with.8.chars, else None."""
    forms = {
        _TRUNCATE_KEY: "column.truncate.to.<N>.chars",
        _MASK_KEY: "column.mask.with.<N>.chars",
        _HASH_V2_KEY: "column.mask.hash.v2.<algorithm>.with.salt.<salt>",
        _HASH_KEY: "column.mask.hash.<algorithm>.with.salt.<salt>",
    }
    return next((name for pattern, name in forms.items() if pattern.fullmatch(key)), None)


def parse_column_rules(raw: Mapping[str, str]) -> tuple[ColumnRule, ...]:
    """The column rules in the order Debezium tries them; the first rule matching a column is its only one."""
    by_kind: dict[str, list[ColumnRule]] = {"truncate": [], "mask": [], "hash": [], "hash_v2": []}
    for key, value in raw.items():
        if not COLUMN_RULE.fullmatch(key):
            continue
        rule = _column_rule(key, value)
        by_kind[rule.kind].append(rule)
    return tuple(rule for rules in by_kind.values() for rule in rules)


def _column_rule(key: str, value: str) -> ColumnRule:
    patterns = tuple(re.compile(p.pattern, re.IGNORECASE) for p in compile_patterns(key, value))
    if not patterns:
        raise ConfigError(
            f"{key} lists no columns: set it to comma-separated schema.table.column regular expressions"
        )
    for kind, form in (("truncate", _TRUNCATE_KEY), ("mask", _MASK_KEY)):
        match = form.fullmatch(key)
        if match:
            count = int(match.group(1))
            if not 1 <= count <= 2**31 - 1:
                example = "column.truncate.to.20.chars" if kind == "truncate" else "column.mask.with.8.chars"
                raise ConfigError(
                    f"{key}: the number of characters must be a whole number from 1 to 2147483647 "
                    f"(e.g. {example})"
                )
            return ColumnRule(key, kind, patterns, length=count)  # type: ignore[arg-type]
    for kind, form in (("hash_v2", _HASH_V2_KEY), ("hash", _HASH_KEY)):
        match = form.fullmatch(key)
        if match:
            algorithm = _HASH_ALGORITHMS.get(match.group(1).upper())
            if algorithm is None or algorithm not in hashlib.algorithms_available:
                names = ", ".join(n for n in _HASH_ALGORITHMS if "-" in n or n == "MD5")
                raise ConfigError(
                    f"{key}: {match.group(1)!r} is not a hash algorithm pgcdc can compute: use one of "
                    f"Java's MessageDigest names {names} (e.g. column.mask.hash.SHA-256.with.salt.<salt>)"
                )
            salt = match.group(2).encode()  # Java's String.getBytes(), UTF-8 by default
            return ColumnRule(key, kind, patterns, algorithm=algorithm, salt=salt)  # type: ignore[arg-type]
    raise ConfigError(f"{key} is not a column rule pgcdc knows: write {_COLUMN_RULE_FORMS}")


def parse_key_columns(text: str | None) -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    if not text:
        return ()
    rules = []
    for entry in (e.strip() for e in text.split(";") if e.strip()):
        table, sep, columns = entry.rpartition(":")
        names = tuple(c.strip() for c in columns.split(",") if c.strip())
        if not sep or not table or not names:
            raise ConfigError(
                f"message.key.columns: {entry!r} is not <table regex>:<column>[,<column>...] "
                "(example: public.orders:order_no,line)"
            )
        rules.append((compile_patterns("message.key.columns", table)[0], names))
    return tuple(rules)
