"""One authenticated WebSocket connection: who it is, where its stream stands, how it answers."""

from __future__ import annotations

import asyncio
import logging

from broadcast import Subscriber
from routes import ws_guard
from routes.protocol import error_frame
from routes.tokens import user_id_of
from routes.ws.transport import Transport
from store import StoreError

log = logging.getLogger("payambar.ws")


class Connection:
    # One per open socket, tens of thousands held at once: no per-instance dict.
    __slots__ = (
        "transport", "state", "store", "user_id", "session_id", "subscriber", "last_seq", "resume_from",
        "batch", "typing_limit", "expiry", "address",
    )  # fmt: skip

    def __init__(
        self, transport: Transport, state, user_id: int, session_id: str, subscriber: Subscriber, address: str = ""
    ) -> None:
        self.transport = transport
        self.state = state
        self.store = state.store
        self.user_id = user_id
        self.session_id = session_id
        self.subscriber = subscriber
        self.last_seq = 0  # the newest seq this connection has been sent
        self.resume_from: int | None = None
        self.batch = False  # whether frames that waited together go out as one `updates` frame
        self.typing_limit = ws_guard.TypingLimit()
        self.expiry: asyncio.TimerHandle | None = None
        self.address = address

    def touch(self) -> None:
        """The session's "last active" (written at most once a minute per session)."""
        self.state.accounts.touch_session(self.session_id, self.address)

    def expires_at(self, when: float, code: int) -> None:
        """Closes the connection with `code` when its token expires, unless renewed before."""
        if self.expiry is not None:
            self.expiry.cancel()
        self.expiry = ws_guard.close_when_expired(self.subscriber, when, code)

    def reply(self, text: str) -> None:
        """Queues a frame behind everything already waiting for this connection."""
        self.subscriber.deliver(None, text)

    def submit(self, operation, ref=None) -> None:
        """Queues a change; only a failure is answered here (success arrives as updates)."""
        future = self.store.submit(operation)
        future.add_done_callback(lambda done: self._report_failure(done, ref))

    def _report_failure(self, future: asyncio.Future, ref) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            return
        if isinstance(error, StoreError):
            self.reply(error_frame(error.code, error.message, ref, error.field))
        else:
            log.error("a change from a connection failed", exc_info=error)
            self.reply(error_frame("internal", "The change could not be saved; retry it.", ref))

    async def user_id_of(self, username, field: str) -> int:
        return await user_id_of(self.state, username, field)
