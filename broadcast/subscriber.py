"""A subscriber: one live connection's bounded send queue of frames, in order."""

from __future__ import annotations

import asyncio
from collections import deque

SEND_QUEUE_LIMIT = 4096


class Subscriber:
    """Frames waiting for one connection. A connection that falls `limit` frames behind is told
    to go (`overflowed`) rather than silently missing updates: it resumes from its cursor.
    `catch_up` asks its writer to fetch from the store whatever it may have missed."""

    __slots__ = (
        "id",
        "user_id",
        "session_id",
        "_frames",
        "_ready",
        "overflowed",
        "limit",
        "closed",
        "kicked",
        "woken",
        "catch_up",
        "on_overflow",
        "opened",
    )

    def __init__(self, id: str, user_id: int, session_id: str = "", limit: int = SEND_QUEUE_LIMIT) -> None:
        self.id = id
        self.user_id = user_id
        self.session_id = session_id
        self.kicked: int | None = None  # a close code the connection must close with
        self.woken = False
        self.catch_up = False
        self._frames: deque[tuple[int | None, str, bool]] = deque()
        self._ready = asyncio.Event()
        self.overflowed = False
        self.closed = False
        self.limit = limit
        self.on_overflow = None  # called once, when the send queue overflows
        self.opened = 0  # the order connections were opened in on this instance: the oldest goes first

    @property
    def queued(self) -> int:
        """Frames waiting in the send queue (for /metrics)."""
        return len(self._frames)

    def deliver(self, seq: int | None, text: str, is_ack: bool = False) -> None:
        if self.closed:
            return
        if len(self._frames) >= self.limit:
            if not self.overflowed:
                self.overflowed = True
                self._ready.set()
                if self.on_overflow is not None:
                    self.on_overflow()
            return
        self._frames.append((seq, text, is_ack))
        self._ready.set()

    async def next_frames(self) -> list[tuple[int | None, str, bool]]:
        """Waits for frames, then takes all that are waiting."""
        while not self._frames and not self.overflowed and not self.closed and self.kicked is None:
            if self.woken:
                break
            self._ready.clear()
            await self._ready.wait()
        self.woken = False
        frames = list(self._frames)
        self._frames.clear()
        return frames

    def wake(self) -> None:
        """Makes the waiting reader return, even with nothing to take."""
        self.woken = True
        self._ready.set()

    def request_catch_up(self) -> None:
        self.catch_up = True
        self.wake()

    def kick(self, code: int) -> None:
        self.kicked = code
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()
