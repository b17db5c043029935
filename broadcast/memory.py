"""The in-process backend: channels and presence in this process's memory."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from broadcast.base import Event


class MemoryBackend:
    shared = False

    def __init__(self) -> None:
        self._channels: set[str] = set()
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._connections: dict[int, int] = {}

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
