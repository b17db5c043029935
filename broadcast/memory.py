"""The in-process backend: channels and counters in this process's memory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from broadcast.base import Event


class MemoryBackend:
    shared = False

    def __init__(self) -> None:
        self._channels: set[str] = set()
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._connections: dict[int, int] = {}
        self._counters: dict[str, tuple[int, float]] = {}

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        self._channels.clear()

    async def subscribe(self, channel: str) -> bool:
        self._channels.add(channel)
        return True

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def publish(self, messages: Sequence[tuple[str, str]]) -> None:
        for channel, message in messages:
            if channel in self._channels:
                self._queue.put_nowait(Event(channel, message))

    async def next_published(self) -> Event:
        return await self._queue.get()

    async def ping(self) -> bool:
        return True

    async def join(self, user_id: int) -> int:
        count = self._connections.get(user_id, 0) + 1
        self._connections[user_id] = count
        return count

    async def leave(self, user_id: int) -> int:
        count = self._connections.get(user_id, 0) - 1
        if count <= 0:
            self._connections.pop(user_id, None)
            return 0
        self._connections[user_id] = count
        return count

    async def online(self, user_ids: Sequence[int]) -> set[int]:
        return {user_id for user_id in user_ids if user_id in self._connections}

    async def add(self, key: str, amount: int, ttl_seconds: int) -> int:
        now = time.monotonic()
        value, expires = self._counters.get(key, (0, 0.0))
        if expires <= now:
            value, expires = 0, now + ttl_seconds
        value += amount
        self._counters[key] = (value, expires)
        if len(self._counters) > 200_000:
            self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        return value

    async def get(self, key: str) -> int:
        value, expires = self._counters.get(key, (0, 0.0))
        return value if expires > time.monotonic() else 0

    async def delete(self, key: str) -> None:
        self._counters.pop(key, None)
