"""The store: the only place that speaks SQL, and this module is its one face. Plain async
methods named for what they do, grouped by role: people (`users.py`), logins (`sessions.py`),
chats (`messages.py`), the update stream (`stream.py`), and beside them the account's controls
(`store.accounts`), files (`store.files`) and push subscriptions (`store.push_subscriptions`).
Every change goes through the writer (`writer.py`). The rest of the app imports from here only."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from store import reads, search
from store.accounts import SESSION, TOKEN, VISIBILITIES, Accounts, ChangeWithheld, WithheldSend
from store.chat_settings import MAX_PINNED, MUTED_ALWAYS, ChatSettings, ChatSettingsQueries
from store.connection import ConnectionSet
from store.errors import Conflict, Forbidden, Invalid, NotFound, StorageFull, StoreError, Unavailable
from store.files import Avatar, FileStore, QuotaExceeded, StoredFile, Upload
from store.hidden import HiddenQueries
from store.keys import KeyQueries, StaleBackup
from store.links import Link, LinkGone, LinkQueries
from store.messages import MessageQueries
from store.migrations import SchemaTooNew, migrate
from store.operations import MarkDelivered, MarkRead, SendMessage
from store.push import PushSubscriptions
from store.rows import Committed, Message, Status, Update, UpdateKind, User, now_ms
from store.search import SearchQueries
from store.sessions import SessionQueries
from store.stream import END, StreamQueries, undelivered
from store.users import UserQueries
from store.writer import Writer

__all__ = [
    "Store", "ConnectionSet", "SchemaTooNew",
    "StoreError", "NotFound", "Forbidden", "Conflict", "Invalid", "Unavailable", "StorageFull", "QuotaExceeded",
    "Committed", "Message", "Status", "Update", "UpdateKind", "User", "now_ms", "END", "undelivered",
    "SendMessage", "MarkDelivered", "MarkRead", "WithheldSend", "ChangeWithheld",
    "ChatSettings", "MAX_PINNED", "MUTED_ALWAYS", "StaleBackup", "Link", "LinkGone",
    "Accounts", "SESSION", "TOKEN", "VISIBILITIES", "FileStore", "StoredFile", "Upload", "Avatar", "PushSubscriptions",
]  # fmt: skip


class Store(
    UserQueries,
    SessionQueries,
    MessageQueries,
    StreamQueries,
    SearchQueries,
    HiddenQueries,
    KeyQueries,
    LinkQueries,
    ChatSettingsQueries,
):
    def __init__(self, url: str, synchronous: str = "normal", readers: int = 2, max_pages: int = 0) -> None:
        self.connections = ConnectionSet(url, readers=readers, synchronous=synchronous, max_pages=max_pages)
        self.names: dict[int, str] = {}  # user id -> username; usernames never change
        self._ids: dict[str, int] = {}  # lower-cased username -> user id
        self._sessions: dict[str, tuple[int, int, float]] = {}
        self._keyed: set[int] = set()  # people known to have keys (that never reverts)
        self._keyless: dict[int, float] = {}  # people found without keys -> until when that is trusted
        self.writer: Writer | None = None
        self.accounts = Accounts(self)
        self.files = FileStore(self)
        self.push_subscriptions = PushSubscriptions(self)

    @property
    def shared(self) -> bool:
        """Whether other instances may write the same database."""
        return self.connections.dialect.shared

    async def open(self, on_commit: Callable[[list[Committed]], None]) -> None:
        await self.connections.open()
        await migrate(self.connections.writer)
        await search.build_index(self.connections.writer)
        self.writer = Writer(self.connections.writer, self.names, on_commit)
        await self.writer.start()

    @contextlib.asynccontextmanager
    async def opened(self, on_commit: Callable[[list[Committed]], None]) -> AsyncIterator[Store]:
        await self.open(on_commit)
        try:
            yield self
        finally:
            await self.close()

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
