"""Who is online, told to the people a user chats with. Connections are counted by the
broadcaster on every instance; a user whose last connection closes is announced offline (and
their last seen recorded) only after a short grace, so a reconnect does not flap."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from broadcast import Broadcaster, Subscriber
from store import Store, now_ms
from wire.protocol import presence_frame

log = logging.getLogger("payambar.presence")

OFFLINE_GRACE_SECONDS = 3.0

# (subject id, their peers' ids) -> the peers that may see the subject's presence
Audience = Callable[[int, list[int]], Awaitable[list[int]]]


class Presence:
    def __init__(self, store: Store, broadcaster: Broadcaster, audience: Audience) -> None:
        self.store = store
        self.broadcaster = broadcaster
        self._offline_timers: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task] = set()
        # Who among a user's chat partners may see their presence (live/activity.py).
        self.audience = audience

    async def __aenter__(self) -> Presence:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def connected(self, subscriber: Subscriber, peer_ids: list[int]) -> None:
        count = await self.broadcaster.attach(subscriber)
        timer = self._offline_timers.pop(subscriber.user_id, None)
        if timer is not None:
            timer.cancel()
        elif count == 1:
            if self.audience is not None:
                peer_ids = await self.audience(subscriber.user_id, peer_ids)
            self._announce(subscriber.user_id, peer_ids, online=True, last_seen=None)

    async def disconnected(self, subscriber: Subscriber) -> None:
        count = await self.broadcaster.detach(subscriber)
        user_id = subscriber.user_id
        if count == 0 and user_id not in self._offline_timers:
            loop = asyncio.get_running_loop()
            self._offline_timers[user_id] = loop.call_later(OFFLINE_GRACE_SECONDS, self._start_offline, user_id)

    async def online_peers(self, peer_ids: list[int]) -> list[str]:
        """Presence frames for the peers that are online now, for a fresh connection."""
        names = self.store.names
        online = await self.broadcaster.online([p for p in peer_ids if p in names])
        return [presence_frame(names[peer_id], True, None) for peer_id in online]

    def _start_offline(self, user_id: int) -> None:
        task = asyncio.create_task(self._went_offline(user_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _went_offline(self, user_id: int) -> None:
        self._offline_timers.pop(user_id, None)
        if user_id in await self.broadcaster.online([user_id]):
            return  # back, here or on another instance
        last_seen = now_ms()
        try:
            await self.store.set_last_seen(user_id, last_seen)
            peer_ids = await self.store.peer_ids(user_id)
            if self.audience is not None:
                peer_ids = await self.audience(user_id, peer_ids)
        except Exception as error:
            log.warning("recording last seen failed: %s", error)
            return
        self._announce(user_id, peer_ids, online=False, last_seen=last_seen)

    def _announce(self, user_id: int, peer_ids: list[int], online: bool, last_seen: int | None) -> None:
        name = self.store.names.get(user_id)
        if name is None:
            return
        frame = presence_frame(name, online, last_seen)
        for peer_id in peer_ids:
            if peer_id != user_id:
                self.broadcaster.send(peer_id, frame)

    async def close(self) -> None:
        for timer in self._offline_timers.values():
            timer.cancel()
        self._offline_timers.clear()
        for task in list(self._tasks):
            task.cancel()
