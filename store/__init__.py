"""The store: the only place that speaks SQL. Plain async functions named for what they do."""

from __future__ import annotations

from collections.abc import Callable

from store import operations, reads
from store.connection import ConnectionSet
from store.errors import Conflict, Forbidden, Invalid, NotFound, StorageFull, StoreError, Unavailable
from store.migrations import migrate
from store.records import (
    DELETED,
    EDITED,
    M_RECIPIENT,
    M_SENDER,
    NEW_MESSAGE,
    READ_BY_PEER,
    READ_BY_SELF,
    STATUS_CHANGE,
    iso,
    message_dict,
    now_ms,
    user_dict,
)
from store.writer import Notice, Writer

__all__ = [
    "Store", "Notice", "StoreError", "NotFound", "Forbidden", "Conflict", "Invalid", "Unavailable", "StorageFull",
]  # fmt: skip

UPDATE_TYPES = {NEW_MESSAGE: "message", STATUS_CHANGE: "status", EDITED: "edit", DELETED: "delete"}
SESSION_CACHE_LIMIT = 100_000


class Store:
    def __init__(self, url: str, synchronous: str = "normal", readers: int = 2, max_pages: int = 0) -> None:
        self.connections = ConnectionSet(url, readers=readers, synchronous=synchronous, max_pages=max_pages)
        self.names: dict[int, str] = {}  # user id -> username; usernames never change
        self._ids: dict[str, int] = {}  # lower-cased username -> user id
        self._sessions: dict[str, tuple[int, int]] = {}  # live session id -> (user id, expires at)
        self.writer: Writer | None = None

    async def open(self, on_commit: Callable[[list[Notice]], None]) -> None:
        await self.connections.open()
        await migrate(self.connections.writer)
        self.writer = Writer(self.connections.writer, self.names, on_commit)
        await self.writer.start()

    async def close(self) -> None:
        if self.writer:
            await self.writer.stop()
        await self.connections.close()

    async def ping(self) -> bool:
        async with self.connections.reader() as conn:
            return await conn.fetch_value("SELECT 1") == 1

    # ---- users and sessions -------------------------------------------------------------

    async def create_user(self, username: str, display_name: str, password_hash: str) -> tuple:
        row = await self.writer.run(operations.CreateUser(username, display_name, password_hash))
        self.names[row[0]] = row[1]
        self._ids[username.lower()] = row[0]
        return row

    async def user_by_username(self, username: str) -> tuple | None:
        async with self.connections.reader() as conn:
            row = await reads.user_by_key(conn, username.lower())
        if row:
            self.names[row[0]] = row[1]
            self._ids[row[1].lower()] = row[0]
        return row

    async def user_by_id(self, user_id: int) -> tuple | None:
        async with self.connections.reader() as conn:
            return await reads.user_by_id(conn, user_id)

    async def user_id(self, username: str) -> int | None:
        """The id behind a username (any case), from memory once seen."""
        key = username.lower()
        user_id = self._ids.get(key)
        if user_id is None:
            row = await self.user_by_username(key)
            user_id = row[0] if row else None
        return user_id

    async def password_hash(self, user_id: int) -> str | None:
        async with self.connections.reader() as conn:
            return await reads.password_hash(conn, user_id)

    async def search_users(self, prefix: str, exclude_id: int, limit: int) -> list[dict]:
        async with self.connections.reader() as conn:
            rows = await reads.search_users(conn, prefix.lower(), exclude_id, limit)
        return [user_dict(row) for row in rows]

    async def update_profile(self, user_id: int, **changes: str) -> None:
        await self.writer.run(operations.UpdateProfile(user_id, changes))

    async def create_session(self, session_id: str, user_id: int, expires_at: int) -> None:
        await self.writer.run(operations.CreateSession(session_id, user_id, expires_at))
        self._remember_session(session_id, user_id, expires_at)

    async def extend_session(self, session_id: str, user_id: int, expires_at: int) -> None:
        await self.writer.run(operations.ExtendSession(session_id, expires_at))
        self._remember_session(session_id, user_id, expires_at)

    async def revoke_session(self, user_id: int, session_id: str) -> None:
        self._sessions.pop(session_id, None)
        await self.writer.run(operations.RevokeSessions(user_id, session_id=session_id))

    async def revoke_other_sessions(self, user_id: int, keep_session_id: str) -> list[str]:
        revoked = await self.writer.run(operations.RevokeSessions(user_id, keep_session_id=keep_session_id))
        for session_id in revoked:
            self._sessions.pop(session_id, None)
        return revoked

    async def session_user(self, session_id: str) -> int | None:
        """The user of a live session, or None when it is unknown, expired or revoked."""
        cached = self._sessions.get(session_id)
        if cached is None:
            async with self.connections.reader() as conn:
                row = await reads.session(conn, session_id)
            if row is None or row[2] is not None:
                return None
            cached = self._remember_session(session_id, row[0], row[1])
        user_id, expires_at = cached
        if expires_at <= now_ms():
            self._sessions.pop(session_id, None)
            return None
        return user_id

    def _remember_session(self, session_id: str, user_id: int, expires_at: int) -> tuple[int, int]:
        if len(self._sessions) >= SESSION_CACHE_LIMIT:
            self._sessions.clear()
        self._sessions[session_id] = (user_id, expires_at)
        return user_id, expires_at

    async def set_last_seen(self, user_id: int, last_seen: int) -> None:
        await self.writer.run(operations.SetLastSeen(user_id, last_seen))

    async def load_names(self, user_ids) -> None:
        missing = [u for u in set(user_ids) if u not in self.names]
        if not missing:
            return
        async with self.connections.reader() as conn:
            for user_id, username in await reads.usernames(conn, missing):
                self.names[user_id] = username

    # ---- messages -----------------------------------------------------------------------

    async def send_message(self, operation: operations.SendMessage) -> tuple[dict, bool]:
        return await self.writer.run(operation)

    def submit(self, operation):
        """Queues a change without waiting for it; returns the future of its outcome."""
        return self.writer.submit(operation)

    async def message_in_chat(self, message_id: int, user_id: int, peer_id: int) -> bool:
        async with self.connections.reader() as conn:
            row = await reads.message(conn, message_id)
        return row is not None and {row[M_SENDER], row[M_RECIPIENT]} == {user_id, peer_id}

    async def edit_message(self, user_id: int, message_id: int, text: str) -> dict:
        return await self.writer.run(operations.EditMessage(user_id, message_id, text))

    async def delete_message(self, user_id: int, message_id: int) -> dict:
        return await self.writer.run(operations.DeleteMessage(user_id, message_id))

    async def mark_delivered(self, user_id: int, message_ids: list[int]) -> list[int]:
        return await self.writer.run(operations.MarkDelivered(user_id, message_ids))

    async def mark_read_up_to(self, reader_id: int, peer_id: int, up_to: int) -> int:
        return await self.writer.run(operations.MarkRead(reader_id, peer_id, up_to))

    async def history(self, user_id: int, peer_id: int, before: int | None, limit: int) -> tuple[list[dict], bool]:
        """A page of the chat, oldest first, and whether older messages exist."""
        async with self.connections.reader() as conn:
            rows = await reads.history(conn, user_id, peer_id, before or 2**62, limit + 1)
        has_more = len(rows) > limit
        rows = rows[:limit]
        await self.load_names((user_id, peer_id))
        return [message_dict(row, self.names) for row in reversed(rows)], has_more

    async def conversations(self, user_id: int, limit: int, is_online: Callable[[int], bool]) -> list[dict]:
        async with self.connections.reader() as conn:
            rows, unread = await reads.chats_and_unread(conn, user_id, limit)
        await self.load_names([user_id] + [row[0] for row in rows])
        conversations = []
        for row in rows:
            peer_row, message_row = row[:6], row[6:]
            peer = user_dict(peer_row)
            peer["online"] = is_online(peer_row[0])
            peer["last_seen"] = iso(peer_row[5])
            last_message = message_dict(message_row, self.names)
            conversations.append(
                {
                    "peer": peer,
                    "last_message": last_message,
                    "unread_count": unread.get(peer_row[0], 0),
                    "updated_at": last_message["created_at"],
                }
            )
        return conversations

    async def peer_ids(self, user_id: int) -> list[int]:
        """Everyone the user has a chat with; their names (and the user's) are known after."""
        async with self.connections.reader() as conn:
            rows = await reads.chat_partners(conn, user_id)
        for partner_id, username in rows:
            self.names[partner_id] = username
        return [partner_id for partner_id, _ in rows if partner_id != user_id]

    async def user_and_last_seq(self, user_id: int) -> tuple[tuple | None, int]:
        async with self.connections.reader() as conn:
            return await reads.user_and_last_seq(conn, user_id)

    # ---- the update stream ----------------------------------------------------------------

    async def last_seq(self, user_id: int) -> int:
        async with self.connections.reader() as conn:
            return await reads.last_seq(conn, user_id)

    async def updates_after(self, user_id: int, after: int, limit: int = 500) -> list[dict]:
        """The user's updates after a cursor, in order, as they are sent to clients."""
        async with self.connections.reader() as conn:
            rows = await reads.updates_after(conn, user_id, after, limit)
        await self.load_names(
            [user_id]
            + [row[3] for row in rows if row[3] is not None]
            + [v for row in rows if row[4] for v in (row[5], row[6])]
        )
        return [self._update(user_id, row) for row in rows]

    def _update(self, user_id: int, row: tuple) -> dict:
        seq, kind, message_id, peer_id = row[:4]
        if kind in (READ_BY_PEER, READ_BY_SELF):
            peer = self.names[peer_id]
            reader = peer if kind == READ_BY_PEER else self.names[user_id]
            return {"type": "read", "seq": seq, "peer": peer, "reader": reader, "up_to": message_id}
        return {"type": UPDATE_TYPES[kind], "seq": seq, "message": message_dict(row[4:], self.names)}

    def undelivered(self, user_id: int, updates: list[dict]) -> list[int]:
        """Ids of messages in these updates that reached their recipient but are still only sent."""
        me = self.names.get(user_id)
        return [
            update["message"]["id"]
            for update in updates
            if update["type"] == "message"
            and update["message"]["recipient"] == me
            and update["message"]["sender"] != me
            and update["message"]["status"] == "sent"
            and not update["message"]["deleted"]
        ]
