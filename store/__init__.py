"""The store: the only place that speaks SQL. Plain async methods named for what they do,
grouped by role: people (`users.py`), logins (`sessions.py`), chats (`messages.py`) and the
update stream (`stream.py`). Every change goes through the writer (`writer.py`)."""

from __future__ import annotations

from collections.abc import Callable

from store import reads, search
from store.connection import ConnectionSet
from store.errors import Conflict, Forbidden, Invalid, NotFound, StorageFull, StoreError, Unavailable
from store.hidden import HiddenQueries
from store.messages import MessageQueries
from store.migrations import migrate
from store.rows import Committed
from store.search import SearchQueries
from store.sessions import SessionQueries
from store.stream import StreamQueries
from store.users import UserQueries
from store.writer import Writer

__all__ = [
    "Store", "StoreError", "NotFound", "Forbidden", "Conflict", "Invalid", "Unavailable", "StorageFull",
]  # fmt: skip


class Store(UserQueries, SessionQueries, MessageQueries, StreamQueries, SearchQueries, HiddenQueries):
    def __init__(self, url: str, synchronous: str = "normal", readers: int = 2, max_pages: int = 0) -> None:
        self.connections = ConnectionSet(url, readers=readers, synchronous=synchronous, max_pages=max_pages)
        self.names: dict[int, str] = {}  # user id -> username; usernames never change
        self._ids: dict[str, int] = {}  # lower-cased username -> user id
        self._sessions: dict[str, tuple[int, int, float]] = {}
        self.writer: Writer | None = None

    @property
    def shared(self) -> bool:
        """Whether other instances may write the same database."""
        return self.connections.dialect == "postgresql"

    async def open(self, on_commit: Callable[[list[Committed]], None]) -> None:
        await self.connections.open()
        await migrate(self.connections.writer)
        await search.build_index(self.connections.writer)
        self.writer = Writer(self.connections.writer, self.names, on_commit)
        await self.writer.start()

    async def close(self) -> None:
        if self.writer:
            await self.writer.stop()
        await self.connections.close()

    async def ping(self) -> bool:
        async with self.connections.reader() as conn:
            return await conn.fetch_value("SELECT 1") == 1

    def submit(self, operation):
        """Queues a change without waiting for it; returns the future of its outcome."""
        return self.writer.submit(operation)

    async def load_names(self, user_ids) -> None:
        missing = [u for u in set(user_ids) if u not in self.names]
        if not missing:
            return
        async with self.connections.reader() as conn:
            for user_id, username in await reads.usernames(conn, missing):
                self.names[user_id] = username
