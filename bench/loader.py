"""Fast loader: N users and M messages written into a fresh database through the store's own code.

Nothing here restates the schema, so the loader cannot drift from the server:
- the schema is made by the store's migrations, as the server makes it at start (`Store.open`);
- users and their sessions are made by the store itself (`Store.create_user`, `create_session`:
  its statements, and its id allocation, so PostgreSQL's sequences stay right);
- messages are rows built by the store's own row classes and written with its own statements:
  `store.rows.Message(...).values()` (MESSAGE_COLUMNS order), `store.rows.Update` in
  UPDATE_COLUMNS order, `store.batch.INSERT_MESSAGE`, `INSERT_UPDATE` and `UPSERT_CHAT`, and
  the search index rows of `store.search.SearchRows`, the writer's own batch of index changes.

What a message gets is what a real send makes: one `messages` row, one `updates` row of kind
MESSAGE for the sender and one for the recipient with consecutive per-user `seq`, and a `chats`
row for each side pointing at the pair's last message. Older messages are read, the last few of
a chat delivered or sent. Every user has the same password, hashed with bcrypt once (cost 4 by
default, so logging in thousands of users for a scenario's setup takes seconds).

Messages are loaded into SQLite only (the bench's read-path scenario); on PostgreSQL the loader
makes users and sessions, since bulk messages there would bypass the allocator's sequences.

    python -m bench.loader data/bench.db --users 10000 --messages 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path

import bcrypt

from bench.proc import SERVER_DIR

if str(SERVER_DIR) not in sys.path:
    sys.path.insert(0, str(SERVER_DIR))  # the server's own store (BENCH_SERVER_DIR: another checkout's)

from bench.loader_v1 import PASSWORD, WORDS, username  # the same people and words as the first release's
from store import Store
from store.batch import INSERT_MESSAGE, INSERT_UPDATE, UPSERT_CHAT
from store.rows import UPDATE_COLUMNS, Message, Status, Update, UpdateKind, now_ms
from store.search import SearchRows

UPDATE_FIELDS = [name.strip() for name in UPDATE_COLUMNS.split(",")]
CHUNK = 50_000


def update_values(update: Update) -> tuple:
    """An update row in UPDATE_COLUMNS order, read off the store's own Update."""
    return tuple(getattr(update, name) for name in UPDATE_FIELDS)


def database_url(target: Path | str) -> str:
    """A path is a SQLite file (made fresh); a URL is used as it is (a fresh PostgreSQL database)."""
    target = str(target)
    if "://" in target:
        return target
    for suffix in ("", "-wal", "-shm"):
        Path(target + suffix).unlink(missing_ok=True)
    return f"sqlite:///{target}"


def load(
    target: Path | str,
    users: int,
    messages: int = 0,
    *,
    peers: int = 10,
    cost: int = 4,
    seed: int = 1,
    sessions_for: list[str] | None = None,
    secret: str | None = None,
) -> dict:
    """Fill a fresh database; return what was written (and tokens for `sessions_for`, signed with `secret`)."""
    t0 = time.perf_counter()
    url = database_url(target)
    sqlite = url.startswith("sqlite")
    if messages and not sqlite:
        raise ValueError("the loader writes messages into SQLite only")
    pw_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(cost)).decode()
    info = asyncio.run(_load(url, users, messages, peers, seed, pw_hash, sessions_for or [], secret))
    return {
        "users": users,
        "messages": messages,
        "password": PASSWORD,
        "bcrypt_cost": cost,
        "seconds": time.perf_counter() - t0,
        "bytes": Path(url.removeprefix("sqlite:///")).stat().st_size if sqlite else None,
        **info,
    }


async def _load(url, users, messages, peers, seed, pw_hash, sessions_for, secret) -> dict:
    store = Store(url, synchronous="off" if url.startswith("sqlite") else "normal")
    await store.open(lambda committed: None)  # the server's migrations
    try:
        made = await asyncio.gather(
            *(store.create_user(username(i), f"User {i}", pw_hash) for i in range(1, users + 1))
        )
        ids = {user.username: user.id for user in made}
        tokens = await _sessions(store, ids, sessions_for, secret) if sessions_for else {}
        info = await _messages(store, [ids[username(i)] for i in range(1, users + 1)], messages, peers, seed)
    finally:
        await store.close()
    return {"tokens": tokens, **info}


async def _sessions(store: Store, ids: dict[str, int], names: list[str], secret: str, ttl_s: int = 86400) -> dict:
    """A session per user made by the store, and a token signed with the server's own code."""
    from auth import passwords  # the server's module (SERVER_DIR is on the path): its token format, not a copy

    expires = now_ms() + ttl_s * 1000
    tokens = {}

    async def one(name: str) -> None:
        session_id = passwords.new_session_id()
        await store.create_session(session_id, ids[name], expires)
        tokens[name] = passwords.make_token(secret, ids[name], session_id, expires)

    await asyncio.gather(*(one(name) for name in names))
    return tokens


