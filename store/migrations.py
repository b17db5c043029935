"""Schema versions. Version 1 is schema.sql; each later change is appended here, never edited.

A database is upgraded in place at start: the steps above its recorded version run in order,
each in its own transaction together with the new version number.
"""

from __future__ import annotations

from pathlib import Path

from store.connection import RawConnection

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.sql"


def split_statements(sql: str) -> list[str]:
    """The statements of a SQL script; comments start with -- and hold no semicolons."""
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [statement.strip() for statement in "\n".join(lines).split(";") if statement.strip()]


def baseline() -> list[str]:
    return split_statements(SCHEMA_FILE.read_text())


# (version, statements). Append new steps; never change or reorder a released one.
MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, baseline()),
    (
        5,
        [
            # A session is a device's login (kind 'session') or a named API token (kind 'token').
            "ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'session'",
            "ALTER TABLE sessions ADD COLUMN name TEXT",
            "ALTER TABLE sessions ADD COLUMN user_agent TEXT",
            "ALTER TABLE sessions ADD COLUMN address TEXT",
            "ALTER TABLE sessions ADD COLUMN last_active BIGINT",
            # who may see when a user was last online: everyone, contacts or nobody
            "ALTER TABLE users ADD COLUMN last_seen_visibility TEXT NOT NULL DEFAULT 'everyone'",
            # a deleted account keeps its row (and so its username) with everything else emptied
            "ALTER TABLE users ADD COLUMN deleted_at BIGINT",
            "CREATE TABLE blocks (blocker_id INTEGER NOT NULL, blocked_id INTEGER NOT NULL,"
            " created_at BIGINT NOT NULL, PRIMARY KEY (blocker_id, blocked_id))",
            # a message sent to someone who blocked its sender: kept for the sender only
            "ALTER TABLE messages ADD COLUMN withheld SMALLINT NOT NULL DEFAULT 0",
        ],
    ),
]


async def schema_version(conn: RawConnection) -> int:
    await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    version = await conn.fetch_value("SELECT MAX(version) FROM schema_version")
    return version or 0


# Tables keyed by a composite primary key: on SQLite they are stored as that key's B-tree alone
# (WITHOUT ROWID), not as a table plus an index repeating the same integers.
CLUSTERED_TABLES = ("updates", "chats")


def for_dialect(statement: str, dialect: str) -> str:
    """The schema's few differences between databases, applied when it is run."""
    if dialect == "postgresql":
        return statement.replace("INTEGER", "BIGINT")  # PostgreSQL's INTEGER is 32-bit
    if any(statement.startswith(f"CREATE TABLE {table} ") for table in CLUSTERED_TABLES):
        return statement + " WITHOUT ROWID"
    return statement


async def migrate(conn: RawConnection, migrations: list[tuple[int, list[str]]] | None = None) -> int:
    """Brings the database up to the newest version; returns that version."""
    steps = MIGRATIONS if migrations is None else migrations
    current = await schema_version(conn)
    for version, statements in steps:
        if version <= current:
            continue
        await conn.execute("BEGIN")
        try:
            await conn.execute_script([for_dialect(statement, conn.dialect) for statement in statements])
            await conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        current = version
    return current
