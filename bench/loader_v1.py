"""The first release's database (schema version 1), as that release wrote it: N users and M
messages straight into a fresh SQLite file. For the upgrade tests and `bench/ops.py`; the
loader of today's schema is `bench/loader.py`.

The rows are the ones real sends would have made (schema.sql, version 1): per message one
`messages` row, one `updates` row of kind 1 for the sender and one for the recipient with
consecutive per-user `seq`, and a `chats` row for each side pointing at the pair's last
message. Older messages are read (2), the last few of a chat delivered (1) or sent (0).
Times are milliseconds. Every user has the same password, hashed with bcrypt once.

    python -m bench.loader_v1 data/v1.db --users 10000 --messages 1000000
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import time
from pathlib import Path

import bcrypt

from store.dialects.sqlite import SQLITE

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.sql"
PASSWORD = "bench-password-1"
WORDS = (
    "سلام",
    "خوبی",
    "ممنون",
    "فردا",
    "جلسه",
    "ساعت",
    "کجایی",
    "باشه",
    "hello",
    "ok",
    "see",
    "you",
    "tomorrow",
    "at",
    "the",
    "office",
    "meeting",
    "thanks",
    "لطفا",
    "عکس",
    "را",
    "بفرست",
    "کی",
    "میای",
)


def statements(sql: str) -> list[str]:
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def username(i: int) -> str:
    return f"user{i:05d}"


def load(
    path: Path, users: int, messages: int, *, peers: int = 10, cost: int = 4, seed: int = 1, sessions: bool = False
) -> dict:
    """Write a fresh database at `path`; return what was written.

    `peers` is how many chats each user has on average; `cost` the bcrypt cost of the one
    shared hash (the server's own cost makes every login in the bench's setup cost 0.3 s).
    """
    t0 = time.perf_counter()
    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    rnd = random.Random(seed)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-400000")
    db.execute("BEGIN")
    # The schema exactly as the server applies it on SQLite (its dialect touches included).
    schema = [SQLITE.schema_statement(statement) for statement in statements(SCHEMA_FILE.read_text())]
    tables = [
        s for s in schema if not s.upper().startswith("CREATE INDEX") and not s.upper().startswith("CREATE UNIQUE")
    ]
    indexes = [s for s in schema if s not in tables]
    for s in tables:
        db.execute(s)
    # The server's record of which migrations ran: schema.sql is version 1.
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version (version) VALUES (1)")

    pw_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(cost)).decode()
    now = int(time.time() * 1000)
    span = 365 * 86400 * 1000
    start = now - span
    db.executemany(
        "INSERT INTO users (id, username, username_key, display_name, bio, password_hash, created_at, last_seen)"
        " VALUES (?, ?, ?, ?, '', ?, ?, ?)",
        (
            (i, username(i), username(i).lower(), f"User {i}", pw_hash, start - 86400000, None)
            for i in range(1, users + 1)
        ),
    )

    # Chats: each user with ~`peers` others; a few chats are long (history pages), most short.
    pairs: set[tuple[int, int]] = set()
    if users > 1 and messages:
        want = min(users * peers // 2, users * (users - 1) // 4)
        for _ in range(want * 50):  # small populations run out of distinct pairs: stop trying
            if len(pairs) >= want:
                break
            a = rnd.randint(1, users)
            b = (a + rnd.choice((1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610))) % users + 1
            if a != b:
                pairs.add((min(a, b), max(a, b)))
    pair_list = sorted(pairs)
    weights = [min(rnd.paretovariate(1.5), 300.0) for _ in pair_list]

    # Which chat each message belongs to, in time order; then how far from its chat's end it is.
    chosen = rnd.choices(range(len(pair_list)), weights=weights, k=messages) if pair_list else []
    remaining = [0] * len(pair_list)
    for c in chosen:
        remaining[c] += 1

    seq = [0] * (users + 1)
    last = [0] * len(pair_list)
    texts = [" ".join(rnd.choices(WORDS, k=k)) for k in range(1, 16) for _ in range(40)]
    text_bytes = 0
    step = span // max(1, messages)
    msg_rows, upd_rows = [], []
    hexdigits = os.urandom(16).hex()

    def flush() -> None:
        db.executemany(
            "INSERT INTO messages (id, sender_id, recipient_id, client_id, text, reply_to, created_at,"
            " edited_at, deleted, status) VALUES (?, ?, ?, ?, ?, NULL, ?, NULL, 0, ?)",
            msg_rows,
        )
        db.executemany(
            "INSERT INTO updates (user_id, seq, kind, message_id, peer_id) VALUES (?, ?, 1, ?, NULL)", upd_rows
        )
        msg_rows.clear()
        upd_rows.clear()

    for mid, c in enumerate(chosen, start=1):
        a, b = pair_list[c]
        sender, recipient = (a, b) if rnd.random() < 0.5 else (b, a)
        remaining[c] -= 1
        left = remaining[c]
        status = 2 if left >= 6 else (1 if left >= 3 else 0)
        text = texts[rnd.randrange(len(texts))]
        text_bytes += len(text.encode())
        # A UUID-shaped client id, as the app makes: distinct per message.
        client_id = (
            f"{hexdigits[:8]}-{hexdigits[8:12]}-{hexdigits[12:16]}-{mid >> 48 & 0xFFFF:04x}-{mid & 0xFFFFFFFFFFFF:012x}"
        )
        msg_rows.append((mid, sender, recipient, client_id, text, start + mid * step, status))
        seq[sender] += 1
        upd_rows.append((sender, seq[sender], mid))
        seq[recipient] += 1
        upd_rows.append((recipient, seq[recipient], mid))
        last[c] = mid
        if len(msg_rows) >= 50_000:
            flush()
    flush()
    chat_rows = []
    for c, (a, b) in enumerate(pair_list):
        if last[c]:
            chat_rows += [(a, b, last[c]), (b, a, last[c])]
    db.executemany("INSERT INTO chats (user_id, peer_id, last_message_id) VALUES (?, ?, ?)", chat_rows)
    for s in indexes:
        db.execute(s)
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("ANALYZE")
    db.close()
    longest = max(range(len(pair_list)), key=lambda c: weights[c]) if pair_list else None
    return {
        "users": users,
        "messages": messages,
        "chats": len(chat_rows),
        "password": PASSWORD,
        "bcrypt_cost": cost,
        "seconds": time.perf_counter() - t0,
        "bytes": path.stat().st_size,
        "text_bytes": text_bytes,
        "busiest_pair": [username(u) for u in pair_list[longest]] if longest is not None else None,
    }


def chats_of(path: Path, user_id: int) -> list[str]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT u.username FROM chats c JOIN users u ON u.id = c.peer_id WHERE c.user_id = ?"
            " ORDER BY c.last_message_id DESC",
            (user_id,),
        ).fetchall()
        return [r[0] for r in rows]
    finally:
        db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", type=Path)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--peers", type=int, default=10)
    ap.add_argument("--cost", type=int, default=4, help="bcrypt cost of the shared password hash")
    args = ap.parse_args()
    print(load(args.path, args.users, args.messages, peers=args.peers, cost=args.cost))


async def copy_to_postgres(path: Path, database_url: str) -> dict:
    """Copies a loaded SQLite file into an empty PostgreSQL database, at schema version 1.

    The schema is made by the server's own first migration step; the rows go in with COPY.
    """
    import asyncpg

    from store.connection import ConnectionSet
    from store.migrations import MIGRATIONS, migrate

    t0 = time.perf_counter()
    connections = ConnectionSet(database_url, readers=0)
    await connections.open()
    try:
        await migrate(connections.writer, MIGRATIONS[:1])
    finally:
        await connections.close()
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = await asyncpg.connect(database_url)
    counts = {}
    try:
        for table in ("users", "sessions", "messages", "chats", "updates"):
            columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
            cursor = source.execute(f"SELECT {', '.join(columns)} FROM {table}")
            counts[table] = 0
            while rows := cursor.fetchmany(100_000):
                await target.copy_records_to_table(table, records=rows, columns=columns)
                counts[table] += len(rows)
        await target.execute("ANALYZE")
    finally:
        await target.close()
        source.close()
    return {"seconds": time.perf_counter() - t0, **counts}


if __name__ == "__main__":
    main()