async def _messages(store: Store, user_ids: list[int], messages: int, peers: int, seed: int) -> dict:
    if not messages or len(user_ids) < 2:
        return {"chats": 0, "text_bytes": 0, "busiest_pair": None}
    rnd = random.Random(seed)
    users = len(user_ids)
    # Chats: each user with ~`peers` others; a few chats are long (history pages), most short.
    pairs: set[tuple[int, int]] = set()
    want = min(users * peers // 2, users * (users - 1) // 4)
    for _ in range(want * 50):  # small populations run out of distinct pairs: stop trying
        if len(pairs) >= want:
            break
        a = rnd.randint(1, users)
        b = (a + rnd.choice((1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610))) % users + 1
        if a != b:
            pairs.add((min(a, b), max(a, b)))
    pair_list = [(user_ids[a - 1], user_ids[b - 1]) for a, b in sorted(pairs)]
    weights = [min(rnd.paretovariate(1.5), 300.0) for _ in pair_list]
    # Which chat each message belongs to, in time order; then how far from its chat's end it is.
    chosen = rnd.choices(range(len(pair_list)), weights=weights, k=messages)
    remaining = [0] * len(pair_list)
    for c in chosen:
        remaining[c] += 1

    conn = store.connections.writer
    # Secondary indexes are built once at the end (as the store's migrations define them).
    indexes = await conn.fetch_all("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    for name, _ in indexes:
        await conn.execute(f"DROP INDEX {name}")

    seq: dict[int, int] = dict.fromkeys(user_ids, 0)
    last = [0] * len(pair_list)
    texts = [" ".join(rnd.choices(WORDS, k=k)) for k in range(1, 16) for _ in range(40)]
    text_bytes = 0
    now = now_ms()
    span = 365 * 86400 * 1000
    start = now - span
    step = span // messages
    message_rows: list[tuple] = []
    update_rows: list[tuple] = []
    search = SearchRows()
    hexdigits = os.urandom(16).hex()
    for mid, c in enumerate(chosen, start=1):
        a, b = pair_list[c]
        sender, recipient = (a, b) if rnd.random() < 0.5 else (b, a)
        remaining[c] -= 1
        left = remaining[c]
        status = Status.READ if left >= 6 else (Status.DELIVERED if left >= 3 else Status.SENT)
        text = texts[rnd.randrange(len(texts))]
        text_bytes += len(text.encode())
        # A UUID-shaped client id, as the app makes: distinct per message.
        client_id = (
            f"{hexdigits[:8]}-{hexdigits[8:12]}-{hexdigits[12:16]}-{mid >> 48 & 0xFFFF:04x}-{mid & 0xFFFFFFFFFFFF:012x}"
        )
        message = Message(mid, sender, recipient, client_id, text, None, start + mid * step, None, 0, status)
        message_rows.append(message.values())
        search.added(message)  # the search index row, as a send writes it
        for user_id in (sender, recipient):
            seq[user_id] += 1
            update_rows.append(update_values(Update(user_id, seq[user_id], UpdateKind.MESSAGE, mid)))
        last[c] = mid
        if len(message_rows) >= CHUNK:
            await conn.write_in_transaction(
                [(INSERT_MESSAGE, message_rows), (INSERT_UPDATE, update_rows), *search.take_steps(conn.dialect)]
            )
            message_rows, update_rows = [], []
    chat_rows = []
    for c, (a, b) in enumerate(pair_list):
        if last[c]:
            chat_rows += [(a, b, last[c]), (b, a, last[c])]
    await conn.write_in_transaction(
        [
            (INSERT_MESSAGE, message_rows),
            (INSERT_UPDATE, update_rows),
            *search.take_steps(conn.dialect),
            (UPSERT_CHAT, chat_rows),
        ]
    )
    for _, sql in indexes:
        await conn.execute(sql)
    await conn.fetch_all("PRAGMA wal_checkpoint(TRUNCATE)")
    await conn.execute("ANALYZE")
    longest = max(range(len(pair_list)), key=lambda c: weights[c]) if pair_list else None
    return {
        "chats": len(chat_rows),
        "text_bytes": text_bytes,
        "busiest_pair": list(pair_list[longest]) if longest is not None else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", help="a SQLite file path (made fresh) or a postgresql:// URL of an empty database")
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--peers", type=int, default=10)
    ap.add_argument("--cost", type=int, default=4, help="bcrypt cost of the shared password hash")
    args = ap.parse_args()
    info = load(args.target, args.users, args.messages, peers=args.peers, cost=args.cost)
    info.pop("tokens")
    print(info)


if __name__ == "__main__":
    main()
