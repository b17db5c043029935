"""One raw driver connection and the SQL it is given.

Queries go straight to the driver (aiosqlite or asyncpg), because a query compiled per call
costs more than the rest of a send. SQL is written once with `?` placeholders; what each
database does with it is its dialect's (`dialects/`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from databases.core import Connection

from store.dialects.base import Dialect, Row, Steps

__all__ = ["RawConnection", "Row"]


class RawConnection:
    """One held connection, speaking plain SQL with positional parameters."""

    def __init__(self, held: Connection, dialect: Dialect) -> None:
        self._held = held
        self.dialect = dialect
        self._driver = held.raw_connection

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self.dialect.fetch_all(self._driver, sql, params)

    async def fetch_several(self, queries: list[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """The rows of several queries, read in one trip to the driver where it allows."""
        return await self.dialect.fetch_several(self._driver, queries)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Runs one statement; returns the number of rows it changed."""
        return await self.dialect.execute(self._driver, sql, params)

    async def begin_write(self) -> None:
        """Opens a transaction that will write (the dialect's begin_write)."""
        await self.execute(self.dialect.begin_write)

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self.dialect.execute_many(self._driver, sql, rows)

    async def write_in_transaction(self, steps: Steps) -> None:
        """Runs (statement, rows) steps as one transaction, in a single trip to the driver."""
        if steps:
            await self.dialect.write_in_transaction(self._driver, steps)

    async def execute_script(self, statements: list[str]) -> None:
        for statement in statements:
            await self.execute(statement)

    async def close(self) -> None:
        await self._held.__aexit__(None, None, None)
