"""ASGI middleware: one log line per HTTP request and per WebSocket session, and their counters.

Only what describes the exchange: method, path (never the query string), status or close code,
duration, bytes, the client's address. Never a header, a body, a token or a message.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observe import metrics

log = logging.getLogger("payambar.access")


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "-"


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status, sent = 0, 0

        async def watch(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            status = status or 500  # no answer started: the app failed
            metrics.COUNTS.http_response(status)
            if log.isEnabledFor(logging.INFO):
                fields = {
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "bytes": sent,
                    "client": _client(scope),
                }
                log.info("%s %s %d", scope["method"], scope["path"], status, extra={"fields": fields})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        frames_in = frames_out = 0
        close_code: int | None = None
        closed_by = "-"

        async def watch_receive() -> Message:
            nonlocal frames_in, close_code, closed_by
            message = await receive()
            kind = message["type"]
            if kind == "websocket.receive":
                frames_in += 1
            elif kind == "websocket.disconnect" and close_code is None:
                close_code, closed_by = message.get("code", 1005), "client"
            return message

        async def watch_send(message: Message) -> None:
            nonlocal frames_out, close_code, closed_by
            kind = message["type"]
            if kind == "websocket.send":
                frames_out += 1
            elif kind == "websocket.close" and close_code is None:
                close_code, closed_by = message.get("code", 1000), "server"
            await send(message)

        metrics.COUNTS.websocket_sessions += 1
        try:
            await self.app(scope, watch_receive, watch_send)
        finally:
            if log.isEnabledFor(logging.INFO):
                fields = {
                    "path": scope["path"],
                    "close_code": close_code,
                    "closed_by": closed_by,
                    "seconds": round(time.perf_counter() - started, 1),
                    "frames_in": frames_in,
                    "frames_out": frames_out,
                    "client": _client(scope),
                }
                log.info("WebSocket %s closed %s", scope["path"], close_code, extra={"fields": fields})
