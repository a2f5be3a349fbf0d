"""Identifiers from configs are quoted, never interpolated: hostile schema, table and column names in
column.exclude.list (with column.exclude.mode=publication, so they reach a publication's column list) and in
message.key.columns. tests/integration/test_bad_input.py covers hostile table and publication names.

Debezium's list formats split on ',' (and message.key.columns also on ';' and ':'), so names holding those
characters cannot be written in these settings at all; the names here use every other troublesome character.
"""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

from tests.connector_run import connector_settings, running_connector, unique_prefix
from tests.kafka_read import read_topic

SCHEMA = 'Evil "Schema"'
TABLE = "t'); DROP TABLE public.keep; --"
KEY = 'Pk "quoted" -- x'
SECRET = "secret\"); DROP TABLE public.keep; SELECT ('"
NOTE = "note $$ \\ ' \""
KEYLESS = "no key' OR '1'='1' -- \\"


def ident(*names: str) -> sql.Identifier:
    return sql.Identifier(*names)


def test_hostile_column_names_in_exclude_list_and_message_key_columns(
    database: str, kafka_bootstrap: str
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.keep (id int PRIMARY KEY); INSERT INTO public.keep VALUES (1)")
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(ident(SCHEMA)))
        conn.execute(
            sql.SQL("CREATE TABLE {} ({} int PRIMARY KEY, {} text, {} text)").format(
                ident(SCHEMA, TABLE), ident(KEY), ident(NOTE), ident(SECRET)
            )
        )
        conn.execute(
            sql.SQL("CREATE TABLE {} ({} int NOT NULL, {} text)").format(
                ident(SCHEMA, KEYLESS), ident(KEY), ident(NOTE)
            )
        )
        conn.execute(sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL").format(ident(SCHEMA, KEYLESS)))
    prefix = unique_prefix()
    qualified = re.escape(f"{SCHEMA}.{TABLE}")
    keyless = re.escape(f"{SCHEMA}.{KEYLESS}")
    settings = connector_settings(
        database,
        prefix,
        **{
            "table.include.list": f"{qualified},{keyless}",
            "column.exclude.list": re.escape(f"{SCHEMA}.{TABLE}.{SECRET}"),
            "column.exclude.mode": "publication",
            "message.key.columns": f"{keyless}:{KEY}",
        },
    )
    with running_connector(settings, kafka_bootstrap), psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            sql.SQL("INSERT INTO {} VALUES (1, 'n', 'the secret value')").format(ident(SCHEMA, TABLE))
        )
        conn.execute(sql.SQL("INSERT INTO {} VALUES (7, 'k')").format(ident(SCHEMA, KEYLESS)))
        published = conn.execute(
            "SELECT attnames FROM pg_publication_tables WHERE pubname = %s AND tablename = %s",
            (settings["publication.name"], TABLE),
        ).fetchone()
        topic = f"{prefix}." + "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{SCHEMA}.{TABLE}")
        rows = read_topic(kafka_bootstrap, topic, until=lambda got: len(got) >= 1)
        keyless_topic = f"{prefix}." + "".join(
            c if c.isalnum() or c in "._-" else "_" for c in f"{SCHEMA}.{KEYLESS}"
        )
        keyed = read_topic(kafka_bootstrap, keyless_topic, until=lambda got: len(got) >= 1)
        kept = conn.execute("SELECT count(*) FROM public.keep").fetchone()
    assert published is not None and list(published[0]) == [KEY, NOTE], published
    assert rows[0].value_json["payload"]["after"] == {KEY: 1, NOTE: "n"}
    assert b"the secret value" not in (rows[0].value or b"")
    assert keyed[0].key_json["payload"] == {KEY: 7}
    assert kept == (1,), "public.keep was touched"
