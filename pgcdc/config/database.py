"""The database.* settings: where and as whom to connect to PostgreSQL, TLS files included."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from pgcdc.config.settings import SETTINGS
from pgcdc.config.values import parse_choice, parse_int
from pgcdc.errors import ConfigError

# libpq's TLS parameters that Debezium exposes as database.<name>; all but sslpassword name files.
_TLS_PARAMETERS = ("sslrootcert", "sslcert", "sslkey", "sslpassword")
_TLS_FILES = ("sslrootcert", "sslcert", "sslkey")


def _check_readable(key: str, path: str) -> str:
    """The path of a file libpq will read; a missing or unreadable one is named now, not as a TLS failure."""
    try:
        with open(path, "rb"):
            pass
    except OSError as err:
        raise ConfigError(
            f"{key}={path}: cannot read the file ({err.strerror}): fix the path or the file's permissions "
            "(it is read by the process that connects to PostgreSQL)"
        ) from None
    return path


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """Where and as whom to connect; ``conninfo`` holds the password, so it is never printed."""

    host: str
    port: int
    user: str
    password: str | None = field(repr=False)
    dbname: str
    sslmode: str
    sslrootcert: str | None = None
    sslcert: str | None = None
    sslkey: str | None = None
    sslpassword: str | None = field(default=None, repr=False)

    def conninfo(self, **extra: str) -> str:
        from psycopg.conninfo import make_conninfo

        params: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": self.dbname,
            "sslmode": self.sslmode,
            "application_name": "pgcdc",
        }
        if self.password is not None:
            params["password"] = self.password
        for name in _TLS_PARAMETERS:
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        params.update(extra)
        return make_conninfo("", **params)

    def describe(self) -> str:
        """Where we connect, safe to print: no password."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"


def parse_database(raw: Mapping[str, str], env: Mapping[str, str]) -> DatabaseSettings:
    url = raw.get("database.url") or (None if "database.hostname" in raw else env.get("DATABASE_URL"))
    values = {s.key: s.default for s in SETTINGS if s.key.startswith("database.")}
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql"):
            raise ConfigError("database.url must start with postgres:// or postgresql://")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError("database.url has an invalid port") from None
        values.update(
            {
                "database.hostname": parts.hostname or "localhost",
                "database.port": str(port or 5432),
                "database.user": unquote(parts.username) if parts.username else None,
                "database.password": unquote(parts.password) if parts.password else None,
                "database.dbname": unquote(parts.path.lstrip("/")) or None,
            }
        )
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        for name in ("sslmode", *_TLS_PARAMETERS):
            if name in query:
                values[f"database.{name}"] = unquote(query[name])
    values.update({k: v for k, v in raw.items() if k.startswith("database.") and k != "database.url"})
    missing = [k for k in ("database.user", "database.dbname") if not values.get(k)]
    if missing:
        raise ConfigError(f"missing {' and '.join(missing)}: set them, or database.url / $DATABASE_URL")
    sslmode = parse_choice(
        "database.sslmode",
        values["database.sslmode"] or "prefer",
        ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    )
    tls = {name: values.get(f"database.{name}") or None for name in _TLS_PARAMETERS}
    for name in _TLS_FILES:
        # sslrootcert=system is libpq's (16+) word for the operating system's trusted CAs, not a file.
        if tls[name] is not None and not (name == "sslrootcert" and tls[name] == "system"):
            _check_readable(f"database.{name}", tls[name] or "")
    return DatabaseSettings(
        host=values["database.hostname"] or "localhost",
        port=parse_int("database.port", values["database.port"] or "5432", minimum=1),
        user=values["database.user"] or "",
        password=values.get("database.password"),
        dbname=values["database.dbname"] or "",
        sslmode=sslmode,
        **tls,
    )
