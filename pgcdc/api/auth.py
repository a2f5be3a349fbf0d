"""Who may call the API: anyone on loopback when no token is set; otherwise only bearers of the token."""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

from pgcdc.errors import ConfigError

TOKEN_ENV = "PGCDC_API_TOKEN"
# Shorter tokens are guessable by anyone who can reach the port.
MIN_TOKEN_LENGTH = 16


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_token(*, token_file: Path | None, env: Mapping[str, str] | None = None) -> str | None:
    """The token from ``token_file`` (first line) or ``$PGCDC_API_TOKEN``; None when neither is set."""
    env = os.environ if env is None else env
    if token_file is not None:
        try:
            lines = token_file.read_text(encoding="utf-8").splitlines()
        except OSError as err:
            raise ConfigError(f"cannot read the API token file {token_file}: {err.strerror}") from None
        token = lines[0].strip() if lines else ""
        source = str(token_file)
    else:
        token = env.get(TOKEN_ENV, "").strip()
        source = f"${TOKEN_ENV}"
        if not token:
            return None
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"the API token from {source} is shorter than {MIN_TOKEN_LENGTH} characters: use a random one "
            "(e.g. openssl rand -hex 32)"
        )
    return token


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"binding the API to {host} needs a token: set {TOKEN_ENV} or --api-token-file, "
            "or bind to 127.0.0.1"
        )


def token_matches(header: str | None, token: str) -> bool:
    """Constant-time comparison of an ``Authorization: Bearer`` header with the token."""
    if header is None:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())
