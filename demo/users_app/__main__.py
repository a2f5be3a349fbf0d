"""``python -m demo.users_app setup-db | serve``: DATABASE_URL says which database."""

from __future__ import annotations

import argparse
import os
import secrets
import sys

import psycopg
import uvicorn
from argon2 import PasswordHasher

from demo.users_app.app import create_app
from demo.users_app.csrf import CsrfGuard
from demo.users_app.store import UserStore, setup_db


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        sys.exit(
            "users app: set DATABASE_URL to a postgres:// URL (e.g. postgres://postgres@127.0.0.1/postgres)"
        )
    return url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo.users_app", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup-db", help="Create public.users with sample users; safe to run again.")
    serve = commands.add_parser("serve", help="Serve the app until Ctrl-C or SIGTERM.")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)
    hasher = PasswordHasher()
    if args.command == "setup-db":
        try:
            added = setup_db(_database_url(), hash_password=hasher.hash)
        except psycopg.Error as err:
            sys.exit(f"users app: setup-db failed: {err}".strip())
        print(f"public.users is ready ({added} sample user{'' if added == 1 else 's'} added)")
        return
    # SECRET_KEY (as Heroku apps name it) keeps forms valid across restarts; without it each start makes one.
    secret = os.environ.get("SECRET_KEY", "").encode() or secrets.token_bytes(32)
    app = create_app(store=UserStore(dsn=_database_url()), guard=CsrfGuard(secret=secret), hasher=hasher)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
