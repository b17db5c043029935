"""The single writer: every change goes through one connection, many changes per transaction.

Operations queue up while a transaction commits; the next transaction takes all of them
(group commit). Rows are gathered in memory and written with one executemany per table, so a
batch of a thousand sends costs a handful of round trips to the database thread. Ids and each
user's update sequence are assigned here, in memory, which is sound because this is the only
writer of the database. Nothing is acknowledged before its transaction has committed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from store.connection import RawConnection
from store.errors import StoreError
from store.records import MESSAGE_COLUMNS

log = logging.getLogger("payambar.store")

MAX_BATCH = 1024
RECENT_CLIENT_IDS = 20_000  # sends remembered for retries without asking the database


@dataclass(slots=True)
class Notice:
    """Something to tell a user's live connections once the change is committed."""

    user_id: int
    seq: int | None
    payload: dict[str, Any]
    origin: Any = None  # the connection that asked for the change, if any
    origin_payload: dict[str, Any] | None = None  # what that connection gets instead


class Batch:
    """The rows and notices of one transaction, and the allocations made for it."""

    def __init__(self, writer: Writer, careful: bool = False) -> None:
        self.writer = writer
        # A careful batch asks the database about every client_id; a fast one trusts the memory
        # of recent sends and lets the unique index catch the rest (then retries carefully).
        self.careful = careful
        self.conn = writer.conn
        self.message_rows: list[tuple] = []
        self.chat_rows: list[tuple] = []
        self.status_rows: list[tuple] = []
        self.update_rows: list[tuple] = []
        self.notices: list[Notice] = []
        self.messages: dict[int, list] = {}  # rows read or written in this batch, by id
        self.client_ids: dict[tuple[int, str], list] = {}  # (sender_id, client_id) -> row
        self.new_client_ids: list[tuple[tuple[int, str], int]] = []  # sends stored by this batch
        self._seqs_before: dict[int, int] = {}
        self._ids_before = (writer.next_message_id, writer.next_user_id)
        self.names = writer.names

    def new_message_id(self) -> int:
        self.writer.next_message_id += 1
        return self.writer.next_message_id

    def new_user_id(self) -> int:
        self.writer.next_user_id += 1
        return self.writer.next_user_id

    async def load_seqs(self, user_ids) -> None:
        missing = [u for u in set(user_ids) if u not in self.writer.seqs]
        if not missing:
            return
        marks = ",".join("?" * len(missing))
        rows = await self.conn.fetch_all(
            f"SELECT user_id, MAX(seq) FROM updates WHERE user_id IN ({marks}) GROUP BY user_id", missing
        )
        found = dict(rows)
        for user_id in missing:
            self.writer.seqs[user_id] = found.get(user_id) or 0

    async def load_names(self, user_ids) -> None:
        missing = [u for u in set(user_ids) if u not in self.names]
        if not missing:
            return
        marks = ",".join("?" * len(missing))
        for user_id, username in await self.conn.fetch_all(
            f"SELECT id, username FROM users WHERE id IN ({marks})", missing
        ):
            self.names[user_id] = username

    def add_update(self, user_id: int, kind: int, message_id: int, peer_id: int | None = None) -> int:
        """Appends to the user's stream (seqs must be loaded) and returns the new seq."""
        seqs = self.writer.seqs
        seq = seqs[user_id] + 1
        self._seqs_before.setdefault(user_id, seq - 1)
        seqs[user_id] = seq
        self.update_rows.append((user_id, seq, kind, message_id, peer_id))
        return seq

    def notify(self, notice: Notice) -> None:
        self.notices.append(notice)

    async def fetch_messages(self, ids) -> None:
        """Reads into self.messages the rows of these ids not already there."""
        wanted = [i for i in set(ids) if i not in self.messages]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in await self.conn.fetch_all(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id IN ({marks})", chunk
            ):
                self.messages[row[0]] = list(row)

    async def fetch_client_ids(self, pairs: list[tuple[int, str]]) -> None:
        """Reads into self.client_ids the stored messages with these (sender, client_id)."""
        wanted = [p for p in set(pairs) if p not in self.client_ids]
        if not wanted:
            return
        senders = sorted({s for s, _ in wanted})
        client_ids = sorted({c for _, c in wanted})
        sql = (
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id IN ({','.join('?' * len(senders))})"
            f" AND client_id IN ({','.join('?' * len(client_ids))})"
        )
        for row in await self.conn.fetch_all(sql, senders + client_ids):
            self.client_ids[(row[1], row[3])] = list(row)

    async def fetch_recent_client_ids(self, pairs: list[tuple[int, str]]) -> None:
        """Reads into self.client_ids the messages this process stored lately with these pairs."""
        recent = self.writer.recent_client_ids
        known = {pair: recent[pair] for pair in pairs if pair in recent and pair not in self.client_ids}
        if not known:
            return
        await self.fetch_messages(known.values())
        for pair, message_id in known.items():
            row = self.messages.get(message_id)
            if row is not None:
                self.client_ids[pair] = row

    async def flush(self) -> None:
        conn = self.conn
        if self.message_rows:
            await conn.execute_many(
                f"INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.message_rows
            )
            self.message_rows = []
        if self.chat_rows:
            await conn.execute_many(
                "INSERT INTO chats (user_id, peer_id, last_message_id) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id, peer_id) DO UPDATE SET last_message_id = excluded.last_message_id",
                self.chat_rows,
            )
            self.chat_rows = []
        if self.status_rows:
            await conn.execute_many("UPDATE messages SET status = ? WHERE id = ? AND status < ?", self.status_rows)
            self.status_rows = []
        if self.update_rows:
            await conn.execute_many(
                "INSERT INTO updates (user_id, seq, kind, message_id, peer_id) VALUES (?, ?, ?, ?, ?)",
                self.update_rows,
            )
            self.update_rows = []

    def undo_allocations(self) -> None:
        self.writer.next_message_id, self.writer.next_user_id = self._ids_before
        for user_id, seq in self._seqs_before.items():
            self.writer.seqs[user_id] = seq


