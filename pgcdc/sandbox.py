"""``pgcdc demo``: the seed's scenario on an embedded PostgreSQL and broker (or DATABASE_URL / KAFKA_URL)."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import orjson
import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from pgcdc.config import parse_config
from pgcdc.embedded.broker import EmbeddedBroker
from pgcdc.embedded.postgres import EmbeddedPostgres
from pgcdc.pipeline import Connector
from pgcdc.produce.client import kafka_settings

log = logging.getLogger(__name__)

CONNECTOR_NAME = "users_connector"

USERS_TABLE = """
CREATE TABLE IF NOT EXISTS public.users (
    id serial PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL, password text NOT NULL,
    email text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())
"""

SAMPLE_CHANGES = [
    "INSERT INTO public.users (first_name, last_name, password, email)"
    " VALUES ('Ada', 'Lovelace', 'argon2-hash-not-a-password', 'ada@example.com')",
    "UPDATE public.users SET email = 'ada.lovelace@example.com' WHERE email = 'ada@example.com'",
    "DELETE FROM public.users WHERE email = 'ada.lovelace@example.com'",
]


@contextmanager
def demo_services(workdir: Path) -> Iterator[tuple[str, str]]:
    """(database URL, Kafka bootstrap): DATABASE_URL / KAFKA_URL when set, else embedded ones started here."""
    with ExitStack() as stack:
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            pg = stack.enter_context(EmbeddedPostgres(data_dir=workdir / "postgres"))
            database_url = pg.dsn()
        kafka_url = os.environ.get("KAFKA_URL")
        if not kafka_url:
            broker = stack.enter_context(EmbeddedBroker(log_path=workdir / "tansu.log"))
            kafka_url = broker.bootstrap_servers
        yield database_url, kafka_url


def connector_config(database_url: str) -> dict[str, str]:
    """What ``heroku data:connectors:create --table public.users --exclude public.users.password`` set up."""
    return {
        "name": CONNECTOR_NAME,
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.url": database_url,
        "topic.prefix": CONNECTOR_NAME,
        "table.include.list": "public.users",
        "column.exclude.list": "public.users.password",
        "heartbeat.interval.ms": "10000",
        "topic.heartbeat.prefix": "heartbeat",
        "slot.name": CONNECTOR_NAME,
        "publication.name": f"{CONNECTOR_NAME}_publication",
    }


def follow_topic(
    bootstrap: str, topic: str, *, stop: threading.Event, show: Callable[[bytes | None, bytes | None], None]
) -> None:
    """Print every record of ``topic`` from the beginning until ``stop`` is set."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "pgcdc-demo-printer", "enable.auto.commit": False}
    )
    try:
        while not stop.is_set() and topic not in consumer.list_topics(timeout=5).topics:
            stop.wait(0.2)
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        while not stop.is_set():
            for message in consumer.consume(100, timeout=0.2):
                if message.error() is None:
                    value = message.value()
                    key = message.key()
                    show(key if isinstance(key, bytes) else None, value if isinstance(value, bytes) else None)
    finally:
        consumer.close()


def describe_event(key: bytes | None, value: bytes | None) -> str:
    """One event as a person reads it: op, key and the row, without the schema."""
    key_payload = orjson.loads(key)["payload"] if key else None
    if value is None:
        return f"tombstone  key={orjson.dumps(key_payload).decode()}"
    payload = orjson.loads(value)["payload"]
    after = payload.get("after")
    before = payload.get("before")
    row = after if after is not None else before
    return (
        f"op={payload.get('op')}  key={orjson.dumps(key_payload).decode()}  row={orjson.dumps(row).decode()}"
    )


def run_demo(*, once: bool, echo: Callable[[str], None], stop: threading.Event) -> None:
    """Start everything, make the sample changes, print the events; until Ctrl-C, or after them with ``once``."""
    with tempfile.TemporaryDirectory(prefix="pgcdc-demo-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)
        with demo_services(workdir) as (database_url, bootstrap):
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute(USERS_TABLE)
            config = parse_config(connector_config(database_url), env={})
            connector = Connector(config=config, kafka=kafka_settings(bootstrap, env={}))
            failures: list[BaseException] = []

            def stream() -> None:
                try:
                    connector.run()
                except BaseException as err:
                    failures.append(err)
                    stop.set()

            topic = config.table_topic("public", "users")
            seen = threading.Event()
            count = [0]

            def show(key: bytes | None, value: bytes | None) -> None:
                echo(describe_event(key, value))
                count[0] += 1
                if count[0] >= 4:  # create, update, delete, tombstone
                    seen.set()

            threads = [
                threading.Thread(target=stream, name="connector", daemon=True),
                threading.Thread(
                    target=follow_topic,
                    args=(bootstrap, topic),
                    kwargs={"stop": stop, "show": show},
                    name="printer",
                    daemon=True,
                ),
            ]
            for thread in threads:
                thread.start()
            while connector.status.state != "available" and not stop.is_set():
                stop.wait(0.1)
            if failures:
                raise failures[0]
            echo(f"PostgreSQL: {_safe_url(database_url)}   Kafka: {bootstrap}   topic: {topic}")
            echo("Making sample changes (insert, update, delete); the password column never reaches Kafka:")
            with psycopg.connect(database_url, autocommit=True) as conn:
                for statement in SAMPLE_CHANGES:
                    conn.execute(statement)
            if once:
                seen.wait(60)
                stop.set()
            else:
                echo(
                    f"Change public.users yourself (psql '{_safe_url(database_url)}'); Ctrl-C stops everything."
                )
                stop.wait()
            connector.stop()
            for thread in threads:
                thread.join(30)
            if failures:
                raise failures[0]


def _safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":********@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
