"""PostgreSQL: shared by any number of instances. Placeholders numbered, a tsvector for search,
an advisory lock around migrations, a connection that comes back after the server restarts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from store.dialects.base import Row, Steps

_PLACEHOLDER = re.compile(r"\?")


def _numbered(sql: str) -> str:
    counter = iter(range(1, 100_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


class PostgreSQL:
    name = "postgresql"
    begin_write = "BEGIN"
    shared = True
    reconnects = True
    lock_for_update = " FOR UPDATE"
    search_insert = "INSERT INTO message_search (message_id, words) VALUES (?, array_to_tsvector(?::text[]))"
    search_delete = "DELETE FROM message_search WHERE message_id = ?"
    search_source = (
        "message_search s JOIN messages m ON m.id = s.message_id WHERE s.words @@ ?::tsquery AND s.message_id < ?"
    )
    search_order = "s.message_id"

    def __init__(self) -> None:
        self._numbered: dict[str, str] = {}  # SQL with ? -> with $1, $2, …

    def _sql(self, sql: str) -> str:
        numbered = self._numbered.get(sql)
        if numbered is None:
            numbered = self._numbered[sql] = _numbered(sql)
        return numbered

    def pool_options(self, url: str) -> dict:
        # No pool floor to keep up: the held connections are all the pool is for.
        return {} if "min_size=" in url else {"min_size": 0}

    async def tune(self, raw, synchronous: str, max_pages: int) -> None:
        return None

    async def fetch_all(self, driver, sql: str, params: Sequence[Any]) -> list[Row]:
        return [tuple(record) for record in await driver.fetch(self._sql(sql), *params)]

    async def fetch_several(self, driver, queries: list[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        return [await self.fetch_all(driver, sql, params) for sql, params in queries]

    async def execute(self, driver, sql: str, params: Sequence[Any]) -> int:
        status = await driver.execute(self._sql(sql), *params)
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def execute_many(self, driver, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await driver.executemany(self._sql(sql), rows)

    async def write_in_transaction(self, driver, steps: Steps) -> None:
        async with driver.transaction():
            for sql, rows in steps:
                await driver.executemany(self._sql(sql), rows)

    def rolled_back_already(self, driver, sql: str) -> bool:
        return False

    def schema_statement(self, statement: str) -> str:
        return statement.replace("INTEGER", "BIGINT")  # PostgreSQL's INTEGER is 32-bit

    async def lock_migrations(self, raw, key: int) -> None:
        await raw.fetch_all("SELECT pg_advisory_lock(?)", (key,))

    async def unlock_migrations(self, raw, key: int) -> None:
        await raw.fetch_all("SELECT pg_advisory_unlock(?)", (key,))

    async def database_size(self, raw, database_file: Path | None) -> int:
        return await raw.fetch_value("SELECT pg_database_size(current_database())")

    def search_row(self, message_id: int, words: list[str], parties: list[str]) -> tuple:
        # "@" never occurs inside a word, so a party cannot be mistaken for one.
        return (message_id, [*words, *(f"@{party}" for party in parties)])

    def search_match(self, query_words: list[str], party: str) -> str:
        terms = [f"'{word}'" for word in query_words]
        terms[-1] += ":*"
        return " & ".join([f"'@{party}'", *terms])


POSTGRESQL = PostgreSQL()
