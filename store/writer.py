"""The single writer: every change goes through one connection, many changes per transaction.

Operations queue up while a transaction commits; the next transaction takes all of them
(group commit). Rows are gathered in memory and written with one executemany per table. A batch
of sends and delivery receipts - the traffic of a busy server - is checked against memory and
written in a single trip to the database thread: BEGIN, the inserts, COMMIT. Ids and each user's
update sequence are assigned here, in memory, which is sound because this is the only writer of
the database. Nothing is acknowledged before its transaction has committed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from store import reads
from store.connection import RawConnection
from store.errors import StoreError, Unavailable
from store.records import MESSAGE_COLUMNS

log = logging.getLogger("payambar.store")

MAX_BATCH = 1024
RECENT = 20_000  # sends (client ids and rows) remembered so retries and receipts need no query


@dataclass(slots=True)
class Notice:
    """A frame to give a user's live connections once the change is committed."""

    user_id: int
    seq: int | None
    text: str | None  # the frame for every connection of the user (None: nothing for them)
    origin: Any = None  # the connection that asked for the change, if any
    origin_text: str | None = None  # what that connection gets instead (its ack)


def _trim(recent: dict, limit: int) -> None:
    excess = len(recent) - limit
    if excess > 0:
        for key in list(itertools.islice(recent, excess)):
            del recent[key]


