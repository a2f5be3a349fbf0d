"""Debezium's database.sslrootcert, sslcert, sslkey and sslpassword reach libpq; bad files are named at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from pgcdc.config import mask_secrets, parse_config
from pgcdc.errors import ConfigError

BASE = {"topic.prefix": "p", "database.user": "u", "database.dbname": "d"}


def test_the_files_and_the_key_password_reach_the_conninfo(tmp_path: Path) -> None:
    files = {name: tmp_path / f"{name}.pem" for name in ("sslrootcert", "sslcert", "sslkey")}
    for path in files.values():
        path.write_text("-----BEGIN-----\n")
    raw = {
        **BASE,
        "database.sslmode": "verify-full",
        **{f"database.{name}": str(path) for name, path in files.items()},
        "database.sslpassword": "s3cret-key-pass",
    }
    database = parse_config(raw, env={}).database
    params = conninfo_to_dict(database.conninfo())
    assert params["sslmode"] == "verify-full"
    assert {name: params[name] for name in files} == {name: str(path) for name, path in files.items()}
    assert params["sslpassword"] == "s3cret-key-pass"
    assert "s3cret-key-pass" not in repr(database)
    assert mask_secrets(raw)["database.sslpassword"] == "********"
    assert mask_secrets(raw)["database.sslkey"] == str(files["sslkey"])


def test_unset_they_stay_out_of_the_conninfo() -> None:
    params = conninfo_to_dict(parse_config(BASE, env={}).database.conninfo())
    assert not {"sslrootcert", "sslcert", "sslkey", "sslpassword"} & set(params)


def test_they_may_come_in_the_url(tmp_path: Path) -> None:
    ca = tmp_path / "ca dir.crt"
    ca.write_text("x")
    url = f"postgresql://u@h/d?sslmode=verify-ca&sslrootcert={str(ca).replace(' ', '%20')}"
    database = parse_config({"topic.prefix": "p", "database.url": url}, env={}).database
    assert (database.sslmode, database.sslrootcert) == ("verify-ca", str(ca))


@pytest.mark.parametrize("key", ["database.sslrootcert", "database.sslcert", "database.sslkey"])
def test_a_missing_file_is_named_with_its_setting(key: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"^{key}=\S+/absent\.pem: cannot read the file \(No such file"):
        parse_config({**BASE, key: str(tmp_path / "absent.pem")}, env={})
    with pytest.raises(ConfigError, match=rf"^{key}=\S+: cannot read the file \(Is a directory\)"):
        parse_config({**BASE, key: str(tmp_path)}, env={})


def test_sslrootcert_system_is_not_a_file() -> None:
    assert parse_config({**BASE, "database.sslrootcert": "system"}, env={}).database.sslrootcert == "system"
