"""The store: the only place that speaks SQL, and this module is its one face. Plain async
methods named for what they do, grouped by role: people (`users.py`), logins (`sessions.py`),
chats and their search (`messages.py`), the update stream (`stream.py`), each over what all of them
read (`core.py`); and beside them the account's controls
(`store.accounts`), files (`store.files`) and push subscriptions (`store.push_subscriptions`).
Every change goes through the writer (`writer.py`). The rest of the app imports from here only."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from store import search
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
from store.operations import MarkDelivered, MarkRead, Operation, SendMessage
from store.push import PushSubscriptions
from store.rows import Committed, Message, Status, Update, UpdateKind, User, now_ms
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
    HiddenQueries,
    KeyQueries,
    LinkQueries,
    ChatSettingsQueries,
):
    def __init__(self, url: str, synchronous: str = "normal", readers: int = 2, max_pages: int = 0) -> None:
        super().__init__(url, synchronous, readers, max_pages)
        self.accounts = Accounts(self)
        self.files = FileStore(self)
        self.push_subscriptions = PushSubscriptions(self)

    async def open(self, on_commit: Callable[[list[Committed]], None]) -> None:
        await self.connections.open()
        await migrate(self.connections.writer)
        await search.build_index(self.connections.writer)
        self._writer = Writer(self.connections.writer, self.names, on_commit)
        await self._writer.start()

    @contextlib.asynccontextmanager
    async def opened(self, on_commit: Callable[[list[Committed]], None]) -> AsyncIterator[Store]:
        await self.open(on_commit)
        try:
            yield self
        finally:
            await self.close()

    async def close(self) -> None:
        if self._writer:
            await self._writer.stop()
        await self.connections.close()

    async def ping(self) -> bool:
        async with self.connections.reader() as conn:
            return await conn.fetch_value("SELECT 1") == 1

    def submit(self, operation: Operation) -> asyncio.Future[Any]:
        """Queues a change without waiting for it; returns the future of its outcome."""
        return self.writer.submit(operation)
