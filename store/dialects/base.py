"""The shape of a dialect: how its driver is called, how its schema, search index and
migrations differ, and how it behaves when its server goes away."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

Row = tuple[Any, ...]
Steps = list[tuple[str, Sequence[Sequence[Any]]]]


class Dialect(Protocol):
    name: str  # the key of a migration step written per database: "sqlite" or "postgresql"
    begin_write: str  # the statement opening a transaction that will write
    shared: bool  # whether other instances may write the same database
    reconnects: bool  # whether a lost connection is opened again (a server restarts; a file does not)
    lock_for_update: str  # the clause that locks a row read in a transaction, or ""

    # ---- the driver ----------------------------------------------------------------------
    def pool_options(self, url: str) -> dict: ...

    async def tune(self, raw, synchronous: str, max_pages: int) -> None: ...

    async def fetch_all(self, driver, sql: str, params: Sequence[Any]) -> list[Row]: ...

    async def fetch_several(self, driver, queries: list[tuple[str, Sequence[Any]]]) -> list[list[Row]]: ...

    async def execute(self, driver, sql: str, params: Sequence[Any]) -> int: ...

    async def execute_many(self, driver, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def write_in_transaction(self, driver, steps: Steps) -> None: ...

    def rolled_back_already(self, driver, sql: str) -> bool:
        """Whether a ROLLBACK has nothing left to do (the database rolled back by itself)."""

    # ---- schema and administration --------------------------------------------------------
    def schema_statement(self, statement: str) -> str: ...

    async def lock_migrations(self, raw, key: int) -> None: ...

    async def unlock_migrations(self, raw, key: int) -> None: ...

    async def database_size(self, raw, database_file: Path | None) -> int: ...

    # ---- the search index (store/search.py) -----------------------------------------------
    search_insert: str
    search_delete: str
    search_source: str  # FROM … WHERE …: the index matched (first ?) and below a message id (second ?)
    search_order: str

    def search_row(self, message_id: int, words: list[str], parties: list[str]) -> tuple: ...

    def search_match(self, query_words: list[str], party: str) -> str: ...
