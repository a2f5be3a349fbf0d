"""column.mask / column.truncate through the whole pipeline: snapshot rows and streamed changes reach Kafka with the
matched columns masked, hashed or cut, and every other column (and the key) as it is."""

from __future__ import annotations

import hashlib

import psycopg

from tests.connector_run import connector_settings, running_connector, unique_prefix
from tests.kafka_read import read_topic

RULES = {
    "column.mask.with.6.chars": "public.users.ssn",
    "column.mask.hash.v2.SHA-256.with.salt.pepper": r"public\.users\.email",
    "column.truncate.to.5.chars": "public.users.bio",
}


def hashed(email: str) -> str:
    return hashlib.sha256(b"pepper" + email.encode()).hexdigest()


def test_masked_columns_in_snapshot_and_stream(database: str, kafka_bootstrap: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE public.users (id int PRIMARY KEY, email text, ssn varchar(11), bio text, phone text)"
        )
        conn.execute(
            "INSERT INTO public.users VALUES (1, 'ann@example.com', '123-45-6789', 'Loves long walks', '555-0101'),"
            " (2, NULL, NULL, NULL, '555-0102')"
        )
    prefix = unique_prefix()
    settings = connector_settings(database, prefix, **{"table.include.list": "public.users", **RULES})
    with running_connector(settings, kafka_bootstrap):
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO public.users VALUES (3, 'bob@example.com', '987-65-4321', 'Écrit des poèmes', '555-0103')"
            )
            conn.execute("UPDATE public.users SET bio = 'Now runs marathons' WHERE id = 1")
            conn.execute("DELETE FROM public.users WHERE id = 2")
        records = read_topic(kafka_bootstrap, f"{prefix}.public.users", until=lambda got: len(got) >= 6)

    values = [r.value_json["payload"] for r in records if r.value is not None]
    assert [(v["op"], (v["after"] or v["before"])["id"]) for v in values] == [
        ("r", 1),
        ("r", 2),
        ("c", 3),
        ("u", 1),
        ("d", 2),
    ]
    ann = {"id": 1, "email": hashed("ann@example.com"), "ssn": "******", "bio": "Loves", "phone": "555-0101"}
    assert values[0]["after"] == ann
    # NULL: asterisks from the mask, NULL from the hash and the cut
    assert values[1]["after"] == {"id": 2, "email": None, "ssn": "******", "bio": None, "phone": "555-0102"}
    assert values[2]["after"] == {
        "id": 3,
        "email": hashed("bob@example.com"),
        "ssn": "******",
        "bio": "Écrit",
        "phone": "555-0103",
    }
    assert values[3]["after"] == {**ann, "bio": "Now r"}
    # the old row of a delete carries the key only: the other columns are NULL, masked as such
    assert values[4]["before"] == {"id": 2, "email": None, "ssn": "******", "bio": None, "phone": None}
    assert [r.key_json["payload"] for r in records] == [{"id": i} for i in (1, 2, 3, 1, 2, 2)]

    schema = {f["field"]: f for f in records[0].value_json["schema"]["fields"][1]["fields"]}
    assert schema["ssn"]["parameters"] == {"masked": "true"}
    assert schema["email"]["parameters"] == {"masked": "true"}
    assert schema["bio"]["parameters"] == {"truncateLength": "5"}
    assert "parameters" not in schema["phone"] and "parameters" not in schema["id"]

    wire = b"".join((r.key or b"") + (r.value or b"") for r in records)
    for secret in (
        "ann@example.com",
        "bob@example.com",
        "123-45-6789",
        "987-65-4321",
        "long walks",
        "poèmes",
    ):
        assert secret.encode() not in wire, f"{secret} reached the topic"
    assert b"555-0101" in wire and b"555-0103" in wire
