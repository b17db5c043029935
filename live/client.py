"""One authenticated WebSocket client: who it is, where its stream stands, how it answers."""

from __future__ import annotations

import asyncio
import logging

from auth.tokens import user_id_of
from broadcast import Subscriber
from live import activity
from live.transport import Transport
from store import StoreError
from wire.protocol import error_frame

log = logging.getLogger("payambar.ws")


class Client:
    # One per open socket, tens of thousands held at once: no per-instance dict.
    __slots__ = (
        "transport", "state", "store", "user_id", "session_id", "subscriber", "last_seq", "resume_from",
        "batch", "typing_limit", "expiry", "address", "scopes",
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
        self.last_seq = 0  # the newest seq this client has been sent
        self.resume_from: int | None = None
        self.batch = False  # whether frames that waited together go out as one `updates` frame
        self.typing_limit = activity.TypingLimit()
        self.expiry: asyncio.TimerHandle | None = None
        self.address = address
        self.scopes: frozenset[str] | None = None  # an API token's scopes; None: a browser session's (all)

    def may(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes

    def touch(self) -> None:
        """The session's "last active" (written at most once a minute per session)."""
        self.state.accounts.touch_session(self.session_id, self.address)

    def expires_at(self, when: float, code: int) -> None:
        """Closes the client with `code` when its token expires, unless renewed before."""
        if self.expiry is not None:
            self.expiry.cancel()
        self.expiry = activity.close_when_expired(self.subscriber, when, code)

    def reply(self, text: str) -> None:
        """Queues a frame behind everything already waiting for this client."""
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
            log.error("a change from a client failed", exc_info=error)
            self.reply(error_frame("internal", "The change could not be saved; retry it.", ref))

    async def user_id_of(self, username, field: str) -> int:
        return await user_id_of(self.state, username, field)
