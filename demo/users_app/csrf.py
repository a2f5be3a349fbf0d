"""CSRF protection for the forms: each form carries a token that only this app can derive from the
browser's session cookie, so a page on another site cannot post a form that passes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_COOKIE = "users_session"
TOKEN_FIELD = "csrf_token"


class CsrfGuard:
    """Issues session ids and the tokens that go with them; a token is HMAC-SHA256(secret, session id)."""

    def __init__(self, *, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the CSRF secret must be at least 16 bytes")
        self._secret = secret

    @staticmethod
    def new_session() -> str:
        return secrets.token_urlsafe(32)

    def token_for(self, session: str) -> str:
        return hmac.new(self._secret, session.encode(), hashlib.sha256).hexdigest()

    def accepts(self, session: str | None, token: str | None) -> bool:
        """Whether ``token`` was issued for ``session``; False when either is missing."""
        if not session or not token:
            return False
        return hmac.compare_digest(self.token_for(session), token)
