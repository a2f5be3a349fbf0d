"""The users table: its definition, the sample rows, and the app's three statements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from demo.users_app.validation import NewUser

# The seed's table, as in shared/reference: the password column is what the connector leaves out.
USERS_DDL = """
CREATE TABLE IF NOT EXISTS public.users (
    id serial PRIMARY KEY,
    first_name text,
    last_name text,
    password text,
    email text,
    created_at timestamptz DEFAULT now()
)
"""

SAMPLE_USERS = (
    ("Ada", "Lovelace", "ada@example.com"),
    ("Alan", "Turing", "alan@example.com"),
    ("Grace", "Hopper", "grace@example.com"),
)

CONNECT_TIMEOUT_S = 5
"""Seconds to wait for PostgreSQL before a page shows an error instead of hanging."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    first_name: str | None
    last_name: str | None
    email: str | None
    created_at: datetime | None


def setup_db(dsn: str, *, hash_password: Callable[[str], str]) -> int:
    """Create public.users when missing and add each sample user whose email is not there yet.

    Returns how many samples were added, so running it again adds none.
    """
    added = 0
    with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S) as conn:
        conn.execute(USERS_DDL)
        for first_name, last_name, email in SAMPLE_USERS:
            cursor = conn.execute(
                "INSERT INTO public.users (first_name, last_name, password, email)"
                " SELECT %s, %s, %s, %s WHERE NOT EXISTS (SELECT 1 FROM public.users WHERE email = %s)",
                [first_name, last_name, hash_password(f"{first_name.lower()}-sample-password"), email, email],
            )
            added += cursor.rowcount
    return added


class UserStore:
    """Reads and writes public.users; one short connection per call, so a restarted database is no matter."""

    def __init__(self, *, dsn: str) -> None:
        self._dsn = dsn

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self._dsn, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True)

    def list_users(self) -> list[User]:
        with self._connect() as conn, conn.cursor(row_factory=class_row(User)) as cursor:
            cursor.execute(
                "SELECT id, first_name, last_name, email, created_at FROM public.users ORDER BY id"
            )
            return cursor.fetchall()

    def add(self, user: NewUser, *, password_hash: str) -> int:
        """Insert ``user`` with ``password_hash`` (never the plaintext); returns the new id."""
        with self._connect() as conn:
            row = conn.execute(
                "INSERT INTO public.users (first_name, last_name, password, email)"
                " VALUES (%s, %s, %s, %s) RETURNING id",
                [user.first_name, user.last_name, password_hash, user.email],
            ).fetchone()
        new_id = row[0] if row else None
        assert isinstance(new_id, int), "INSERT ... RETURNING id returned no id"
        return new_id

    def delete(self, user_id: int) -> bool:
        """Whether a user with that id was there to delete."""
        with self._connect() as conn:
            return conn.execute("DELETE FROM public.users WHERE id = %s", [user_id]).rowcount > 0

    def ping(self) -> None:
        with self._connect() as conn:
            conn.execute("SELECT 1")
