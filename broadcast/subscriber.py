"""A subscriber: one live connection's bounded outbox of frames, in order."""

from __future__ import annotations

import asyncio
from collections import deque

OUTBOX_LIMIT = 4096


class Subscriber:
    """Frames waiting for one connection. A connection that falls `limit` frames behind is
    told to go (`overflowed`) rather than silently missing updates: it resumes from its cursor."""

    __slots__ = (
        "user_id",
        "session_id",
        "_frames",
        "_ready",
        "overflowed",
        "limit",
        "closed",
        "kicked",
        "woken",
        "on_overflow",
    )

    def __init__(self, user_id: int, session_id: str = "", limit: int = OUTBOX_LIMIT) -> None:
        self.user_id = user_id
        self.session_id = session_id
        self.kicked: int | None = None  # a close code the connection must close with
        self.woken = False
        self._frames: deque[tuple[int | None, str]] = deque()
        self._ready = asyncio.Event()
        self.overflowed = False
        self.closed = False
        self.limit = limit
        self.on_overflow = None  # called once, when the outbox overflows

    def deliver(self, text: str, seq: int | None = None) -> None:
        if self.closed:
            return
        if len(self._frames) >= self.limit:
            if not self.overflowed:
                self.overflowed = True
                self._ready.set()
                if self.on_overflow is not None:
                    self.on_overflow()
            return
        self._frames.append((seq, text))
        self._ready.set()

    async def next_frames(self) -> list[tuple[int | None, str]]:
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

    def kick(self, code: int) -> None:
        self.kicked = code
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()