class Batch:
    """The rows and notices of one transaction, and the allocations made for it."""

    def __init__(self, writer: Writer, careful: bool = False) -> None:
        self.writer = writer
        # A careful batch reads everything it checks from the database; a fast one trusts the
        # memory of recent sends and lets the unique index catch the rest (then retries carefully).
        self.careful = careful
        self.conn = writer.conn
        self.names = writer.names
        self.message_rows: list[tuple] = []
        self.chat_rows: list[tuple] = []
        self.status_rows: list[tuple] = []
        self.update_rows: list[tuple] = []
        self.notices: list[Notice] = []
        self.messages: dict[int, list] = {}  # rows read or written in this batch, by id
        self.client_ids: dict[tuple[int, str], list] = {}  # (sender_id, client_id) -> row
        self.new_client_ids: list[tuple[tuple[int, str], int]] = []  # sends stored by this batch
        self.unread_ids: dict[tuple, list[int]] = {}  # a read receipt's query -> the ids it changes
        self._seqs_before: dict[int, int] = {}
        self._ids_before = (writer.next_message_id, writer.next_user_id)

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
        for user_id, username in await reads.usernames(self.conn, missing):
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
        """Puts into self.messages the rows of these ids: copies of recent ones, the rest read."""
        recent = {} if self.careful else self.writer.recent_messages
        wanted = []
        for message_id in set(ids):
            if message_id in self.messages:
                continue
            row = recent.get(message_id)
            if row is None:
                wanted.append(message_id)
            else:
                self.messages[message_id] = list(row)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id IN ({marks})"
            for row in await self.conn.fetch_all(sql, chunk):
                self.messages[row[0]] = list(row)

    async def fetch_client_ids(self, pairs: list[tuple[int, str]]) -> None:
        """Puts into self.client_ids the stored messages with these (sender, client_id) pairs:
        from memory in a fast batch, from the database in a careful one."""
        wanted = [p for p in set(pairs) if p not in self.client_ids]
        if not wanted:
            return
        if not self.careful:
            recent = self.writer.recent_client_ids
            known = {pair: recent[pair] for pair in wanted if pair in recent}
            if known:
                await self.fetch_messages(known.values())
                for pair, message_id in known.items():
                    if message_id in self.messages:
                        self.client_ids[pair] = self.messages[message_id]
            return
        senders = sorted({s for s, _ in wanted})
        client_ids = sorted({c for _, c in wanted})
        sql = (
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id IN ({','.join('?' * len(senders))})"
            f" AND client_id IN ({','.join('?' * len(client_ids))})"
        )
        for row in await self.conn.fetch_all(sql, senders + client_ids):
            self.client_ids[(row[1], row[3])] = list(row)

    def take_steps(self) -> list[tuple[str, list[tuple]]]:
        """The buffered rows as (statement, rows) steps, emptying the buffers."""
        steps = [
            (f"INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.message_rows),
            (
                "INSERT INTO chats (user_id, peer_id, last_message_id) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id, peer_id) DO UPDATE SET last_message_id = excluded.last_message_id",
                self.chat_rows,
            ),
            ("UPDATE messages SET status = ? WHERE id = ? AND status < ?", self.status_rows),
            ("INSERT INTO updates (user_id, seq, kind, message_id, peer_id) VALUES (?, ?, ?, ?, ?)", self.update_rows),
        ]
        self.message_rows, self.chat_rows, self.status_rows, self.update_rows = [], [], [], []
        return [(sql, rows) for sql, rows in steps if rows]

    async def flush(self) -> None:
        """Writes the buffered rows inside the open transaction."""
        for sql, rows in self.take_steps():
            await self.conn.execute_many(sql, rows)

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
        self.recent_client_ids: dict[tuple[int, str], int] = {}  # (sender, client_id) -> message id
        self.recent_messages: dict[int, list] = {}  # message id -> row as committed
        self._pending: deque[tuple[Any, asyncio.Future]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self.batches = 0
        self.operations = 0
        # For /metrics: read when scraped, bumped once per transaction.
        self.messages_stored = 0
        self.failed_batches = 0
        self.batch_sizes = [0] * (MAX_BATCH.bit_length() + 1)  # index: the batch size's bit length
        # After the database went away mid-transaction, a commit may have happened unseen: the
        # ids, seqs and remembered rows are read again before the next transaction.
        self._memory_stale = False

    async def start(self) -> None:
        await self._load_ids()
        self._task = asyncio.create_task(self._run(), name="payambar-writer")

    async def stop(self) -> None:
        """Commits what is queued, then ends the writer."""
        self._stopping = True
        self._wake.set()
        if self._task:
            await self._task

    @property
    def queue_depth(self) -> int:
        return len(self._pending)

    async def _load_ids(self) -> None:
        self.next_message_id = await self.conn.fetch_value("SELECT COALESCE(MAX(id), 0) FROM messages")
        self.next_user_id = await self.conn.fetch_value("SELECT COALESCE(MAX(id), 0) FROM users")

    async def _forget_memory(self) -> None:
        await self._load_ids()
        self.seqs.clear()
        self.recent_client_ids.clear()
        self.recent_messages.clear()
        self._memory_stale = False

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
            self.failed_batches += 1
            if isinstance(error, Unavailable):
                self._memory_stale = True
            if len(entries) > 1 or not _is_constraint_error(error):
                log.warning("a batch of %d failed (%s); committing its operations one by one", len(entries), error)
            outcomes, notices = [], []
            for entry in entries:
                try:
                    single_outcomes, single_notices = await self._transaction([entry], careful=True)
                except Exception as error:  # reported to the one caller it belongs to
                    self._memory_stale = self._memory_stale or isinstance(error, Unavailable)
                    single_outcomes, single_notices = [error], []
                outcomes.extend(single_outcomes)
                notices.extend(single_notices)
        self.batches += 1
        self.operations += len(entries)
        self.batch_sizes[len(entries).bit_length()] += 1
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
        if self._memory_stale:
            await self._forget_memory()
        batch = Batch(self, careful)
        operations = [operation for operation, _ in entries]
        fast = not careful and all(getattr(operation, "in_memory", False) for operation in operations)
        try:
            if fast:
                # Reads first (only this connection writes, so nothing changes meanwhile), then
                # one trip to the database thread for the whole transaction.
                await _prepare(batch, operations)
                outcomes = await _apply(batch, operations)
                await self.conn.write_in_transaction(batch.take_steps())
            else:
                outcomes = await self._slow_transaction(batch, operations)
        except BaseException:
            batch.undo_allocations()
            raise
        self._remember(batch)
        return outcomes, batch.notices

    async def _slow_transaction(self, batch: Batch, operations: list) -> list:
        """For batches with changes that read or write as they go (edits, deletes, accounts)."""
        await self.conn.execute("BEGIN")
        try:
            await _prepare(batch, operations)
            outcomes = await _apply(batch, operations)
            await batch.flush()
            await self.conn.execute("COMMIT")
        except BaseException:
            try:
                await self.conn.execute("ROLLBACK")
            except Unavailable:
                pass  # the connection is gone, and its transaction with it
            except Exception:
                log.exception("rollback failed")
            raise
        return outcomes

    def _remember(self, batch: Batch) -> None:
        # Every change to a message goes through the batch's copy of its row (sends, receipts,
        # reads, edits, deletes), so after a commit those copies are what the database holds.
        self.messages_stored += len(batch.new_client_ids)
        self.recent_client_ids.update(batch.new_client_ids)
        _trim(self.recent_client_ids, RECENT)
        self.recent_messages.update(batch.messages)
        _trim(self.recent_messages, RECENT)


def _is_constraint_error(error: Exception) -> bool:
    return "constraint" in str(error).lower() or "unique" in str(error).lower()


async def _apply(batch: Batch, operations: list) -> list:
    outcomes: list = []
    for operation in operations:
        try:
            outcomes.append(await operation.apply(batch))
        except StoreError as refusal:  # refused before it wrote anything
            outcomes.append(refusal)
    return outcomes


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
    unread_queries = [operation.unread_query for operation in operations if hasattr(operation, "unread_query")]
    if unread_queries:
        found = await batch.conn.fetch_several(unread_queries)
        for query, rows in zip(unread_queries, found, strict=True):
            batch.unread_ids[query] = [row[0] for row in rows]
            message_ids.extend(batch.unread_ids[query])
    if client_pairs:
        await batch.fetch_client_ids(client_pairs)
    if message_ids:
        await batch.fetch_messages(message_ids)
    for row in batch.messages.values():
        users.append(row[1])
        users.append(row[2])
    if users:
        await batch.load_seqs(users)
        await batch.load_names(users)
