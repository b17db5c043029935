"""Graceful restart: on SIGTERM every WebSocket is closed with 1012 (service restart), properly.

uvicorn, told to stop, closes each WebSocket's socket right after writing its close frame. A
client that was sending at that moment then gets a TCP reset, which can swallow the close
frame: it sees 1006 and cannot tell a restart from a crash. So on SIGTERM the app closes the
sockets first, through the normal close handshake (the server's close frame, the client's
reply), refuses new ones with 1012, and only then hands the signal to uvicorn, which stops
listening, lets requests in flight finish, and runs the lifespan's shutdown (the writer commits
everything queued). All of it well within `--timeout-graceful-shutdown`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wire.close_codes import SERVICE_RESTART

log = logging.getLogger("payambar")

DRAIN_SECONDS = 2.0  # for clients to answer the close frames


class _Session:
    __slots__ = ("send", "closed")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.closed = False


class GracefulRestart:
    """ASGI middleware: knows the live WebSockets, and closes them all with 1012 on drain()."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.sessions: set[_Session] = set()
        self.draining = False
        self._ended = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            if scope["type"] == "lifespan":
                scope["app"].state.graceful_restart = self  # for the lifespan to hook up SIGTERM
            await self.app(scope, receive, send)
            return
        if self.draining:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": SERVICE_RESTART})
            return
        session = _Session(send)

        async def send_unless_closed(message: Message) -> None:
            if not session.closed:
                if message["type"] == "websocket.close":
                    session.closed = True
                await send(message)

        self.sessions.add(session)
        try:
            await self.app(scope, receive, send_unless_closed)
        finally:
            self.sessions.discard(session)
            if not self.sessions:
                self._ended.set()

    async def drain(self) -> None:
        """Closes every WebSocket with 1012 and waits (a little) for the clients to answer."""
        self.draining = True
        self._ended.clear()
        for session in list(self.sessions):
            if session.closed:
                continue
            session.closed = True
            try:
                await session.send({"type": "websocket.close", "code": SERVICE_RESTART, "reason": "restarting"})
            except Exception:  # a socket already gone needs no close frame
                pass
        if self.sessions:
            try:
                await asyncio.wait_for(self._ended.wait(), DRAIN_SECONDS)
            except TimeoutError:
                log.warning("%d WebSocket(s) did not answer the close in time", len(self.sessions))


def drain_before_sigterm(graceful: GracefulRestart) -> None:
    """Puts drain() in front of the server's own SIGTERM handling (uvicorn's, when it runs us)."""
    if threading.current_thread() is not threading.main_thread():
        return  # signals belong to the main thread (a test client runs the app elsewhere)
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return  # nothing to hand the signal on to: leave the default in place
    loop = asyncio.get_running_loop()
    draining: list[asyncio.Task] = []

    async def drain_then_stop(signum: int, frame) -> None:
        await graceful.drain()
        previous(signum, frame)

    def on_sigterm(signum: int, frame) -> None:
        if draining:  # a second SIGTERM: stop now
            previous(signum, frame)
            return
        log.info("SIGTERM: closing WebSockets with 1012, then stopping")
        draining.append(loop.create_task(drain_then_stop(signum, frame)))

    signal.signal(signal.SIGTERM, lambda signum, frame: loop.call_soon_threadsafe(on_sigterm, signum, frame))
