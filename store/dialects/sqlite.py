"""SQLite: the embedded default. One file, one writer, an FTS5 table for search."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from store.dialects.base import Row, Steps

# Tables keyed by a composite primary key: stored as that key's B-tree alone (WITHOUT ROWID),
# not as a table plus an index repeating the same integers.
CLUSTERED_TABLES = ("updates", "chats")


# A write transaction takes the write lock at its start: one begun as a read fails at once
# (SQLITE_BUSY_SNAPSHOT, no waiting) when another writer committed meanwhile, as Litestream does
# to its own tables while it replicates the file.
BEGIN_WRITE = "BEGIN IMMEDIATE"


def _write_steps(connection, steps: Steps) -> None:
    """On the database thread: BEGIN, every step, COMMIT (or ROLLBACK and raise)."""
    connection.execute(BEGIN_WRITE)
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


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class SQLite:
    name = "sqlite"
    begin_write = BEGIN_WRITE
    shared = False
    reconnects = False
    lock_for_update = ""
    search_insert = "INSERT INTO message_search (rowid, words, parties) VALUES (?, ?, ?)"
    search_delete = "DELETE FROM message_search WHERE rowid = ?"
    search_source = "message_search s JOIN messages m ON m.id = s.rowid WHERE message_search MATCH ? AND s.rowid < ?"
    search_order = "s.rowid"

    def pool_options(self, url: str) -> dict:
        return {}

    async def tune(self, raw, synchronous: str, max_pages: int) -> None:
        await raw.fetch_all("PRAGMA journal_mode=WAL")
        await raw.execute("PRAGMA busy_timeout=5000")
        await raw.execute(f"PRAGMA synchronous={synchronous.upper()}")
        await raw.execute("PRAGMA cache_size=-32000")
        await raw.execute("PRAGMA temp_store=MEMORY")
        if max_pages:
            await raw.fetch_all(f"PRAGMA max_page_count={int(max_pages)}")

    async def fetch_all(self, driver, sql: str, params: Sequence[Any]) -> list[Row]:
        return list(await driver.execute_fetchall(sql, params))

    async def fetch_several(self, driver, queries: list[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        # aiosqlite runs functions on its connection's thread: all the queries in one hand-over.
        return await driver._execute(_read_all, driver._conn, queries)

    async def execute(self, driver, sql: str, params: Sequence[Any]) -> int:
        cursor = await driver.execute(sql, params)
        return cursor.rowcount

    async def execute_many(self, driver, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await driver.executemany(sql, rows)

    async def write_in_transaction(self, driver, steps: Steps) -> None:
        # The call aiosqlite's own methods use: the whole transaction costs one hand-over to its
        # thread instead of one per step.
        await driver._execute(_write_steps, driver._conn, steps)

    def rolled_back_already(self, driver, sql: str) -> bool:
        return sql == "ROLLBACK" and not driver.in_transaction  # SQLite does, on a full disk

    def schema_statement(self, statement: str) -> str:
        if any(statement.startswith(f"CREATE TABLE {table} ") for table in CLUSTERED_TABLES):
            return statement + " WITHOUT ROWID"
        return statement

    async def lock_migrations(self, raw, key: int) -> None:
        return None  # one process owns the file

    async def unlock_migrations(self, raw, key: int) -> None:
        return None

    async def database_size(self, raw, database_file: Path | None) -> int:
        return sum(_size(Path(f"{database_file}{suffix}")) for suffix in ("", "-wal"))

    def search_row(self, message_id: int, words: list[str], parties: list[str]) -> tuple:
        return (message_id, " ".join(words), " ".join(parties))

    def search_match(self, query_words: list[str], party: str) -> str:
        terms = [f'words : "{word}"' for word in query_words]
        terms[-1] += "*"
        return " AND ".join([f'parties : "{party}"', *terms])


SQLITE = SQLite()