class Writer:
    def __init__(self, conn: RawConnection, names: dict[int, str], on_commit: Callable[[list[Notice]], None]) -> None:
        self.conn = conn
        self.names = names  # user id -> username, shared with the readers (names never change)
        self.on_commit = on_commit
        self.next_message_id = 0
        self.next_user_id = 0
        self.seqs: dict[int, int] = {}
        self._pending: deque[tuple[Any, asyncio.Future]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self.recent_client_ids: dict[tuple[int, str], int] = {}  # (sender, client_id) -> message id
        self.batches = 0
        self.operations = 0

    async def start(self) -> None:
        self.next_message_id = await self.conn.fetch_value("SELECT COALESCE(MAX(id), 0) FROM messages")
        self.next_user_id = await self.conn.fetch_value("SELECT COALESCE(MAX(id), 0) FROM users")
        self._task = asyncio.create_task(self._run(), name="payambar-writer")

    async def stop(self) -> None:
        """Commits what is queued, then ends the writer."""
        self._stopping = True
        self._wake.set()
        if self._task:
            await self._task

    def submit(self, operation) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        if self._stopping:
            future.set_exception(StoreError("The server is shutting down.", "unavailable"))
            return future
        self._pending.append((operation, future))
        self._wake.set()
        return future

    async def run(self, operation):
        return await self.submit(operation)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                count = min(len(self._pending), MAX_BATCH)
                entries = [self._pending.popleft() for _ in range(count)]
                await self._commit(entries)
            if self._stopping:
                return

    async def _commit(self, entries: list[tuple[Any, asyncio.Future]]) -> None:
        try:
            outcomes, notices = await self._transaction(entries)
        except Exception as error:
            if len(entries) > 1 or not _is_constraint_error(error):
                log.warning("a batch of %d failed (%s); committing its operations one by one", len(entries), error)
            outcomes, notices = [], []
            for entry in entries:
                try:
                    single_outcomes, single_notices = await self._transaction([entry], careful=True)
                except Exception as error:  # reported to the one caller it belongs to
                    single_outcomes, single_notices = [error], []
                outcomes.extend(single_outcomes)
                notices.extend(single_notices)
        self.batches += 1
        self.operations += len(entries)
        if notices:
            try:
                self.on_commit(notices)
            except Exception:
                log.exception("publishing committed changes failed")
        for (_, future), outcome in zip(entries, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    async def _transaction(self, entries, careful: bool = False) -> tuple[list, list[Notice]]:
        batch = Batch(self, careful)
        operations = [operation for operation, _ in entries]
        await self.conn.execute("BEGIN")
        try:
            await _prepare(batch, operations)
            outcomes: list = []
            for operation in operations:
                try:
                    outcomes.append(await operation.apply(batch))
                except StoreError as refusal:  # refused before it wrote anything
                    outcomes.append(refusal)
            await batch.flush()
            await self.conn.execute("COMMIT")
        except BaseException:
            batch.undo_allocations()
            try:
                await self.conn.execute("ROLLBACK")
            except Exception:
                log.exception("rollback failed")
            raise
        self._remember_client_ids(batch.new_client_ids)
        return outcomes, batch.notices

    def _remember_client_ids(self, pairs: list[tuple[tuple[int, str], int]]) -> None:
        recent = self.recent_client_ids
        recent.update(pairs)
        excess = len(recent) - RECENT_CLIENT_IDS
        if excess > 0:
            for pair in list(itertools.islice(recent, excess)):
                del recent[pair]


def _is_constraint_error(error: Exception) -> bool:
    return "constraint" in str(error).lower() or "unique" in str(error).lower()


async def _prepare(batch: Batch, operations: list) -> None:
    """Reads, in a few queries for the whole batch, what its operations will look at."""
    message_ids: list[int] = []
    client_pairs: list[tuple[int, str]] = []
    users: list[int] = []
    for operation in operations:
        message_ids.extend(getattr(operation, "message_ids", ()))
        pair = getattr(operation, "client_pair", None)
        if pair:
            client_pairs.append(pair)
        users.extend(getattr(operation, "stream_users", ()))
    if client_pairs:
        if batch.careful:
            await batch.fetch_client_ids(client_pairs)
        else:
            await batch.fetch_recent_client_ids(client_pairs)
    if message_ids:
        await batch.fetch_messages(message_ids)
        users.extend(row[1] for row in batch.messages.values())
        users.extend(row[2] for row in batch.messages.values())
    if users:
        await batch.load_seqs(users)
        await batch.load_names(users)
