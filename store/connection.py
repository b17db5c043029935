"""Held database connections: one writer, a few readers, each a raw driver connection
(`raw.py`) that survives its database going away (`resilient.py`).

`databases` opens and owns the connections; queries then go straight to the driver
(aiosqlite or asyncpg), because a query compiled per call costs more than the rest of a send.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import databases
from databases.core import Connection

from store.dialects import dialect_for
from store.raw import RawConnection
from store.resilient import ResilientConnection


class ConnectionSet:
    """The writer connection and a small pool of readers over one database."""

    def __init__(self, url: str, readers: int = 2, synchronous: str = "normal", max_pages: int = 0) -> None:
        self.url = url
        self.dialect = dialect_for(url)
        self._database = databases.Database(url, **self.dialect.pool_options(url))
        self._reader_count = readers
        self._synchronous = synchronous
        self._max_pages = max_pages  # SQLite: a cap on the file's size, 0 for none
        self._writer: RawConnection | None = None
        self._readers: asyncio.Queue[RawConnection] = asyncio.Queue()
        self._all: list[RawConnection] = []

    async def open(self) -> None:
        await self._database.connect()
        self._writer = await self._hold()
        for _ in range(self._reader_count):
            self._readers.put_nowait(await self._hold())

    @property
    def writer(self) -> RawConnection:
        """The one connection that writes; there is none before `open`."""
        if self._writer is None:
            raise RuntimeError("The connections are not open.")
        return self._writer

    async def _open_held(self) -> Connection:
        # Each Connection object is its own driver connection, kept open until close().
        held = Connection(self._database, self._database._backend)
        await held.__aenter__()
        return held

    async def _hold(self) -> RawConnection:
        raw = ResilientConnection(await self._open_held(), self.dialect, self._open_held)
        await self.dialect.tune(raw, self._synchronous, self._max_pages)
        self._all.append(raw)
        return raw

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[RawConnection]:
        connection = await self._readers.get()
        try:
            yield connection
        finally:
            self._readers.put_nowait(connection)

    async def close(self) -> None:
        for raw in self._all:
            try:
                await raw.close()
            except Exception:  # closing is best effort: the process is going away
                pass
        self._all.clear()
        await self._database.disconnect()
