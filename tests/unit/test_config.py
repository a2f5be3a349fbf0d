"""Connector settings: Debezium's keys accepted unchanged, every bad value a ConfigError naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgcdc.config import load_config_file, mask_secrets, parse_config
from pgcdc.errors import ConfigError

BASE = {
    "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
    "database.hostname": "db.internal",
    "database.port": "5433",
    "database.user": "cdc",
    "database.password": "s3cret",
    "database.dbname": "app",
    "topic.prefix": "demo",
    "table.include.list": "public.users",
}


def test_debezium_config_with_connect_keys_is_accepted() -> None:
    config = parse_config(
        {
            **BASE,
            "tasks.max": "1",
            "plugin.name": "pgoutput",
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "true",
            "header.converter": "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            "column.exclude.list": "public.users.password",
            "heartbeat.interval.ms": "1000",
            "topic.heartbeat.prefix": "heartbeat",
        },
        env={},
    )
    assert config.database.port == 5433
    assert config.heartbeat_topic == "heartbeat.demo"
    assert config.captures_table("public", "users")
    assert not config.captures_table("public", "orders")
    assert not config.captures_column("public", "users", "password")
    assert config.captures_column("public", "users", "email")
    assert config.skipped_operations == frozenset({"t"})
    assert "s3cret" not in repr(config)


def test_database_url_and_environment() -> None:
    config = parse_config(
        {"topic.prefix": "x"}, env={"DATABASE_URL": "postgres://u%40x:p%3Aw@h:6000/my%20db?sslmode=require"}
    )
    assert (config.database.user, config.database.password, config.database.dbname) == ("u@x", "p:w", "my db")
    assert (config.database.host, config.database.port, config.database.sslmode) == ("h", 6000, "require")
    assert "p:w" not in config.database.describe()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"topic.prefix": ""}, "topic.prefix is required"),
        ({"tombstones.on.delete": "yes"}, "tombstones.on.delete='yes' is not a boolean"),
        ({"heartbeat.interval.ms": "-5"}, "heartbeat.interval.ms=-5 is below its minimum"),
        ({"plugin.name": "decoderbufs"}, "plugin.name='decoderbufs' is not one of: pgoutput"),
        (
            {"table.include.lst": "x"},
            "unknown setting table.include.lst \\(did you mean table.include.list\\?\\)",
        ),
        (
            {"table.include.list": "public.(users"},
            "table.include.list: 'public.\\(users' is not a valid regular",
        ),
        ({"skipped.operations": "c,x"}, "skipped.operations: unknown x"),
        ({"value.converter": "io.confluent.connect.avro.AvroConverter"}, "pgcdc writes .*JsonConverter"),
        (
            {"header.converter": "org.apache.kafka.connect.json.JsonConverter"},
            "header.converter=.*JsonConverter: pgcdc writes headers as .*SimpleHeaderConverter does",
        ),
        ({"transforms": "unwrap"}, "transforms is not supported"),
        ({"slot.name": "Bad-Slot"}, "slot.name='Bad-Slot'"),
        ({"message.key.columns": "public.users"}, "message.key.columns: 'public.users' is not"),
        ({"connector.class": "io.debezium.connector.mysql.MySqlConnector"}, "only io.debezium"),
        ({"database.user": ""}, "missing database.user"),
    ],
)
def test_bad_values_name_the_key(change: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({**BASE, **change}, env={})


def test_secrets_are_masked() -> None:
    masked = mask_secrets({**BASE, "database.url": "postgres://u:pw@h/db"})
    assert masked["database.password"] == "********"
    assert masked["database.url"] == "********"
    assert masked["database.user"] == "cdc"


def test_config_files_json_and_properties(tmp_path: Path) -> None:
    json_file = tmp_path / "c.json"
    json_file.write_text('{"name": "users-cdc", "config": {"topic.prefix": "demo", "tasks.max": 1}}')
    assert load_config_file(str(json_file)) == ("users-cdc", {"topic.prefix": "demo", "tasks.max": 1})
    props = tmp_path / "c.properties"
    props.write_text("# comment\nname=users-cdc\ntopic.prefix = demo\ntable.include.list=public.users\n")
    assert load_config_file(str(props)) == (
        None,
        {"name": "users-cdc", "topic.prefix": "demo", "table.include.list": "public.users"},
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{"config": ')
    with pytest.raises(ConfigError, match="is not valid JSON"):
        load_config_file(str(broken))
