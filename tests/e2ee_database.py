"""Reaching into a running server's database as a hostile operator would: SQL written straight
into its SQLite file or PostgreSQL database, behind the server's back."""

from __future__ import annotations

import re
import sqlite3

import asyncpg


def _numbered(sql: str) -> str:
    counter = iter(range(1, 1000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


async def fetch(server, sql: str, params: tuple = ()) -> list[tuple]:
    url = server.env["DATABASE_URL"]
    if url.startswith("sqlite"):
        with sqlite3.connect(server.database_file, timeout=10) as conn:
            return conn.execute(sql, params).fetchall()
    conn = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await conn.fetch(_numbered(sql), *params)]
    finally:
        await conn.close()


async def execute(server, sql: str, params: tuple = ()) -> None:
    url = server.env["DATABASE_URL"]
    if url.startswith("sqlite"):
        with sqlite3.connect(server.database_file, timeout=10) as conn:
            conn.execute(sql, params)
        return
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(_numbered(sql), *params)
    finally:
        await conn.close()


async def every_stored_byte(server) -> bytes:
    """The whole database as bytes: the SQLite file and its WAL, or every PostgreSQL row."""
    url = server.env["DATABASE_URL"]
    if url.startswith("sqlite"):
        files = [server.database_file, server.database_file.with_name("payambar.db-wal")]
        return b"".join(path.read_bytes() for path in files if path.exists())
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        dump = []
        for table in tables:
            for row in await conn.fetch(f'SELECT * FROM "{table[0]}"'):
                for value in row.values():
                    dump.append(value if isinstance(value, bytes) else str(value).encode())
        return b"\n".join(dump)
    finally:
        await conn.close()
