"""Correctness and size checks on what the server stored (SQLite, or PostgreSQL where named)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.proc import PostgresDB

STORED = "SELECT u.username, m.client_id, m.id FROM messages m JOIN users u ON u.id = m.sender_id"
KINDS = "SELECT kind, COUNT(*) FROM updates GROUP BY kind"


def stored_exactly_once(db_path: Path, acked: list[tuple[str, str, int]]) -> dict:
    """Every acknowledged (sender, client_id) is in the SQLite file exactly once, with the acked id."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = db.execute(STORED).fetchall()
        kinds = dict(db.execute(KINDS).fetchall())
    finally:
        db.close()
    return compare(rows, kinds, acked)


def stored_exactly_once_pg(db: PostgresDB, acked: list[tuple[str, str, int]]) -> dict:
    """The same check against a PostgreSQL database."""
    out = db.sql("SELECT u.username, m.id, m.client_id FROM messages m JOIN users u ON u.id = m.sender_id")
    rows = [(n, c, int(m)) for n, m, c in (line.split("|", 2) for line in out.splitlines() if line)]
    kinds = {int(k): int(v) for k, v in (line.split("|") for line in db.sql(KINDS).splitlines() if line)}
    return compare(rows, kinds, acked)


def compare(rows: list[tuple[str, str, int]], kinds: dict, acked: list[tuple[str, str, int]]) -> dict:
    """Stored (sender, client_id, id) rows against the acknowledged ones."""
    by_key: dict[tuple[str, str], list[int]] = {}
    for name, cid, mid in rows:
        by_key.setdefault((name, cid), []).append(mid)
    missing = dup = wrong = 0
    for name, cid, mid in acked:
        ids = by_key.get((name, cid))
        if not ids:
            missing += 1
        elif len(ids) > 1:
            dup += 1
        elif ids[0] != mid:
            wrong += 1
    acked_keys = {(n, c) for n, c, _ in acked}
    return {
        "acked": len(acked),
        "acked_distinct": len(acked_keys),
        "rows": len(rows),
        "missing": missing,
        "duplicated": dup,
        "wrong_id": wrong,
        "unacked_rows": len(set(by_key) - acked_keys),
        "ok": missing == 0 and dup == 0 and wrong == 0 and len(acked_keys) == len(acked),
        "update_kinds": kinds,
    }


def disk_per_message(db_path: Path) -> dict:
    """Bytes in use (pages minus free pages, after a checkpoint) per message row."""
    db = sqlite3.connect(db_path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = db.execute("PRAGMA page_size").fetchone()[0]
        used = (
            db.execute("PRAGMA page_count").fetchone()[0] - db.execute("PRAGMA freelist_count").fetchone()[0]
        ) * page
        n, text, envelope = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(text AS BLOB))), 0), COALESCE(SUM(LENGTH(envelope)), 0)"
            " FROM messages"
        ).fetchone()
        try:
            parts = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
        except sqlite3.Error:
            parts = {}
    finally:
        db.close()
    return {
        "bytes": used,
        "messages": n,
        "per_message": used / n if n else None,
        "text_per_message": text / n if n else None,
        "envelope_per_message": envelope / n if n else None,
        "by_object_per_message": {k: round(v / n, 1) for k, v in sorted(parts.items(), key=lambda x: -x[1])}
        if n
        else {},
    }


def pg_disk(db: PostgresDB) -> int:
    """Bytes of every table of the public schema with its indexes and TOAST."""
    return int(
        db.sql(
            "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        or 0
    )
