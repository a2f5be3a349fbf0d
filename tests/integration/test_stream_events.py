"""Streaming beyond plain rows: schema changes mid-stream, TRUNCATE, logical messages by prefix, key changes."""

from __future__ import annotations

import psycopg

from tests.connector_run import connector_settings, running_connector, unique_prefix
from tests.kafka_read import read_topic


def test_schema_changes_while_streaming_carry_the_new_schema(database: str, kafka_bootstrap: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (id int PRIMARY KEY, a text, b int)")
    prefix = unique_prefix()
    settings = connector_settings(database, prefix, **{"table.include.list": "public.t"})
    with running_connector(settings, kafka_bootstrap), psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO public.t VALUES (1, 'x', 1)")
        conn.execute("ALTER TABLE public.t ADD COLUMN c text NOT NULL DEFAULT 'd'")
        conn.execute("INSERT INTO public.t VALUES (2, 'y', 2, 'z')")
        conn.execute("ALTER TABLE public.t DROP COLUMN b")
        conn.execute("INSERT INTO public.t VALUES (3, 'w', 'v')")
        conn.execute("ALTER TABLE public.t RENAME COLUMN a TO a2")
        conn.execute("ALTER TABLE public.t ALTER COLUMN id TYPE bigint")
        conn.execute("INSERT INTO public.t VALUES (4, 'u', 't')")
        records = read_topic(kafka_bootstrap, f"{prefix}.public.t", until=lambda got: len(got) >= 4)
    afters = [r.value_json["payload"]["after"] for r in records]
    assert afters == [
        {"id": 1, "a": "x", "b": 1},
        {"id": 2, "a": "y", "b": 2, "c": "z"},
        {"id": 3, "a": "w", "c": "v"},
        {"id": 4, "a2": "u", "c": "t"},
    ]
    last_fields = records[-1].value_json["schema"]["fields"][1]["fields"]
    assert [(f["field"], f["type"]) for f in last_fields] == [
        ("id", "int64"),
        ("a2", "string"),
        ("c", "string"),
    ]
    assert last_fields[2]["default"] == "d" and last_fields[2]["optional"] is False
    assert records[-1].key_json["schema"]["fields"][0]["type"] == "int64"


def test_truncate_is_emitted_only_when_not_skipped(database: str, kafka_bootstrap: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (id int PRIMARY KEY)")
    prefix = unique_prefix()
    settings = connector_settings(
        database, prefix, **{"table.include.list": "public.t", "skipped.operations": "none"}
    )
    with running_connector(settings, kafka_bootstrap), psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO public.t VALUES (1)")
        conn.execute("TRUNCATE public.t")
        conn.execute("INSERT INTO public.t VALUES (2)")
        records = read_topic(kafka_bootstrap, f"{prefix}.public.t", until=lambda got: len(got) >= 3)
    ops = [r.value_json["payload"]["op"] for r in records]
    assert ops == ["c", "t", "c"]
    truncate = records[1]
    assert truncate.key is None
    assert (
        truncate.value_json["payload"]["before"] is None and truncate.value_json["payload"]["after"] is None
    )
    assert truncate.value_json["payload"]["source"]["table"] == "t"

    skipping = unique_prefix()
    default = connector_settings(
        database, skipping, **{"table.include.list": "public.t", "snapshot.mode": "no_data"}
    )
    with running_connector(default, kafka_bootstrap), psycopg.connect(database, autocommit=True) as conn:
        conn.execute("TRUNCATE public.t")
        conn.execute("INSERT INTO public.t VALUES (3)")
        records = read_topic(kafka_bootstrap, f"{skipping}.public.t", until=lambda got: len(got) >= 1)
    assert [r.value_json["payload"]["op"] for r in records] == ["c"]


def test_logical_messages_are_filtered_by_prefix(database: str, kafka_bootstrap: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (id int PRIMARY KEY)")
    prefix = unique_prefix()
    settings = connector_settings(
        database,
        prefix,
        **{
            "table.include.list": "public.t",
            "message.prefix.include.list": "audit.*",
            "message.prefix.exclude.list": "audit\\.noise",
        },
    )
    with running_connector(settings, kafka_bootstrap), psycopg.connect(database, autocommit=True) as conn:
        conn.execute("SELECT pg_logical_emit_message(true, 'other', 'skip me')")
        conn.execute("SELECT pg_logical_emit_message(true, 'audit.noise', 'skip me too')")
        conn.execute("SELECT pg_logical_emit_message(false, 'audit.login', 'kept')")
        records = read_topic(kafka_bootstrap, f"{prefix}.message", until=lambda got: len(got) >= 1)
        conn.execute("INSERT INTO public.t VALUES (1)")
        read_topic(kafka_bootstrap, f"{prefix}.public.t", until=lambda got: len(got) >= 1)
        records = read_topic(kafka_bootstrap, f"{prefix}.message", until=lambda got: len(got) >= 1)
    assert [r.value_json["payload"]["message"]["prefix"] for r in records] == ["audit.login"]


def test_primary_key_change_is_a_delete_tombstone_and_create(database: str, kafka_bootstrap: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO public.t VALUES (1, 'a')")
    prefix = unique_prefix()
    settings = connector_settings(
        database, prefix, **{"table.include.list": "public.t", "snapshot.mode": "no_data"}
    )
    with running_connector(settings, kafka_bootstrap), psycopg.connect(database, autocommit=True) as conn:
        conn.execute("UPDATE public.t SET id = 2 WHERE id = 1")
        records = read_topic(kafka_bootstrap, f"{prefix}.public.t", until=lambda got: len(got) >= 3)
    assert [(r.key_json["payload"], r.value_json and r.value_json["payload"]["op"]) for r in records] == [
        ({"id": 1}, "d"),
        ({"id": 1}, None),
        ({"id": 2}, "c"),
    ]
    assert records[0].value_json["payload"]["before"] == {"id": 1, "v": None}
    assert records[2].value_json["payload"]["after"] == {"id": 2, "v": "a"}


def test_message_key_columns_give_a_keyless_table_its_key(database: str, kafka_bootstrap: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE public.events (code text NOT NULL, n int); ALTER TABLE public.events REPLICA IDENTITY FULL"
        )
        conn.execute(
            "CREATE TABLE public.plain (code text NOT NULL); ALTER TABLE public.plain REPLICA IDENTITY FULL"
        )
    prefix = unique_prefix()
    settings = connector_settings(
        database,
        prefix,
        **{"table.include.list": "public.events,public.plain", "message.key.columns": "public.events:code"},
    )
    with running_connector(settings, kafka_bootstrap), psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO public.events VALUES ('a', 1)")
        conn.execute("INSERT INTO public.plain VALUES ('b')")
        keyed = read_topic(kafka_bootstrap, f"{prefix}.public.events", until=lambda got: len(got) >= 1)
        plain = read_topic(kafka_bootstrap, f"{prefix}.public.plain", until=lambda got: len(got) >= 1)
    assert keyed[0].key_json["payload"] == {"code": "a"}
    assert keyed[0].key_json["schema"]["name"] == f"{prefix}.public.events.Key"
    assert plain[0].key is None, "a table without a primary key or message.key.columns has no key"
