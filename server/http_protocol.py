"""The HTTP protocol the server runs: uvicorn's httptools protocol with the limits it lacks.

uvicorn caps none of these with httptools (its --h11-max-incomplete-event-size is for h11 only),
so a single client could send a 64 MiB header or hold connections open forever with a trickle:
- a request's headers may take at most MAX_HEADER_BYTES (431 past that);
- at most MAX_HEADERS header lines (431);
- the headers must arrive within HEADER_TIMEOUT_SECONDS of the connection opening or of the
  first byte of the next request on a kept-alive connection (the connection is closed).
Idle kept-alive connections are closed by uvicorn itself (--timeout-keep-alive).
Start it with `uvicorn app:app --http server.http_protocol:HttpProtocol`.
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

MAX_HEADER_BYTES = 16 * 1024
MAX_HEADERS = 100
HEADER_TIMEOUT_SECONDS = 10.0

log = logging.getLogger("payambar.http")


class HttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_bytes = 0
        self._reading_headers = True
        self._too_many_headers = False
        self._parsed_bytes = 0  # the request line and headers the parser has read so far
        self._header_deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        super().data_received(data)
        if self._reading_headers and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._refuse_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:
            self._arm_header_deadline()  # the first byte of a request on a kept-alive connection
        self._reading_headers = True
        self._header_bytes = 0
        self._parsed_bytes = 0
        self._too_many_headers = False

    def on_url(self, url: bytes) -> None:
        self._count_parsed(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= MAX_HEADERS:
            self._too_many_headers = True
            raise ValueError("too many headers")  # stops the parser; answered in send_400_response
        self._count_parsed(len(name) + len(value) + 4)  # ": " and the line's end
        super().on_header(name, value)

    def _count_parsed(self, size: int) -> None:
        """Headers that arrive in one read are parsed (and the request run) before
        `data_received` could count them: the parser's own callbacks count them too."""
        self._parsed_bytes += size
        if self._parsed_bytes > MAX_HEADER_BYTES:
            self._too_many_headers = True
            raise ValueError("headers too large")

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._disarm_header_deadline()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self._too_many_headers:
            self._refuse_headers()
        else:
            super().send_400_response(msg)

    def _refuse_headers(self) -> None:
        self._reading_headers = False
        self._disarm_header_deadline()
        body = b'{"error":{"code":"headers_too_large","message":"The request headers are too large."}}'
        self.transport.write(
            STATUS_LINE[431]
            + b"content-type: application/json\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\nconnection: close\r\n\r\n"
            + body
        )
        self.transport.close()

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self._reading_headers and not self.transport.is_closing():
            self.transport.close()
