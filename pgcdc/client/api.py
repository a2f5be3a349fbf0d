"""The HTTP client of a worker's REST API: where it is (``PGCDC_URL``), the token, and errors as one line."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from pgcdc.errors import PgcdcError

if TYPE_CHECKING:
    import httpx

URL_ENV = "PGCDC_URL"
TOKEN_ENV = "PGCDC_API_TOKEN"
DEFAULT_URL = "http://127.0.0.1:8083"
# Seconds per request; destroy waits for workers to let go of the slot, so it gets the worker's own limit.
TIMEOUT_S = 60.0


class ApiError(PgcdcError):
    """The API refused or could not be reached; the message is what the CLI prints."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ApiClient:
    """One connection to the API for the length of a command."""

    def __init__(self, *, url: str | None = None, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.url = (url or env.get(URL_ENV) or DEFAULT_URL).rstrip("/")
        token = env.get(TOKEN_ENV, "").strip()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # Imported here: the CLI's module imports this one, and httpx is about 5 MB of memory that `pgcdc run`
        # (and its snapshot) would carry without ever making a request.
        import httpx

        self._http: httpx.Client = httpx.Client(base_url=self.url, headers=headers, timeout=TIMEOUT_S)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._http.close()

    def request(self, method: str, path: str, *, json: Any = None, params: Any = None) -> Any:
        """The parsed JSON answer (None for 204); ApiError with the API's own message otherwise."""
        import httpx  # already imported by __init__

        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.HTTPError as err:
            raise ApiError(
                f"cannot reach the pgcdc API at {self.url}: {err}; start a worker (pgcdc worker) "
                f"or set {URL_ENV} to where one listens"
            ) from None
        if response.status_code == 401:
            raise ApiError(
                f"the API at {self.url} wants a token: set {TOKEN_ENV} to the worker's token", status=401
            )
        if response.status_code >= 400:
            try:
                message = str(response.json().get("message"))
            except (ValueError, AttributeError):
                message = response.text.strip()[:300] or response.reason_phrase
            raise ApiError(message, status=response.status_code)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(f"the API at {self.url} answered {path} with something that is not JSON") from None

    def get(self, path: str, *, params: Any = None) -> Any:
        return self.request("GET", path, params=params)

    def put(self, path: str, *, json: Any = None) -> Any:
        return self.request("PUT", path, json=json)

    def post(self, path: str, *, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def delete(self, path: str, *, params: Any = None) -> Any:
        return self.request("DELETE", path, params=params)
