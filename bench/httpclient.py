"""A lean HTTP/1.1 keep-alive client for the read load: asyncio Protocol + httptools' parser.

`httpx` costs the generator 1–4 ms of CPU per request here (measured), so a scenario that
asks for ≥ 1 500 requests/s would measure the client. This client sends the same GET requests
on persistent connections and parses the answers with `httptools` (uvicorn's own parser); it
keeps the status and body size and throws the body away. Setup calls still use `httpx`.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httptools


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future | None = None
        self.size = 0
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            if self.waiter and not self.waiter.done():
                self.waiter.set_exception(e)

    def connection_lost(self, exc) -> None:
        if self.waiter and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("connection closed"))
        if not self.lost.done():
            self.lost.set_result(None)

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.size += len(body)

    def on_message_complete(self) -> None:
        if self.waiter and not self.waiter.done():
            self.waiter.set_result((self.parser.get_status_code(), self.size))


class LeanHTTP:
    """One keep-alive connection; `get` sends a request and waits for the whole answer."""

    def __init__(self, base: str):
        u = urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.conn: _Conn | None = None

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Conn, self.host, self.port)
        return conn

    async def get(self, path: str, token: str | None = None) -> tuple[int, int]:
        """(status, body bytes) of GET path."""
        if self.conn is None or self.conn.lost.done():
            self.conn = await self._connect()
        c = self.conn
        c.waiter = asyncio.get_running_loop().create_future()
        c.size = 0
        auth = f"authorization: Bearer {token}\r\n" if token else ""
        c.transport.write(
            f"GET {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n{auth}accept: application/json\r\n"
            "user-agent: payambar-bench\r\n\r\n".encode()
        )
        return await c.waiter

    def close(self) -> None:
        if self.conn is not None and self.conn.transport is not None:
            self.conn.transport.close()
