"""The message list's pages: the records kept so far, then each new one live over server-sent events."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from demo.message_list.inbox import Inbox
from demo.message_list.messages import Received, show
from demo.message_list.render import Renderer, sse_lines
from demo.security_headers import SecurityHeaders

HERE = Path(__file__).parent

KEEPALIVE_S = 15.0
"""Seconds between comment lines on an idle stream, so proxies keep it open and a closed page is noticed."""
STATUS_EVERY_S = 1.0
"""Seconds between looks at the reader's status while a stream idles."""


@dataclass(frozen=True, slots=True)
class Source:
    """What the app reads, for the page: a reader's topic and group, and its status."""

    topic: str
    group: str
    status: Callable[[], str]
    run: Callable[[threading.Event], None]


def record_handler(*, inbox: Inbox, renderer: Renderer, limit: int) -> Callable[[Received], None]:
    """Renders each record once, in the reader's thread, and keeps it in ``inbox``."""

    def handle(received: Received) -> None:
        inbox.add(renderer.message(show(received, limit=limit)))

    return handle


def create_app(*, inbox: Inbox, renderer: Renderer, source: Source) -> Starlette:
    templates = Jinja2Templates(env=renderer.environment)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        inbox.attach(asyncio.get_running_loop())
        stop = threading.Event()
        thread = threading.Thread(target=source.run, args=(stop,), name="reader", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            await asyncio.to_thread(thread.join, 10)

    async def index(request: Request) -> Response:
        entries = inbox.newest_first()
        return templates.TemplateResponse(
            request,
            "index.html",
            {
                "topic": source.topic,
                "group": source.group,
                "status": source.status(),
                "keep": inbox.keep,
                "entries": [entry.html for entry in entries],
                "last_seq": entries[0].seq if entries else 0,
            },
        )

    async def stream(request: Request) -> Response:
        resume = request.headers.get("last-event-id") or request.query_params.get("after", "0")
        seq = int(resume) if resume.isdigit() else 0

        async def events() -> AsyncIterator[str]:
            nonlocal seq
            status = source.status()
            yield "".join(sse_lines("status", status))
            idle = 0.0
            while True:
                for entry in inbox.after(seq):
                    seq = entry.seq
                    idle = 0.0
                    yield "".join(sse_lines("record", entry.html, event_id=entry.seq))
                if source.status() != status:
                    status = source.status()
                    yield "".join(sse_lines("status", status))
                if idle >= KEEPALIVE_S:
                    idle = 0.0
                    yield ": keepalive\n\n"
                await inbox.wait_after(seq, timeout=STATUS_EVERY_S)
                idle += STATUS_EVERY_S

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def health(request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "reader": source.status(), "topic": source.topic, "kept": len(inbox.after(0))}
        )

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/stream", stream),
            Route("/healthz", health),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(SecurityHeaders)
    return app
