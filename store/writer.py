"""The writer: every change of this process goes through one connection, many per transaction.

Operations queue up while a transaction commits; the next transaction takes all of them
(group commit). Rows are gathered in memory and written with one executemany per table.
On SQLite a batch of sends and receipts is checked against memory and written in a single trip
to the database thread: BEGIN, the inserts, COMMIT. On PostgreSQL every batch reads what it
checks inside its transaction, under row locks, because other instances write too.
Nothing is acknowledged before its transaction has committed; what committed is then handed,
as named rows, to `on_commit`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from store.allocation import DatabaseAllocator, MemoryAllocator
from store.batch import Batch, Recent
from store.errors import StoreError, Unavailable
from store.operations import Operation
from store.raw import RawConnection
from store.rows import Committed

log = logging.getLogger("payambar.store")

MAX_BATCH = 1024
RECENT = 20_000  # sends (client ids and rows) remembered so retries and receipts need no query


def _trim(recent: dict, limit: int) -> None:
    excess = len(recent) - limit
    if excess > 0:
        for key in list(itertools.islice(recent, excess)):
            del recent[key]


class Writer:
    def __init__(
        self, conn: RawConnection, names: dict[int, str], on_commit: Callable[[list[Committed]], None]
    ) -> None:
        self.conn = conn
        self.names = names  # user id -> username, shared with the readers (names never change)
        self.on_commit = on_commit
        # Where other instances write too, ids and seqs are taken in the database; alone, in memory.
        self.allocator = DatabaseAllocator() if conn.dialect.shared else MemoryAllocator()
        self.recent = Recent()
        self._pending: deque[tuple[Operation, asyncio.Future]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self.batches = 0
        self.operations = 0
        # For /metrics: read when scraped, bumped once per transaction.
        self.messages_stored = 0
        self.failed_batches = 0
        self.batch_sizes = [0] * (MAX_BATCH.bit_length() + 1)  # index: the batch size's bit length

    @property
    def queue_depth(self) -> int:
        return len(self._pending)

    async def start(self) -> None:
        await self.allocator.start(self.conn)
        self._task = asyncio.create_task(self._run(), name="payambar-writer")

    async def stop(self) -> None:
        """Commits what is queued, then ends the writer."""
        self._stopping = True
        self._wake.set()
        if self._task:
            await self._task

    def submit(self, operation: Operation) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        if self._stopping:
            future.set_exception(Unavailable("The server is shutting down."))
            return future
        self._pending.append((operation, future))
        self._wake.set()
        return future

    async def run(self, operation: Operation) -> Any:
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

    async def _commit(self, entries: list[tuple[Operation, asyncio.Future]]) -> None:
        try:
            outcomes, committed = await self._transaction([operation for operation, _ in entries])
        except Exception as error:
            self.failed_batches += 1
            if len(entries) > 1 or not _is_constraint_error(error):
                log.warning("a batch of %d failed (%s); committing its operations one by one", len(entries), error)
            outcomes, committed = [], []
            for operation, _ in entries:
                try:
                    single_outcomes, single_committed = await self._transaction([operation], careful=True)
                except StoreError as error:
                    single_outcomes, single_committed = [error], []
                except Exception as error:  # reported to the one caller it belongs to
                    single_outcomes, single_committed = [Unavailable.from_error(error)], []
                outcomes.extend(single_outcomes)
                committed.extend(single_committed)
        self.batches += 1
        self.operations += len(entries)
        self.batch_sizes[len(entries).bit_length()] += 1
        if committed:
            try:
                self.on_commit(committed)
            except Exception:
                log.exception("publishing committed changes failed")
        for (_, future), outcome in zip(entries, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    async def _transaction(self, operations: list[Operation], careful: bool = False) -> tuple[list, list[Committed]]:
        batch = Batch(self.conn, self.allocator, self.names, self.recent, careful)
        if not batch.careful and all(operation.in_memory for operation in operations):
            # Reads first (only this connection writes, so nothing changes meanwhile), then
            # one trip to the database thread for the whole transaction.
            await self.allocator.reserve(batch, sum(operation.new_messages for operation in operations))
            await _prepare(batch, operations)
            outcomes = await _apply(batch, operations)
            await self.conn.write_in_transaction(batch.take_steps())
        else:
            outcomes = await self._read_write_transaction(batch, operations)
        self.allocator.committed(batch)
        self._remember(batch)
        return outcomes, batch.committed

    async def _read_write_transaction(self, batch: Batch, operations: list[Operation]) -> list:
        """For batches that must read inside the transaction: edits, deletes, accounts, and
        every batch where other writers share the database."""
        await self.conn.begin_write()
        try:
            await self.allocator.reserve(batch, sum(operation.new_messages for operation in operations))
            await _prepare(batch, operations)
            outcomes = await _apply(batch, operations)
            await batch.flush()
            for sql, rows in self.allocator.closing_steps(batch):
                await self.conn.execute_many(sql, rows)
            await self.conn.execute("COMMIT")
        except BaseException:
            try:
                await self.conn.execute("ROLLBACK")
            except Unavailable:
                pass  # the connection is gone, and its transaction with it
            except Exception:
                log.warning("rollback failed; the connection is reset on its next use")
            raise
        return outcomes

    def _remember(self, batch: Batch) -> None:
        self.messages_stored += len(batch.new_client_ids)
        # Every change to a message goes through the batch's copy of its row (sends, receipts,
        # reads, edits, deletes), so after a commit those copies are what the database holds.
        if self.allocator.shared:
            return  # other writers change rows too: nothing may be trusted from memory
        self.recent.client_ids.update(batch.new_client_ids)
        _trim(self.recent.client_ids, RECENT)
        self.recent.messages.update(batch.messages)
        _trim(self.recent.messages, RECENT)


def _is_constraint_error(error: Exception) -> bool:
    text = str(error).lower()
    return "constraint" in text or "unique" in text


async def _apply(batch: Batch, operations: list[Operation]) -> list:
    outcomes: list = []
    for operation in operations:
        try:
            outcomes.append(await operation.apply(batch))
        except StoreError as refusal:  # refused before it wrote anything
            outcomes.append(refusal)
    return outcomes


async def _prepare(batch: Batch, operations: list[Operation]) -> None:
    """Reads, in a few queries for the whole batch, what its operations will look at."""
    message_ids: list[int] = []
    client_pairs: list[tuple[int, str]] = []
    users: list[int] = []
    unread_queries = []
    for operation in operations:
        message_ids.extend(operation.message_ids())
        pair = operation.client_pair()
        if pair is not None:
            client_pairs.append(pair)
        users.extend(operation.stream_users())
        query = operation.unread_query()
        if query is not None:
            unread_queries.append(query)
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
        users.append(row.sender_id)
        users.append(row.recipient_id)
    if users:
        await batch.load_seqs(users)
        await batch.load_names(users)
