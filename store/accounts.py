"""What an account controls about itself: its sessions and API tokens, whom it blocks, who may
see when it was last online, and its deletion. SQL for these lives here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass

from store.records import iso, now_ms

SESSION, TOKEN = "session", "token"
VISIBILITIES = ("everyone", "contacts", "nobody")


@dataclass(slots=True)
class DescribeSession:
    session_id: str
    kind: str
    name: str | None
    user_agent: str
    address: str

    async def apply(self, batch) -> None:
        await batch.conn.execute(
            "UPDATE sessions SET kind = ?, name = ?, user_agent = ?, address = ?, last_active = created_at"
            " WHERE id = ?",
            (self.kind, self.name, self.user_agent, self.address, self.session_id),
        )


@dataclass(slots=True)
class TouchSession:
    session_id: str
    address: str
    when: int

    async def apply(self, batch) -> None:
        await batch.conn.execute(
            "UPDATE sessions SET last_active = ?, address = ? WHERE id = ?", (self.when, self.address, self.session_id)
        )


def _session_dict(row, current_id: str | None) -> dict:
    session_id, _kind, name, user_agent, address, created_at, last_active = row
    return {
        "id": session_id,
        "name": name,
        "user_agent": user_agent or "",
        "address": address or "",
        "created_at": iso(created_at),
        "last_active": iso(last_active or created_at),
        "current": session_id == current_id,
    }


TOUCH_EVERY_MS = 60_000  # a session's last activity is written at most once a minute
TOUCHED_LIMIT = 100_000


class Accounts:
    """Reads and changes of the account's own settings, through the store's connections."""

    def __init__(self, store) -> None:
        self.store = store
        self._touched: dict[str, int] = {}  # session id -> when its activity was last written

    async def describe_session(self, session_id: str, kind: str, name: str | None, user_agent: str, address: str):
        await self.store.writer.run(DescribeSession(session_id, kind, name, user_agent, address))

    def touch_session(self, session_id: str, address: str) -> None:
        """Notes that the session was used now (written at most once a minute)."""
        now = now_ms()
        if now - self._touched.get(session_id, 0) < TOUCH_EVERY_MS:
            return
        if len(self._touched) >= TOUCHED_LIMIT:
            self._touched.clear()
        self._touched[session_id] = now
        future = self.store.submit(TouchSession(session_id, address, now))
        future.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def live_sessions(self, user_id: int, kind: str, current_id: str | None = None) -> list[dict]:
        async with self.store.connections.reader() as conn:
            rows = await conn.fetch_all(
                "SELECT id, kind, name, user_agent, address, created_at, last_active FROM sessions"
                " WHERE user_id = ? AND kind = ? AND revoked_at IS NULL AND expires_at > ?"
                " ORDER BY created_at DESC",
                (user_id, kind, now_ms()),
            )
        return [_session_dict(row, current_id) for row in rows]

    async def session_kind(self, user_id: int, session_id: str) -> str | None:
        """The kind of a live session of this user, or None when it is not one."""
        async with self.store.connections.reader() as conn:
            return await conn.fetch_value(
                "SELECT kind FROM sessions WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?",
                (session_id, user_id, now_ms()),
            )
