"""Where new ids and each user's next seq come from.

SQLite has one writer (this process), so ids and seqs are counted in memory: no query per send.
PostgreSQL may have any number of writers (instances), so ids come from sequences and a user's
seq from `users.last_seq`, read under the row lock and advanced in the same transaction that
writes the update rows: seqs then commit in order per user whichever instance writes.

Message ids say nothing about how many messages the server holds: an id is the time it was made
(milliseconds since ID_EPOCH_MS) shifted left by ID_LOW_BITS, with low bits that are random
(SQLite) or the sequence's count modulo 2^ID_LOW_BITS (PostgreSQL, so that instances writing in
the same millisecond differ). Ids still grow with time (history is ordered by them) and stay
below 2^53, so JavaScript reads them exactly, for the next 278 years.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

from store.raw import RawConnection

if TYPE_CHECKING:
    from store.batch import Batch


ID_EPOCH_MS = 1_735_689_600_000  # 2025-01-01 UTC
ID_LOW_BITS = 10


def _marks(count: int) -> str:
    return ",".join("?" * count)


def time_id(low: int, now_ms: int | None = None) -> int:
    """The id made now with these low bits (see the module's docstring)."""
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return (max(0, now_ms - ID_EPOCH_MS) << ID_LOW_BITS) | (low & ((1 << ID_LOW_BITS) - 1))


class MemoryAllocator:
    """The single-writer allocator: counters in memory, loaded once and then trusted."""

    shared = False

    def __init__(self) -> None:
        self.next_message_id = 0
        self.next_user_id = 0
        self.seqs: dict[int, int] = {}

    async def start(self, conn: RawConnection) -> None:
        self.next_message_id = await conn.fetch_value("SELECT COALESCE(MAX(id), 0) FROM messages")
        self.next_user_id = await conn.fetch_value("SELECT COALESCE(MAX(id), 0) FROM users")

    async def reserve(self, batch: Batch, message_count: int) -> None:
        batch.next_message_id = self.next_message_id
        batch.next_user_id = self.next_user_id

    async def load_seqs(self, batch: Batch, user_ids) -> None:
        missing = [u for u in set(user_ids) if u not in batch.seqs and u not in self.seqs]
        if missing:
            rows = await batch.conn.fetch_all(
                f"SELECT user_id, MAX(seq) FROM updates WHERE user_id IN ({_marks(len(missing))}) GROUP BY user_id",
                missing,
            )
            found = dict(rows)
            for user_id in missing:
                self.seqs[user_id] = found.get(user_id) or 0
        for user_id in set(user_ids):
            batch.seqs.setdefault(user_id, self.seqs[user_id])

    def new_message_id(self, batch: Batch) -> int:
        # Later than every id before it, even if the clock steps back.
        batch.next_message_id = max(batch.next_message_id + 1, time_id(secrets.randbelow(1 << ID_LOW_BITS)))
        return batch.next_message_id

    async def new_user_id(self, batch: Batch) -> int:
        batch.next_user_id += 1
        return batch.next_user_id

    def closing_steps(self, batch: Batch) -> list[tuple[str, list[tuple]]]:
        return []

    def committed(self, batch: Batch) -> None:
        self.next_message_id = max(self.next_message_id, batch.next_message_id)
        self.next_user_id = max(self.next_user_id, batch.next_user_id)
        self.seqs.update(batch.seqs)


class DatabaseAllocator:
    """The shared allocator: sequences for ids, locked counters for seqs, nothing remembered."""

    shared = True

    async def start(self, conn: RawConnection) -> None:
        return None

    async def reserve(self, batch: Batch, message_count: int) -> None:
        if message_count:
            rows = await batch.conn.fetch_all(
                "SELECT nextval('messages_id_seq') FROM generate_series(1, ?)", (message_count,)
            )
            now_ms = time.time_ns() // 1_000_000
            # A batch of more than 2^ID_LOW_BITS messages spills into the next milliseconds.
            ids = (time_id(row[0], now_ms + i // (1 << ID_LOW_BITS)) for i, row in enumerate(rows))
            batch.reserved_message_ids = sorted(ids, reverse=True)  # pop() gives the lowest

    async def load_seqs(self, batch: Batch, user_ids) -> None:
        missing = sorted(u for u in set(user_ids) if u not in batch.seqs)
        if not missing:
            return
        # Locked in id order, so two writers never wait on each other in a circle.
        rows = await batch.conn.fetch_all(
            f"SELECT id, last_seq FROM users WHERE id IN ({_marks(len(missing))}) ORDER BY id FOR UPDATE", missing
        )
        for user_id, last_seq in rows:
            batch.seqs[user_id] = last_seq
            batch.seqs_loaded[user_id] = last_seq
        for user_id in missing:
            batch.seqs.setdefault(user_id, 0)

    def new_message_id(self, batch: Batch) -> int:
        return batch.reserved_message_ids.pop()

    async def new_user_id(self, batch: Batch) -> int:
        return await batch.conn.fetch_value("SELECT nextval('users_id_seq')")

    def closing_steps(self, batch: Batch) -> list[tuple[str, list[tuple]]]:
        advanced = [(seq, user_id) for user_id, seq in batch.seqs.items() if seq != batch.seqs_loaded.get(user_id)]
        return [("UPDATE users SET last_seq = ? WHERE id = ?", advanced)] if advanced else []

    def committed(self, batch: Batch) -> None:
        return None
