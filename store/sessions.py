"""Logins: a session per login, revocable at once. Live sessions are remembered in memory; where
other instances share the database, only briefly, and a revocation made elsewhere also evicts
at once through the broadcaster (`forget_session`)."""

from __future__ import annotations

import time

from store import operations, reads
from store.core import StoreCore
from store.rows import now_ms

SESSION_CACHE_LIMIT = 100_000
SHARED_CACHE_SECONDS = 10.0


class SessionQueries(StoreCore):
    async def create_session(self, session_id: str, user_id: int, expires_at: int) -> None:
        await self.writer.run(operations.CreateSession(session_id, user_id, expires_at))
        self._remember_session(session_id, user_id, expires_at)

    async def extend_session(self, session_id: str, user_id: int, expires_at: int) -> None:
        await self.writer.run(operations.ExtendSession(session_id, expires_at))
        self._remember_session(session_id, user_id, expires_at)

    async def revoke_session(self, user_id: int, session_id: str) -> None:
        self.forget_session(session_id)
        await self.writer.run(operations.RevokeSessions(user_id, session_id=session_id))

    async def revoke_other_sessions(self, user_id: int, keep_session_id: str) -> list[str]:
        revoked = await self.writer.run(operations.RevokeSessions(user_id, keep_session_id=keep_session_id))
        for session_id in revoked:
            self.forget_session(session_id)
        return revoked

    def forget_session(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    async def session_user(self, session_id: str) -> int | None:
        """The user of a live session, or None when it is unknown, expired or revoked."""
        cached = self._sessions.get(session_id)
        if cached is None or cached[2] < time.monotonic():
            async with self.connections.reader() as conn:
                row = await reads.session(conn, session_id)
            if row is None or row[2] is not None:
                self.forget_session(session_id)
                return None
            cached = self._remember_session(session_id, row[0], row[1])
        user_id, expires_at, _ = cached
        if expires_at <= now_ms():
            self.forget_session(session_id)
            return None
        return user_id

    def _remember_session(self, session_id: str, user_id: int, expires_at: int) -> tuple[int, int, float]:
        if len(self._sessions) >= SESSION_CACHE_LIMIT:
            self._sessions.clear()
        trusted_until = time.monotonic() + (SHARED_CACHE_SECONDS if self.shared else float("inf"))
        self._sessions[session_id] = entry = (user_id, expires_at, trusted_until)
        return entry
