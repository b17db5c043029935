"""Held database connections: one writer, a few readers, each a raw driver connection.

`databases` opens and owns the connections; queries then go straight to the driver
(aiosqlite or asyncpg), because a query compiled per call costs more than the rest of a send.
SQL is written once with `?` placeholders; PostgreSQL gets them renumbered as `$1, $2, …`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from contextlib import asynccontextmanager
from typing import Any

import databases
from databases.core import Connection

Row = tuple[Any, ...]

_PLACEHOLDER = re.compile(r"\?")


def _numbered(sql: str) -> str:
    counter = iter(range(1, 100_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


def _write_steps(connection, steps) -> None:
    """On the database thread: BEGIN, every step, COMMIT (or ROLLBACK and raise)."""
    connection.execute("BEGIN")
    try:
        for sql, rows in steps:
            connection.executemany(sql, rows)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _read_all(connection, queries) -> list[list[Row]]:
    return [connection.execute(sql, params).fetchall() for sql, params in queries]


class RawConnection:
    """One held connection, speaking plain SQL with positional parameters."""

    def __init__(self, held: Connection, dialect: str) -> None:
        self._held = held
        self.dialect = dialect
        self._driver = held.raw_connection
        self._pg_sql: dict[str, str] = {}

    def _sql(self, sql: str) -> str:
        if self.dialect == "sqlite":
            return sql
        numbered = self._pg_sql.get(sql)
        if numbered is None:
            numbered = self._pg_sql[sql] = _numbered(sql)
        return numbered

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if self.dialect == "sqlite":
            return list(await self._driver.execute_fetchall(sql, params))
        return [tuple(record) for record in await self._driver.fetch(self._sql(sql), *params)]

    async def fetch_several(self, queries: list[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """The rows of several queries, read in one trip to the driver where it allows."""
        if self.dialect == "sqlite":
            return await self._driver._execute(_read_all, self._driver._conn, queries)
        return [await self.fetch_all(sql, params) for sql, params in queries]

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Runs one statement; returns the number of rows it changed."""
        if self.dialect == "sqlite":
            cursor = await self._driver.execute(sql, params)
            return cursor.rowcount
        status = await self._driver.execute(self._sql(sql), *params)
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.dialect == "sqlite":
            await self._driver.executemany(sql, rows)
        else:
            await self._driver.executemany(self._sql(sql), rows)

    async def write_in_transaction(self, steps: list[tuple[str, Sequence[Sequence[Any]]]]) -> None:
        """Runs (statement, rows) steps as one transaction, in a single trip to the driver."""
        if not steps:
            return
        if self.dialect == "sqlite":
            # aiosqlite runs functions on its connection's thread; this is the call its own
            # methods use, so the whole transaction costs one hand-over instead of one per step.
            await self._driver._execute(_write_steps, self._driver._conn, steps)
            return
        async with self._driver.transaction():
            for sql, rows in steps:
                await self._driver.executemany(self._sql(sql), rows)

    async def execute_script(self, statements: list[str]) -> None:
        for statement in statements:
            await self.execute(statement)

    async def close(self) -> None:
        await self._held.__aexit__(None, None, None)


class ConnectionSet:
    """The writer connection and a small pool of readers over one database."""

    def __init__(self, url: str, readers: int = 2, synchronous: str = "normal", max_pages: int = 0) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        # PostgreSQL: no pool floor to keep up; the held connections are all the pool is for.
        options = {"min_size": 0} if self.dialect == "postgresql" and "min_size=" not in url else {}
        self._database = databases.Database(url, **options)
        self._reader_count = readers
        self._synchronous = synchronous
        self._max_pages = max_pages  # SQLite: a cap on the file's size, 0 for none
        self.writer: RawConnection | None = None
        self._readers: asyncio.Queue[RawConnection] = asyncio.Queue()
        self._all: list[RawConnection] = []

    async def open(self) -> None:
        await self._database.connect()
        self.writer = await self._hold()
        for _ in range(self._reader_count):
            self._readers.put_nowait(await self._hold())

    async def _open_held(self) -> Connection:
        # Each Connection object is its own driver connection, kept open until close().
        held = Connection(self._database, self._database._backend)
        await held.__aenter__()
        return held

    async def _hold(self) -> RawConnection:
        from store.guarded import GuardedConnection  # it builds on RawConnection, defined above

        raw = GuardedConnection(await self._open_held(), self.dialect, self._open_held)
        if self.dialect == "sqlite":
            await self._tune_sqlite(raw)
        self._all.append(raw)
        return raw

    async def _tune_sqlite(self, raw: RawConnection) -> None:
        await raw.fetch_all("PRAGMA journal_mode=WAL")
        await raw.execute("PRAGMA busy_timeout=5000")
        await raw.execute(f"PRAGMA synchronous={self._synchronous.upper()}")
        await raw.execute("PRAGMA cache_size=-32000")
        await raw.execute("PRAGMA temp_store=MEMORY")
        if self._max_pages:
            await raw.fetch_all(f"PRAGMA max_page_count={int(self._max_pages)}")

    @asynccontextmanager
    async def reader(self):
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
