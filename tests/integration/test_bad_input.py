"""Bad input gets a clear, specific error and loses nothing; hostile identifiers are quoted, never executed."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

import psycopg
import pytest

from pgcdc.config import parse_config
from pgcdc.embedded.broker import EmbeddedBroker, free_port
from pgcdc.embedded.postgres import EmbeddedPostgres
from pgcdc.errors import ConfigError, SlotInUseError, SourceSetupError
from pgcdc.pipeline import Connector
from pgcdc.produce.client import kafka_settings
from tests.connector_run import connector_settings, running_connector, unique_prefix, wait_until
from tests.kafka_read import read_topic


def run_once(settings: dict[str, str], bootstrap: str) -> None:
    Connector(config=parse_config(settings, env={}), kafka=kafka_settings(bootstrap, env={})).run()


def make_table(dsn: str, ddl: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ddl)


def test_unknown_table(database: str, kafka_bootstrap: str) -> None:
    make_table(database, "CREATE TABLE public.users (id int PRIMARY KEY)")
    settings = connector_settings(database, unique_prefix(), **{"table.include.list": "public.userz"})
    with pytest.raises(ConfigError, match=r"table.include.list entry 'public.userz' matches no table"):
        run_once(settings, kafka_bootstrap)


def test_unknown_column(database: str, kafka_bootstrap: str) -> None:
    make_table(database, "CREATE TABLE public.users (id int PRIMARY KEY, password text)")
    settings = connector_settings(
        database,
        unique_prefix(),
        **{"table.include.list": "public.users", "column.exclude.list": "public.users.pasword"},
    )
    with pytest.raises(
        ConfigError, match=r"column.exclude.list entry 'public.users.pasword' matches no column"
    ):
        run_once(settings, kafka_bootstrap)


def test_table_without_primary_key_is_refused_before_it_can_break_writes(
    database: str, kafka_bootstrap: str
) -> None:
    make_table(database, "CREATE TABLE public.logs (line text)")
    settings = connector_settings(database, unique_prefix(), **{"table.include.list": "public.logs"})
    with pytest.raises(SourceSetupError, match=r"public.logs has no primary key.*REPLICA IDENTITY FULL"):
        run_once(settings, kafka_bootstrap)
    with psycopg.connect(database, autocommit=True) as conn:
        # Nothing was published, so the application's writes still work.
        conn.execute("INSERT INTO public.logs VALUES ('a')")
        conn.execute("UPDATE public.logs SET line = 'b'")
        assert conn.execute("SELECT count(*) FROM pg_publication").fetchone() == (0,)


def test_full_identity_with_column_list_mode_is_refused(database: str, kafka_bootstrap: str) -> None:
    make_table(
        database,
        "CREATE TABLE public.users (id int PRIMARY KEY, password text);"
        " ALTER TABLE public.users REPLICA IDENTITY FULL",
    )
    settings = connector_settings(
        database,
        unique_prefix(),
        **{
            "table.include.list": "public.users",
            "column.exclude.list": "public.users.password",
            "column.exclude.mode": "publication",
        },
    )
    with pytest.raises(SourceSetupError, match=r"REPLICA IDENTITY FULL.*column.exclude.mode=client"):
        run_once(settings, kafka_bootstrap)


def test_wal_level_not_logical_says_how_to_fix(kafka_bootstrap: str) -> None:
    base = Path(tempfile.mkdtemp(prefix="pgcdc-pg-"))
    base.chmod(0o755)
    try:
        with EmbeddedPostgres(data_dir=base / "data", settings={"wal_level": "replica"}) as pg:
            settings = connector_settings(pg.dsn(), unique_prefix(), **{"table.include.list": "public.t"})
            with pytest.raises(SourceSetupError, match=r"wal_level is 'replica'.*ALTER SYSTEM SET wal_level"):
                run_once(settings, kafka_bootstrap)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_role_without_replication_is_named(database: str, kafka_bootstrap: str) -> None:
    role = unique_prefix()
    make_table(
        database,
        f"CREATE TABLE public.users (id int PRIMARY KEY); CREATE ROLE {role} LOGIN;"
        f" GRANT SELECT ON public.users TO {role}",
    )
    dsn = database.replace("postgresql://postgres@", f"postgresql://{role}@", 1)
    settings = connector_settings(dsn, unique_prefix(), **{"table.include.list": "public.users"})
    try:
        with pytest.raises(SourceSetupError, match=rf"role '{role}' lacks the REPLICATION attribute"):
            run_once(settings, kafka_bootstrap)
    finally:
        make_table(database, f"DROP OWNED BY {role}; DROP ROLE {role}")


HOSTILE_TABLE = 'Users"; DROP TABLE public.keep; --'


def test_identifiers_needing_quotes_and_injection_shaped_names(database: str, kafka_bootstrap: str) -> None:
    make_table(
        database,
        "CREATE TABLE public.keep (id int PRIMARY KEY);"
        'CREATE SCHEMA "Sales Dept";'
        'CREATE TABLE "Sales Dept"."Order.Items" ("Id" int PRIMARY KEY, "Line Note" text);'
        f'CREATE TABLE public."{HOSTILE_TABLE.replace(chr(34), chr(34) * 2)}" (id int PRIMARY KEY, "x""y" text)',
    )
    prefix = unique_prefix()
    settings = connector_settings(
        database,
        prefix,
        **{
            "table.include.list": r"Sales Dept\.Order\.Items,public\.Users.*",
            "publication.name": 'Pub "quoted", name',
        },
    )
    with running_connector(settings, kafka_bootstrap):
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute('INSERT INTO "Sales Dept"."Order.Items" VALUES (1, \'first\')')
            conn.execute(
                f"INSERT INTO public.\"{HOSTILE_TABLE.replace(chr(34), chr(34) * 2)}\" VALUES (7, 'z')"
            )
        items = read_topic(
            kafka_bootstrap, f"{prefix}.Sales_Dept.Order.Items", until=lambda got: len(got) >= 1
        )
        assert items[0].value_json["payload"]["after"] == {"Id": 1, "Line Note": "first"}
        assert items[0].value_json["schema"]["name"] == f"{prefix}.Sales Dept.Order.Items.Envelope"
        hostile_topic = f"{prefix}.public." + "".join(
            c if c.isalnum() or c in "._-" else "_" for c in HOSTILE_TABLE
        )
        hostile = read_topic(kafka_bootstrap, hostile_topic, until=lambda got: len(got) >= 1)
        assert hostile[0].value_json["payload"]["after"] == {"id": 7, 'x"y': "z"}
    with psycopg.connect(database, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('public.keep') IS NOT NULL").fetchone() == (True,)


def test_two_connectors_on_one_slot_are_refused(database: str, kafka_bootstrap: str) -> None:
    make_table(database, "CREATE TABLE public.users (id int PRIMARY KEY)")
    settings = connector_settings(database, unique_prefix(), **{"table.include.list": "public.users"})
    with running_connector(settings, kafka_bootstrap):
        second = {**settings, "topic.prefix": unique_prefix()}
        with pytest.raises(SlotInUseError, match=r"slot '.*' is being read by another process"):
            run_once(second, kafka_bootstrap)


def test_broker_down_at_start_is_retried_then_streams(
    database: str, tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture
) -> None:
    make_table(database, "CREATE TABLE public.users (id int PRIMARY KEY, name text)")
    port = free_port()
    prefix = unique_prefix()
    settings = connector_settings(database, prefix, **{"table.include.list": "public.users"})
    connector = Connector(
        config=parse_config(settings, env={}), kafka=kafka_settings(f"127.0.0.1:{port}", env={})
    )
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _run(connector, errors), daemon=True)
    with caplog.at_level("WARNING"):
        thread.start()
        wait_until(
            lambda: "is unreachable" in caplog.text and "retrying in" in caplog.text,
            timeout=30,
            what="the connector to say it retries",
        )
    assert connector.status.state == "creating"
    with EmbeddedBroker(port=port, log_path=tmp_path_factory.mktemp("late") / "tansu.log") as broker:
        wait_until(lambda: connector.status.state == "available" or errors, timeout=60, what="streaming")
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO public.users VALUES (1, 'late')")
        records = read_topic(
            broker.bootstrap_servers, f"{prefix}.public.users", until=lambda got: len(got) >= 1
        )
        assert records[0].value_json["payload"]["after"] == {"id": 1, "name": "late"}
        connector.stop()
        thread.join(60)
    assert not errors


def _run(connector: Connector, errors: list[BaseException]) -> None:
    try:
        connector.run()
    except BaseException as err:
        errors.append(err)


def test_role_without_select_on_a_captured_table_is_named(database: str, kafka_bootstrap: str) -> None:
    role = unique_prefix()
    make_table(
        database,
        f"CREATE TABLE public.users (id int PRIMARY KEY); INSERT INTO public.users VALUES (1);"
        f' CREATE ROLE {role} LOGIN REPLICATION; GRANT CREATE ON DATABASE "{database.rsplit("/", 1)[-1]}" TO {role};'
        f" ALTER TABLE public.users OWNER TO {role}; REVOKE SELECT ON public.users FROM {role}",
    )
    dsn = database.replace("postgresql://postgres@", f"postgresql://{role}@", 1)
    settings = connector_settings(dsn, unique_prefix(), **{"table.include.list": "public.users"})
    try:
        with pytest.raises(
            SourceSetupError, match=rf"refused '{role}': permission denied for table users.*GRANT SELECT"
        ):
            run_once(settings, kafka_bootstrap)
    finally:
        make_table(database, f"DROP OWNED BY {role}; DROP ROLE {role}")
