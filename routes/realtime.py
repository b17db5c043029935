"""Who is online: presence for the people a user chats with, and live sessions to log out."""

from __future__ import annotations

import asyncio
import logging

from broadcast import Subscriber
from store import Store
from store.records import iso, now_ms

log = logging.getLogger("payambar.realtime")

LOGGED_OUT = 4003  # the close code of connections whose session ended
OFFLINE_GRACE_SECONDS = 3.0  # a reconnect within this long is not announced as offline and back


class Realtime:
    def __init__(self, store: Store, broadcaster) -> None:
        self.store = store
        self.broadcaster = broadcaster
        self._offline_timers: dict[int, asyncio.TimerHandle] = {}
        self._by_session: dict[str, set[Subscriber]] = {}
        self._tasks: set[asyncio.Task] = set()
        # Who may see a user's presence, among their chat partners (routes/ws_guard.py).
        self.audience = None

    async def attach(self, subscriber: Subscriber, peer_ids: list[int]) -> None:
        count = self.broadcaster.subscribe(subscriber)
        if subscriber.session_id:
            self._by_session.setdefault(subscriber.session_id, set()).add(subscriber)
        timer = self._offline_timers.pop(subscriber.user_id, None)
        if timer is not None:
            timer.cancel()
        elif count == 1:
            if self.audience is not None:
                peer_ids = await self.audience(subscriber.user_id, peer_ids)
            self._announce(subscriber.user_id, peer_ids, online=True, last_seen=None)

    def detach(self, subscriber: Subscriber) -> None:
        subscriber.close()
        sessions = self._by_session.get(subscriber.session_id)
        if sessions is not None:
            sessions.discard(subscriber)
            if not sessions:
                del self._by_session[subscriber.session_id]
        if self.broadcaster.unsubscribe(subscriber) == 0 and subscriber.user_id not in self._offline_timers:
            loop = asyncio.get_running_loop()
            self._offline_timers[subscriber.user_id] = loop.call_later(
                OFFLINE_GRACE_SECONDS, self._spawn, self._went_offline(subscriber.user_id)
            )

    def online_peers(self, peer_ids: list[int]) -> list[dict]:
        """Presence frames for the peers that are online now, for a fresh connection."""
        names = self.store.names
        return [
            {"type": "presence", "user": names[peer_id], "online": True, "last_seen": None}
            for peer_id in peer_ids
            if peer_id in names and self.broadcaster.is_online(peer_id)
        ]

    def kick_session(self, session_id: str, code: int) -> None:
        for subscriber in list(self._by_session.get(session_id, ())):
            subscriber.kick(code)

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _went_offline(self, user_id: int) -> None:
        self._offline_timers.pop(user_id, None)
        if self.broadcaster.is_online(user_id):
            return
        last_seen = now_ms()
        try:
            await self.store.set_last_seen(user_id, last_seen)
            peer_ids = await self.store.peer_ids(user_id)
            if self.audience is not None:
                peer_ids = await self.audience(user_id, peer_ids)
        except Exception:
            log.exception("recording last seen failed")
            return
        self._announce(user_id, peer_ids, online=False, last_seen=last_seen)

    def _announce(self, user_id: int, peer_ids: list[int], online: bool, last_seen: int | None) -> None:
        name = self.store.names.get(user_id)
        if name is None:
            return
        frame = {"type": "presence", "user": name, "online": online, "last_seen": iso(last_seen)}
        for peer_id in peer_ids:
            if peer_id != user_id:
                self.broadcaster.send(peer_id, frame)

    async def close(self) -> None:
        for timer in self._offline_timers.values():
            timer.cancel()
        self._offline_timers.clear()
        for task in list(self._tasks):
            task.cancel()
