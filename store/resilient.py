"""A held connection that survives its database going away, and names the failures it cannot help.

When PostgreSQL restarts, every held connection dies with it. A guarded connection notices, turns
the driver's error into `Unavailable` (503 for the caller, at once), and opens a fresh connection
on its next use, trying at most every RETRY_SECONDS so that callers during an outage are answered
without waiting. A full disk on SQLite becomes `StorageFull`. Any other error passes unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from store.dialects.base import Dialect
from store.errors import StorageFull, Unavailable
from store.raw import RawConnection, Row

log = logging.getLogger("payambar.store")

RETRY_SECONDS = 0.5  # between attempts to open a fresh connection
OPEN_TIMEOUT_SECONDS = 2.0

_CONNECTION_LOST = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,  # "connection is closed", "released back to the pool"
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    OSError,
    TimeoutError,
)


def translate(error: BaseException) -> Exception | None:
    """The store error a driver error stands for, or None when it is not a database outage."""
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_FULL:
            return StorageFull("The server's disk is full; nothing more can be saved until an operator frees space.")
        if code == sqlite3.SQLITE_BUSY:
            return Unavailable("The database is busy; retry in a moment.")
        return None
    if isinstance(error, _CONNECTION_LOST):
        return Unavailable("The database is not answering; retry in a moment.")
    return None


class ResilientConnection(RawConnection):
    def __init__(self, held, dialect: Dialect, open_held: Callable[[], Awaitable[Any]]) -> None:
        super().__init__(held, dialect)
        self._open_held = open_held
        self.broken = False
        self._next_attempt = 0.0

    async def _reopen(self) -> None:
        now = time.monotonic()
        if now < self._next_attempt:
            raise Unavailable("The database is not answering; retry in a moment.")
        self._next_attempt = now + RETRY_SECONDS
        with contextlib.suppress(Exception):  # the old connection is gone either way
            await asyncio.wait_for(self._held.__aexit__(None, None, None), OPEN_TIMEOUT_SECONDS)
        try:
            held = await asyncio.wait_for(self._open_held(), OPEN_TIMEOUT_SECONDS)
        except Exception as error:
            raise Unavailable("The database is not answering; retry in a moment.") from error
        self._held, self._driver = held, held.raw_connection
        self.broken = False
        log.warning("database connection opened again")

    def _failed(self, error: Exception) -> None:
        """Raises the store error for a driver error, if it is one; marks a lost connection."""
        translated = translate(error)
        if translated is None:
            return
        if isinstance(translated, Unavailable) and self.dialect.reconnects:
            self.broken = True
        raise translated from error

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if self.broken:
            await self._reopen()
        try:
            return await super().fetch_all(sql, params)
        except Exception as error:
            self._failed(error)
            raise

    async def fetch_several(self, queries: list[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        if self.broken:
            await self._reopen()
        try:
            return await super().fetch_several(queries)
        except Exception as error:
            self._failed(error)
            raise

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        if self.broken:
            await self._reopen()
        if self.dialect.rolled_back_already(self._driver, sql):
            return 0
        try:
            return await super().execute(sql, params)
        except Exception as error:
            self._failed(error)
            raise

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self.broken:
            await self._reopen()
        try:
            await super().execute_many(sql, rows)
        except Exception as error:
            self._failed(error)
            raise

    async def write_in_transaction(self, steps: list[tuple[str, Sequence[Sequence[Any]]]]) -> None:
        if self.broken:
            await self._reopen()
        try:
            await super().write_in_transaction(steps)
        except Exception as error:
            self._failed(error)
            raise
