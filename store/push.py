"""Push subscriptions: which browsers of a user receive Web Push, tied to the session that
registered them (a logout or password change ends them with the session)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from store.operations import Operation
from store.rows import now_ms

if TYPE_CHECKING:
    from store.batch import Batch

MAX_PER_USER = 20  # the oldest subscription of a user goes when a newer one would be one too many
# Most users have no subscription; that is remembered this long, so a message to them costs no
# query. A subscription made on this instance is seen at once, one made on another within this.
NONE_REMEMBERED_SECONDS = 30.0
NONE_REMEMBERED_LIMIT = 100_000


@dataclass(slots=True)
class AddSubscription(Operation):
    """Registers an endpoint for the user's session; an endpoint seen before is taken over."""

    user_id: int
    session_id: str
    endpoint: str
    p256dh: str
    auth: str

    async def apply(self, batch: Batch) -> None:
        conn = batch.conn
        await conn.execute("DELETE FROM push_subscriptions WHERE endpoint = ?", (self.endpoint,))
        held = await conn.fetch_value("SELECT COUNT(*) FROM push_subscriptions WHERE user_id = ?", (self.user_id,))
        if held >= MAX_PER_USER:  # room for the new one: the oldest go
            await conn.execute(
                "DELETE FROM push_subscriptions WHERE endpoint IN (SELECT endpoint FROM push_subscriptions"
                " WHERE user_id = ? ORDER BY created_at, endpoint LIMIT ?)",
                (self.user_id, held - MAX_PER_USER + 1),
            )
        await conn.execute(
            "INSERT INTO push_subscriptions (endpoint, user_id, session_id, p256dh, auth, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (self.endpoint, self.user_id, self.session_id, self.p256dh, self.auth, now_ms()),
        )


@dataclass(slots=True)
class RemoveSubscription(Operation):
    """Removes an endpoint: the user's own (user_id given), or any (the push service said it is gone)."""

    endpoint: str
    user_id: int | None = None

    async def apply(self, batch: Batch) -> bool:
        if self.user_id is None:
            changed = await batch.conn.execute("DELETE FROM push_subscriptions WHERE endpoint = ?", (self.endpoint,))
        else:
            changed = await batch.conn.execute(
                "DELETE FROM push_subscriptions WHERE endpoint = ? AND user_id = ?", (self.endpoint, self.user_id)
            )
        return changed > 0


class PushSubscriptions:
    """The subscriptions' reads and writes, over the store's connections and writer."""

    def __init__(self, store) -> None:
        self.store = store
        self._none_until: dict[int, float] = {}  # user id -> until when they are known to have none

    async def add(self, user_id: int, session_id: str, endpoint: str, p256dh: str, auth: str) -> None:
        await self.store.writer.run(AddSubscription(user_id, session_id, endpoint, p256dh, auth))
        self._none_until.pop(user_id, None)

    async def remove(self, endpoint: str, user_id: int | None = None) -> bool:
        return await self.store.writer.run(RemoveSubscription(endpoint, user_id))

    async def of_user(self, user_id: int) -> list[tuple[str, str, str, bool]]:
        """(endpoint, p256dh, auth, whether its session is still live) of each subscription."""
        if self._none_until.get(user_id, 0.0) > time.monotonic():
            return []
        async with self.store.connections.reader() as conn:
            rows = await conn.fetch_all(
                "SELECT p.endpoint, p.p256dh, p.auth,"
                " CASE WHEN s.revoked_at IS NULL AND s.expires_at > ? THEN 1 ELSE 0 END"
                " FROM push_subscriptions p LEFT JOIN sessions s ON s.id = p.session_id WHERE p.user_id = ?",
                (now_ms(), user_id),
            )
        if not rows:
            if len(self._none_until) >= NONE_REMEMBERED_LIMIT:
                self._none_until.clear()
            self._none_until[user_id] = time.monotonic() + NONE_REMEMBERED_SECONDS
        return [(endpoint, p256dh, auth, bool(live)) for endpoint, p256dh, auth, live in rows]
