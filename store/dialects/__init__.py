"""Where SQLite and PostgreSQL differ, one module each (`sqlite.py`, `postgres.py`), behind the
one shape the rest of the store uses (`base.Dialect`). Nothing outside this folder asks which
database runs; it asks the dialect to do the part that differs."""

from __future__ import annotations

from store.dialects.base import Dialect
from store.dialects.postgres import POSTGRESQL
from store.dialects.sqlite import SQLITE

__all__ = ["Dialect", "dialect_for"]


def dialect_for(url: str) -> Dialect:
    return SQLITE if url.startswith("sqlite") else POSTGRESQL
