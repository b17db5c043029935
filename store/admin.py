"""What an operator asks of the database: counts and size, online copies, integrity, the file lock.

The copy uses SQLite's backup API on a connection of its own, in one read transaction: with
WAL the server keeps writing meanwhile, and the copy is the database as of one commit. These
functions block (file I/O); the command line and the server call them in a worker thread.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from store.raw import RawConnection


@dataclass(frozen=True)
class Status:
    users: int
    messages: int
    database_bytes: int
    schema_version: int


async def status(conn: RawConnection, database_file: Path | None) -> Status:
    """Counts, size and schema version, read through a held connection (SQLite or PostgreSQL)."""
    users = await conn.fetch_value("SELECT COUNT(*) FROM users")
    messages = await conn.fetch_value("SELECT COUNT(*) FROM messages")
    version = await conn.fetch_value("SELECT MAX(version) FROM schema_version")
    size = await conn.dialect.database_size(conn, database_file)
    return Status(users or 0, messages or 0, size or 0, version or 0)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def copy_sqlite(source: Path, target: Path) -> float:
    """Copies a live SQLite database to a new file, consistent as of one commit; returns seconds.

    All pages in one step: SQLite restarts a stepped copy whenever another connection writes,
    which under steady traffic would never finish; one step is one read transaction, and in WAL
    mode a reader does not hold up the writer.
    """
    started = time.perf_counter()
    target.unlink(missing_ok=True)
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(target)
        try:
            reader.backup(copy)
            # A copy stands alone: one file, no WAL beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    finally:
        reader.close()
    return time.perf_counter() - started


def integrity_check(path: Path) -> str:
    """SQLite's own verdict on a database file: "ok", or the first problems it found."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as error:  # not a database at all
        return str(error)
    finally:
        connection.close()
    return "; ".join(str(row[0]) for row in rows[:5])


def file_status(path: Path) -> Status:
    """Counts and schema version of a database file that no server has open (e.g. a backup)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        users = connection.execute("SELECT COUNT(*) FROM users").fetchone()[0]
        messages = connection.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        version = connection.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    finally:
        connection.close()
    return Status(users, messages, _size(path), version or 0)


# ---- who holds the database file -------------------------------------------------------------


def lock_path(database_file: Path) -> Path:
    return Path(f"{database_file}.lock")


def hold_shared_lock(database_file: Path) -> int:
    """Marks the database as in use by this server until the process ends (or release()).

    A shared flock: several holders are fine; `restore` needs it exclusive and so refuses while
    any server runs. The kernel drops it when the process dies, even by SIGKILL.
    """
    descriptor = os.open(lock_path(database_file), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    return descriptor


def try_exclusive_lock(database_file: Path) -> int | None:
    """The exclusive lock (a descriptor to release), or None while a server holds the database."""
    database_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(lock_path(database_file), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


def release(descriptor: int) -> None:
    os.close(descriptor)  # closing the descriptor drops its flock
