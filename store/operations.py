"""Changes the writer applies: each checks what it must, then adds rows and notices to a batch.

An operation refuses (raises a StoreError) only before it has written anything, so a refusal
never disturbs the other operations of its batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from store.errors import Conflict, Forbidden, NotFound
from store.records import (
    DELETED,
    DELIVERED,
    EDITED,
    M_DELETED,
    M_EDITED,
    M_ID,
    M_RECIPIENT,
    M_SENDER,
    M_STATUS,
    M_TEXT,
    MESSAGE_COLUMNS,
    NEW_MESSAGE,
    READ,
    READ_BY_PEER,
    READ_BY_SELF,
    STATUS_CHANGE,
    ack_frame,
    dumps,
    message_dict,
    message_frame,
    now_ms,
)
from store.writer import Batch, Notice


@dataclass(slots=True)
class SendMessage:
    in_memory = True  # everything it checks is read before the transaction

    sender_id: int
    recipient_id: int
    text: str
    client_id: str
    reply_to: int | None
    origin: Any = None
    ref: Any = None

    @property
    def client_pair(self) -> tuple[int, str]:
        return (self.sender_id, self.client_id)

    @property
    def stream_users(self) -> tuple[int, int]:
        return (self.sender_id, self.recipient_id)

    async def apply(self, batch: Batch) -> tuple[dict, bool]:
        """(the message, whether it is new)."""
        existing = batch.client_ids.get(self.client_pair)
        if existing is not None:
            message = message_dict(existing, batch.names)
            if self.origin is not None:
                ack = ack_frame(self.ref, None, dumps(message))
                batch.notify(Notice(self.sender_id, None, None, self.origin, ack))
            return message, False
        row = [
            batch.new_message_id(),
            self.sender_id,
            self.recipient_id,
            self.client_id,
            self.text,
            self.reply_to,
            now_ms(),
            None,
            0,
            0,
        ]
        message_id = row[M_ID]
        batch.message_rows.append(tuple(row))
        batch.client_ids[self.client_pair] = row
        batch.new_client_ids.append((self.client_pair, message_id))
        batch.messages[message_id] = row
        batch.chat_rows.append((self.sender_id, self.recipient_id, message_id))
        if self.recipient_id != self.sender_id:
            batch.chat_rows.append((self.recipient_id, self.sender_id, message_id))
        message = message_dict(row, batch.names)
        message_json = dumps(message)
        sender_seq = batch.add_update(self.sender_id, NEW_MESSAGE, message_id)
        ack = ack_frame(self.ref, sender_seq, message_json) if self.origin is not None else None
        update = message_frame("message", sender_seq, message_json)
        batch.notify(Notice(self.sender_id, sender_seq, update, self.origin, ack))
        if self.recipient_id != self.sender_id:
            recipient_seq = batch.add_update(self.recipient_id, NEW_MESSAGE, message_id)
            update = message_frame("message", recipient_seq, message_json)
            batch.notify(Notice(self.recipient_id, recipient_seq, update))
        return message, True


@dataclass(slots=True)
class MarkDelivered:
    """A device of the recipient has these messages; ids that are not theirs are ignored."""

    in_memory = True

    user_id: int
    message_ids: list[int]

    async def apply(self, batch: Batch) -> list[int]:
        changed = []
        for message_id in self.message_ids:
            row = batch.messages.get(message_id)
            if row is None or row[M_RECIPIENT] != self.user_id or row[M_STATUS] >= DELIVERED or row[M_DELETED]:
                continue
            row[M_STATUS] = DELIVERED
            batch.status_rows.append((DELIVERED, message_id, DELIVERED))
            sender_id = row[M_SENDER]
            seq = batch.add_update(sender_id, STATUS_CHANGE, message_id)
            update = message_frame("status", seq, dumps(message_dict(row, batch.names)))
            batch.notify(Notice(sender_id, seq, update))
            changed.append(message_id)
        return changed


@dataclass(slots=True)
class MarkRead:
    """The reader has read everything the peer sent them up to a message id."""

    in_memory = True  # the unread ids it changes are read before the transaction

    reader_id: int
    peer_id: int
    up_to: int

    @property
    def stream_users(self) -> tuple[int, int]:
        return (self.reader_id, self.peer_id)

    @property
    def unread_query(self) -> tuple[str, tuple]:
        return (
            "SELECT id FROM messages WHERE recipient_id = ? AND sender_id = ? AND id <= ? AND status < ?"
            " AND withheld = 0",
            (self.reader_id, self.peer_id, self.up_to, READ),
        )

    async def apply(self, batch: Batch) -> int:
        changed = 0
        for message_id in batch.unread_ids.get(self.unread_query, ()):
            row = batch.messages[message_id]
            if row[M_STATUS] < READ:
                row[M_STATUS] = READ
                batch.status_rows.append((READ, message_id, READ))
                changed += 1
        if not changed:
            return self.up_to
        reader, peer = batch.names[self.reader_id], batch.names[self.peer_id]
        if self.peer_id != self.reader_id:
            seq = batch.add_update(self.peer_id, READ_BY_PEER, self.up_to, self.reader_id)
            update = {"type": "read", "seq": seq, "peer": reader, "reader": reader, "up_to": self.up_to}
            batch.notify(Notice(self.peer_id, seq, dumps(update)))
        seq = batch.add_update(self.reader_id, READ_BY_SELF, self.up_to, self.peer_id)
        update = {"type": "read", "seq": seq, "peer": peer, "reader": reader, "up_to": self.up_to}
        batch.notify(Notice(self.reader_id, seq, dumps(update)))
        return self.up_to


async def _own_message(batch: Batch, user_id: int, message_id: int) -> list:
    await batch.flush()
    row = await batch.conn.fetch_one(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,))
    if row is None or user_id not in (row[M_SENDER], row[M_RECIPIENT]):
        raise NotFound("No such message.", "message_not_found")
    if row[M_SENDER] != user_id:
        raise Forbidden("Only the sender can change a message.")
    if row[M_DELETED]:
        raise Conflict("The message was deleted.", "message_deleted")
    await batch.load_seqs((row[M_SENDER], row[M_RECIPIENT]))
    await batch.load_names((row[M_SENDER], row[M_RECIPIENT]))
    return list(row)


def _tell_both(batch: Batch, row: list, kind: int, kind_name: str) -> dict:
    message = message_dict(row, batch.names)
    message_json = dumps(message)
    for user_id in {row[M_SENDER], row[M_RECIPIENT]}:
        seq = batch.add_update(user_id, kind, row[M_ID])
        batch.notify(Notice(user_id, seq, message_frame(kind_name, seq, message_json)))
    batch.messages[row[M_ID]] = row
    return message


@dataclass(slots=True)
class EditMessage:
    user_id: int
    message_id: int
    text: str

    async def apply(self, batch: Batch) -> dict:
        row = await _own_message(batch, self.user_id, self.message_id)
        row[M_TEXT] = self.text
        row[M_EDITED] = now_ms()
        await batch.conn.execute(
            "UPDATE messages SET text = ?, edited_at = ? WHERE id = ?", (row[M_TEXT], row[M_EDITED], row[M_ID])
        )
        return _tell_both(batch, row, EDITED, "edit")


@dataclass(slots=True)
class DeleteMessage:
    user_id: int
    message_id: int

    async def apply(self, batch: Batch) -> dict:
        row = await _own_message(batch, self.user_id, self.message_id)
        row[M_TEXT] = ""
        row[M_DELETED] = 1
        await batch.conn.execute("UPDATE messages SET text = '', deleted = 1 WHERE id = ?", (row[M_ID],))
        return _tell_both(batch, row, DELETED, "delete")


@dataclass(slots=True)
class CreateUser:
    username: str
    display_name: str
    password_hash: str

    async def apply(self, batch: Batch) -> tuple:
        key = self.username.lower()
        taken = await batch.conn.fetch_value("SELECT id FROM users WHERE username_key = ?", (key,))
        if taken is not None:
            raise Conflict("That username is taken.", "username_taken")
        row = (batch.new_user_id(), self.username, key, self.display_name, "", self.password_hash, now_ms(), None)
        await batch.conn.execute(
            "INSERT INTO users (id, username, username_key, display_name, bio, password_hash, created_at, last_seen)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )
        batch.writer.seqs[row[0]] = 0
        user_id, username, _key, display_name, bio, _hash, created_at, last_seen = row
        return (user_id, username, display_name, bio, created_at, last_seen)


@dataclass(slots=True)
class CreateSession:
    session_id: str
    user_id: int
    expires_at: int

    async def apply(self, batch: Batch) -> None:
        await batch.conn.execute(
            "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (self.session_id, self.user_id, now_ms(), self.expires_at),
        )


@dataclass(slots=True)
class ExtendSession:
    session_id: str
    expires_at: int

    async def apply(self, batch: Batch) -> None:
        await batch.conn.execute(
            "UPDATE sessions SET expires_at = ? WHERE id = ? AND revoked_at IS NULL", (self.expires_at, self.session_id)
        )


@dataclass(slots=True)
class RevokeSessions:
    """Revokes one session, or every session of a user except one."""

    user_id: int
    session_id: str | None = None
    keep_session_id: str | None = None

    async def apply(self, batch: Batch) -> list[str]:
        if self.session_id is not None:
            ids = [self.session_id]
        else:
            rows = await batch.conn.fetch_all(
                "SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND id <> ?",
                (self.user_id, self.keep_session_id or ""),
            )
            ids = [row[0] for row in rows]
        revoked_at = now_ms()
        await batch.conn.execute_many(
            "UPDATE sessions SET revoked_at = ? WHERE id = ? AND user_id = ?",
            [(revoked_at, session_id, self.user_id) for session_id in ids],
        )
        return ids


@dataclass(slots=True)
class UpdateProfile:
    user_id: int
    changes: dict[str, str] = field(default_factory=dict)

    async def apply(self, batch: Batch) -> None:
        for column in ("display_name", "bio", "password_hash"):
            if column in self.changes:
                await batch.conn.execute(
                    f"UPDATE users SET {column} = ? WHERE id = ?", (self.changes[column], self.user_id)
                )


@dataclass(slots=True)
class SetLastSeen:
    user_id: int
    last_seen: int

    async def apply(self, batch: Batch) -> None:
        await batch.conn.execute("UPDATE users SET last_seen = ? WHERE id = ?", (self.last_seen, self.user_id))
