"""The least-privileged role that works (docs/security.md), and a clear error naming each privilege it lacks.

The role: LOGIN and REPLICATION; SELECT on the captured tables (the snapshot reads them); to let pgcdc create
its publication, ownership of the captured tables and CREATE on the database, or else a publication made by
an administrator and publication.autocreate.mode=disabled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from pgcdc.config import parse_config
from pgcdc.errors import SourceSetupError
from pgcdc.pipeline import Connector
from pgcdc.produce.client import kafka_settings
from tests.connector_run import connector_settings, running_connector, unique_prefix
from tests.kafka_read import read_topic

GRANTS = {
    "replication": "ALTER ROLE {role} REPLICATION",
    "select": "GRANT SELECT ON public.users TO {role}",
    "ownership": "ALTER TABLE public.users OWNER TO {role}",
    "create": "GRANT CREATE ON DATABASE {db} TO {role}",
}


@pytest.fixture
def make_role(database: str) -> Iterator[Callable[..., str]]:
    """Create a LOGIN role with the named privileges; returns a DSN that connects as it."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.users (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO public.users VALUES (1, 'before')")
        dbname = conn.info.dbname
    roles: list[str] = []

    def make(*privileges: str, revoke_select: bool = False) -> str:
        role = "cdc_" + unique_prefix()
        roles.append(role)
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
            for privilege in privileges:
                statement = GRANTS[privilege].format(role=f'"{role}"', db=f'"{dbname}"')
                conn.execute(statement.encode())
            if revoke_select:
                # An owner holds SELECT unless it is taken away.
                conn.execute(sql.SQL("REVOKE SELECT ON public.users FROM {}").format(sql.Identifier(role)))
        return database.replace("postgresql://postgres@", f"postgresql://{role}@", 1)

    yield make
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.users OWNER TO postgres")
        for role in roles:
            conn.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(sql.Identifier(role)))


def settings_for(dsn: str, **extra: str) -> dict[str, str]:
    return connector_settings(dsn, unique_prefix(), **{"table.include.list": "public.users", **extra})


def start(settings: dict[str, str], bootstrap: str) -> None:
    Connector(config=parse_config(settings, env={}), kafka=kafka_settings(bootstrap, env={})).run()


def test_the_documented_least_privileged_role_snapshots_and_streams(
    make_role: Callable[..., str], database: str, kafka_bootstrap: str
) -> None:
    dsn = make_role("replication", "ownership", "create")
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    assert row == (False,)
    settings = settings_for(dsn)
    with running_connector(settings, kafka_bootstrap), psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO public.users VALUES (2, 'after')")
        records = read_topic(
            kafka_bootstrap, f"{settings['topic.prefix']}.public.users", until=lambda g: len(g) >= 2
        )
    assert [r.value_json["payload"]["op"] for r in records] == ["r", "c"]


def test_with_an_administrators_publication_replication_and_select_are_enough(
    make_role: Callable[..., str], database: str, kafka_bootstrap: str
) -> None:
    dsn = make_role("replication", "select")
    publication = "admin_pub_" + unique_prefix()
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE PUBLICATION {} FOR TABLE public.users").format(sql.Identifier(publication))
        )
    settings = settings_for(
        dsn, **{"publication.name": publication, "publication.autocreate.mode": "disabled"}
    )
    with running_connector(settings, kafka_bootstrap):
        read_topic(kafka_bootstrap, f"{settings['topic.prefix']}.public.users", until=lambda g: len(g) >= 1)


@pytest.mark.parametrize(
    ("granted", "revoke_select", "named"),
    [
        pytest.param(
            ("ownership", "create"),
            False,
            r"lacks the REPLICATION attribute: run ALTER ROLE",
            id="no-replication",
        ),
        pytest.param(
            ("replication", "ownership", "create"),
            True,
            r"refused '.*': permission denied for table users; grant it .*GRANT SELECT ON",
            id="no-select",
        ),
        pytest.param(
            ("replication", "select", "create"),
            False,
            r"must be owner of table users\. The role needs CREATE on the database and ownership of the captured",
            id="not-owner",
        ),
        pytest.param(
            ("replication", "ownership"),
            False,
            r"permission denied for database .*The role needs CREATE on the database",
            id="no-create-on-database",
        ),
    ],
)
def test_each_missing_privilege_is_named(
    make_role: Callable[..., str],
    kafka_bootstrap: str,
    granted: tuple[str, ...],
    revoke_select: bool,
    named: str,
) -> None:
    dsn = make_role(*granted, revoke_select=revoke_select)
    with pytest.raises(SourceSetupError, match=named):
        start(settings_for(dsn), kafka_bootstrap)
