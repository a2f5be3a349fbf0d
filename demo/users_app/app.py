"""The users app's pages and forms: list, add, delete; both forms guarded against CSRF, every value escaped."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

import jinja2
import psycopg
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from demo.security_headers import SecurityHeaders
from demo.users_app.csrf import SESSION_COOKIE, TOKEN_FIELD, CsrfGuard
from demo.users_app.store import UserStore
from demo.users_app.validation import InvalidForm, parse_new_user, parse_user_id

HERE = Path(__file__).parent
FORM_MAX_BYTES = 16 * 1024
"""Bytes of a form body; the add form needs well under 2 KiB, so more is refused unread."""
_FORM_TYPE = "application/x-www-form-urlencoded"


class _FormRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


async def _read_form(request: Request) -> dict[str, str]:
    """The urlencoded body as a dict (first value of each field); bounded, so a huge body costs nothing."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != _FORM_TYPE:
        raise _FormRefused(415, f"The form must be sent as {_FORM_TYPE}.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_MAX_BYTES:
            raise _FormRefused(413, f"The form is larger than {FORM_MAX_BYTES // 1024} KiB.")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=20, strict_parsing=False
        )
    except (UnicodeDecodeError, ValueError) as err:
        raise _FormRefused(400, "The form could not be read (not UTF-8, or too many fields).") from err
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


def create_app(*, store: UserStore, guard: CsrfGuard, hasher: PasswordHasher) -> Starlette:
    """The app; ``store`` reaches the database, ``guard`` checks form tokens, ``hasher`` hashes passwords."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    environment.filters["when"] = _when
    templates = Jinja2Templates(env=environment)

    async def page(
        request: Request,
        *,
        status: int = 200,
        problems: list[str] | None = None,
        values: Mapping[str, str] | None = None,
    ) -> Response:
        session = request.cookies.get(SESSION_COOKIE) or guard.new_session()
        notice = None
        for key, verb in (("added", "Added"), ("deleted", "Deleted")):
            if request.query_params.get(key, "").isdigit():
                notice = f"{verb} user {int(request.query_params[key])}."
        try:
            users = await run_in_threadpool(store.list_users)
            db_error = None
        except psycopg.Error as err:
            users, db_error, status = [], f"Cannot read public.users: {err}".strip(), 503
        response = templates.TemplateResponse(
            request,
            "users.html",
            {
                "users": users,
                "problems": problems or [],
                "db_error": db_error,
                "notice": notice,
                "values": values or {},
                "csrf_field": TOKEN_FIELD,
                "csrf_token": guard.token_for(session),
            },
            status_code=status,
        )
        if request.cookies.get(SESSION_COOKIE) != session:
            response.set_cookie(
                SESSION_COOKIE,
                session,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
            )
        return response

    async def checked_form(request: Request) -> dict[str, str]:
        form = await _read_form(request)
        if not guard.accepts(request.cookies.get(SESSION_COOKIE), form.get(TOKEN_FIELD)):
            raise _FormRefused(
                403,
                "This form was refused: its CSRF token is missing or does not belong to this browser's "
                "session. Reload the page and send the form again.",
            )
        return form

    async def home(request: Request) -> Response:
        return RedirectResponse("/users", status_code=303)

    async def list_users(request: Request) -> Response:
        return await page(request)

    async def add_user(request: Request) -> Response:
        try:
            form = await checked_form(request)
        except _FormRefused as err:
            return await page(request, status=err.status, problems=[str(err)])
        typed = {key: form.get(key, "") for key in ("first_name", "last_name", "email")}
        try:
            user = parse_new_user(form)
        except InvalidForm as err:
            return await page(request, status=400, problems=err.problems, values=typed)
        password_hash = await run_in_threadpool(hasher.hash, user.password)
        try:
            new_id = await run_in_threadpool(store.add, user, password_hash=password_hash)
        except psycopg.Error as err:
            problem = f"The user could not be saved: {err}".strip()
            return await page(request, status=503, problems=[problem], values=typed)
        return RedirectResponse(f"/users?added={new_id}", status_code=303)

    async def delete_user(request: Request) -> Response:
        try:
            user_id = parse_user_id(await checked_form(request))
        except _FormRefused as err:
            return await page(request, status=err.status, problems=[str(err)])
        except InvalidForm as err:
            return await page(request, status=400, problems=err.problems)
        try:
            deleted = await run_in_threadpool(store.delete, user_id)
        except psycopg.Error as err:
            return await page(
                request, status=503, problems=[f"User {user_id} could not be deleted: {err}".strip()]
            )
        if not deleted:
            return await page(
                request, status=404, problems=[f"There is no user {user_id} (deleted already?)."]
            )
        return RedirectResponse(f"/users?deleted={user_id}", status_code=303)

    async def health(request: Request) -> Response:
        try:
            await run_in_threadpool(store.ping)
        except psycopg.Error as err:
            return JSONResponse({"status": "database unreachable", "error": str(err)}, status_code=503)
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/users", list_users, methods=["GET"]),
            Route("/users", add_user, methods=["POST"]),
            Route("/delete_user", delete_user, methods=["POST"]),
            Route("/healthz", health),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
    )
    app.add_middleware(SecurityHeaders)
    return app
