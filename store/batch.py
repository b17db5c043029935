"""One transaction's worth of changes: the rows to write, the allocations made for them, and
what to report once they are committed."""

from __future__ import annotations

from dataclasses import dataclass, field

from store import reads
from store.dialects.base import Steps
from store.rows import MESSAGE_COLUMNS, UPDATE_COLUMNS, Committed, Message, Update, UpdateKind
from store.search import SearchRows

INSERT_MESSAGE = f"INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES ({', '.join('?' * len(MESSAGE_COLUMNS.split(',')))})"
UPSERT_CHAT = (
    "INSERT INTO chats (user_id, peer_id, last_message_id) VALUES (?, ?, ?)"
    " ON CONFLICT (user_id, peer_id) DO UPDATE SET last_message_id = excluded.last_message_id"
)
RAISE_STATUS = "UPDATE messages SET status = ? WHERE id = ? AND status < ?"


@dataclass(slots=True)
class Recent:
    """The writer's memory of what it committed lately, which a fast batch trusts."""

    client_ids: dict[tuple[int, str], int] = field(default_factory=dict)  # (sender, client_id) -> message id
    messages: dict[int, Message] = field(default_factory=dict)  # message id -> row as committed


INSERT_UPDATE = f"INSERT INTO updates ({UPDATE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"


class Batch:
    def __init__(self, conn, allocator, names: dict[int, str], recent: Recent, careful: bool = False) -> None:
        self.allocator = allocator
        # A careful batch reads everything it checks from the database; a fast one trusts the
        # memory of recent sends and lets the unique index catch the rest (then retries carefully).
        self.careful = careful or allocator.shared
        self.conn = conn
        self.names = names
        self.recent = recent
        self.message_rows: list[tuple] = []
        self.chat_rows: list[tuple] = []
        self.status_rows: list[tuple] = []
        self.update_rows: list[tuple] = []
        self.committed: list[Committed] = []
        self.search = SearchRows()  # index changes, written with the rows above
        self.messages: dict[int, Message] = {}  # rows read or written in this batch, by id
        self.client_ids: dict[tuple[int, str], Message] = {}  # (sender_id, client_id) -> row
        self.new_client_ids: list[tuple[tuple[int, str], int]] = []  # sends stored by this batch
        self.unread_ids: dict[tuple, list[int]] = {}  # a read receipt's query -> the ids it changes
        self.seqs: dict[int, int] = {}  # each touched user's newest seq in this transaction
        self.seqs_loaded: dict[int, int] = {}
        self.next_message_id = 0
        self.next_user_id = 0
        self.reserved_message_ids: list[int] = []

    def new_message_id(self) -> int:
        return self.allocator.new_message_id(self)

    async def new_user_id(self) -> int:
        return await self.allocator.new_user_id(self)

    async def load_seqs(self, user_ids) -> None:
        await self.allocator.load_seqs(self, user_ids)

    async def load_names(self, user_ids) -> None:
        missing = [u for u in set(user_ids) if u not in self.names]
        if missing:
            for user_id, username in await reads.usernames(self.conn, missing):
                self.names[user_id] = username

    def add_update(
        self,
        user_id: int,
        kind: UpdateKind,
        message: Message | None,
        message_id: int | None = None,
        peer_id: int | None = None,
        origin: str | None = None,
        ref: object = None,
    ) -> int:
        """Appends to the user's stream (its seq must be loaded), to be reported after commit."""
        seq = self.seqs[user_id] + 1
        self.seqs[user_id] = seq
        if message_id is None:
            if message is None:
                raise ValueError("An update without its message names the message id.")
            message_id = message.id
        self.update_rows.append((user_id, seq, int(kind), message_id, peer_id))
        update = Update(user_id, seq, kind, message_id, peer_id, message)
        self.committed.append(Committed(user_id, update, message, origin, ref))
        return seq

    def acknowledge(self, user_id: int, message: Message, origin: str | None, ref: object) -> None:
        """A change that wrote nothing new, reported to the connection that asked only."""
        if origin is not None:
            self.committed.append(Committed(user_id, None, message, origin, ref))

    async def fetch_messages(self, ids) -> None:
        """Puts into self.messages the rows of these ids: copies of recent ones, the rest read
        (and locked, where other writers may change them meanwhile)."""
        recent = {} if self.careful else self.recent.messages
        wanted = []
        for message_id in set(ids):
            if message_id in self.messages:
                continue
            row = recent.get(message_id)
            if row is None:
                wanted.append(message_id)
            else:
                self.messages[message_id] = row.copy()
        lock = " ORDER BY id FOR UPDATE" if self.allocator.shared else ""
        for start in range(0, len(wanted), 500):
            chunk = sorted(wanted[start : start + 500])
            sql = f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id IN ({','.join('?' * len(chunk))}){lock}"
            for row in await self.conn.fetch_all(sql, chunk):
                self.messages[row[0]] = Message(*row)

    async def fetch_client_ids(self, pairs: list[tuple[int, str]]) -> None:
        """Puts into self.client_ids the stored messages with these (sender, client_id) pairs:
        from memory in a fast batch, from the database in a careful one."""
        wanted = [p for p in set(pairs) if p not in self.client_ids]
        if not wanted:
            return
        if not self.careful:
            recent = self.recent.client_ids
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
            message = Message(*row)
            self.client_ids[(message.sender_id, message.client_id)] = message

    def take_steps(self) -> Steps:
        """The buffered rows as (statement, rows) steps, emptying the buffers."""
        steps: Steps = [
            (INSERT_MESSAGE, self.message_rows),
            (UPSERT_CHAT, self.chat_rows),
            (RAISE_STATUS, self.status_rows),
            (INSERT_UPDATE, self.update_rows),
        ]
        self.message_rows, self.chat_rows, self.status_rows, self.update_rows = [], [], [], []
        return [(sql, rows) for sql, rows in steps if rows] + self.search.take_steps(self.conn.dialect)

    async def flush(self) -> None:
        """Writes the buffered rows inside the open transaction."""
        for sql, rows in self.take_steps():
            await self.conn.execute_many(sql, rows)
