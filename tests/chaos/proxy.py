"""A TCP proxy on 127.0.0.1 that a test controls: cut every connection both ways, refuse new ones, record.

It runs an asyncio loop in a thread of its own, so tests call it from plain synchronous code. With
``server_ssl`` it also terminates TLS, which lets tests put a TLS listener (mutual TLS included) in front of a
broker that cannot serve TLS itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")
_CHUNK = 65536
_CALL_TIMEOUT_S = 30.0


class TcpProxy:
    """Forwards ``127.0.0.1:port`` to ``127.0.0.1:upstream_port`` until ``stop``."""

    def __init__(
        self,
        upstream_port: int,
        *,
        port: int = 0,
        server_ssl: ssl.SSLContext | None = None,
        record: bool = False,
    ) -> None:
        """``port`` 0 picks a free one; ``record`` keeps every byte the upstream sent (see ``received``)."""
        self.upstream_port = upstream_port
        self._port = port
        self._server_ssl = server_ssl
        self._record = record
        self._received = bytearray()
        self._sent = bytearray()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._reopen: asyncio.TimerHandle | None = None
        self.connections = 0
        """Connections accepted so far."""

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._port}"

    @property
    def received(self) -> bytes:
        """Everything the upstream sent to clients so far (``record=True`` only)."""
        return self._call(self._copy(self._received))

    @property
    def sent(self) -> bytes:
        """Everything clients sent to the upstream so far (``record=True`` only)."""
        return self._call(self._copy(self._sent))

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def cut(self, *, refuse_for: float = 0.0) -> int:
        """Reset every open connection on both sides; refuse new ones for ``refuse_for`` seconds.

        Returns how many connections were cut. Refusing closes the listening socket, so clients get
        "connection refused" as from a host that is down, until it listens again on the same port.
        """
        return self._call(self._cut(refuse_for))

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- inside the loop ----------------------------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(_CALL_TIMEOUT_S)

    async def _copy(self, data: bytearray) -> bytes:
        return bytes(data)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self._port, ssl=self._server_ssl, reuse_address=True
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        if self._reopen is not None:
            self._reopen.cancel()
        await self._cut(0.0)
        if self._server is not None:
            self._server.close()
            self._server = None
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _cut(self, refuse_for: float) -> int:
        if refuse_for > 0 and self._server is not None:
            self._server.close()
            self._server = None
            if self._reopen is not None:
                self._reopen.cancel()
            self._reopen = self._loop.call_later(refuse_for, lambda: self._loop.create_task(self._listen()))
        writers, self._writers = list(self._writers), set()
        for writer in writers:
            _reset(writer)
        return len(writers) // 2

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            _reset(client_writer)
            return
        pair = {client_writer, upstream_writer}
        self._writers |= pair
        try:
            await asyncio.gather(
                self._pipe(client_reader, upstream_writer, self._sent),
                self._pipe(upstream_reader, client_writer, self._received),
            )
        finally:
            self._writers -= pair
            for writer in pair:
                writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log: bytearray) -> None:
        try:
            while data := await reader.read(_CHUNK):
                if self._record:
                    log += data
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            # One side ended: end the other, so neither end waits on a half-open connection.
            with contextlib.suppress(Exception):
                if writer.can_write_eof():
                    writer.write_eof()
                else:
                    writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (linger 0), as a dropped network path or a killed peer would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
