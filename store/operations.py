"""Changes the writer applies: each checks what it must, then adds rows and updates to a batch.

Every operation is an `Operation`: it declares what it will read (so one batch reads for all of
its operations at once) and applies itself. An operation refuses (raises a StoreError) only
before it has written anything, so a refusal never disturbs the other operations of its batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from store import search
from store.errors import Conflict, Forbidden, NotFound
from store.rows import MESSAGE_COLUMNS, Message, Status, UpdateKind, User, now_ms

if TYPE_CHECKING:
    from store.batch import Batch


class Operation:
    """The contract between an operation and the writer."""

    __slots__ = ()
    in_memory: ClassVar[bool] = False  # all it checks is read by `prepare`: may take the fast path
    new_messages: ClassVar[int] = 0  # message ids it may need

    def message_ids(self) -> Iterable[int]:
        """Messages whose rows it reads."""
        return ()

    def client_pair(self) -> tuple[int, str] | None:
        """The (sender, client_id) whose stored message it looks for."""
        return None

    def stream_users(self) -> Iterable[int]:
        """Users whose update stream it may append to."""
        return ()

    def unread_query(self) -> tuple[str, tuple] | None:
        """A query for the ids it changes, read before it applies."""
        return None

    async def apply(self, batch: Batch) -> Any:
        raise NotImplementedError


@dataclass(slots=True)
class SendMessage(Operation):
    in_memory: ClassVar[bool] = True
    new_messages: ClassVar[int] = 1

    sender_id: int
    recipient_id: int
    text: str
    client_id: str
    reply_to: int | None
    origin: str | None = None
    ref: Any = None
    forwarded_from: str | None = None
    file_id: str | None = None
    attachment: str | None = None  # the file object as JSON
    envelope: bytes | None = None  # an end-to-end encrypted message (text is then empty)
    call: str | None = None  # a call history entry: the call's record as JSON
    status: int = Status.SENT  # a call the recipient answered or declined is stored read

    def client_pair(self) -> tuple[int, str]:
        return (self.sender_id, self.client_id)

    def stream_users(self) -> tuple[int, int]:
        return (self.sender_id, self.recipient_id)

    async def apply(self, batch: Batch) -> tuple[Message, bool]:
        """(the message, whether it is new)."""
        message, is_new = self.store_for_sender(batch)
        if not is_new:
            return message, False
        batch.search.added(message)
        if self.recipient_id != self.sender_id:
            batch.chat_rows.append((self.recipient_id, self.sender_id, message.id))
            batch.add_update(self.recipient_id, UpdateKind.MESSAGE, message)
        return message, True

    def store_for_sender(self, batch: Batch) -> tuple[Message, bool]:
        """The message in the sender's chat and stream, or the stored one a retry names."""
        existing = batch.client_ids.get(self.client_pair())
        if existing is not None:
            batch.acknowledge(self.sender_id, existing, self.origin, self.ref)
            return existing, False
        message = Message(
            batch.new_message_id(), self.sender_id, self.recipient_id, self.client_id, self.text,
            self.reply_to, now_ms(), None, 0, self.status, self.forwarded_from, self.file_id, self.attachment,
            self.envelope, self.call,
        )  # fmt: skip
        batch.message_rows.append(message.values())
        batch.client_ids[self.client_pair()] = message
        batch.new_client_ids.append((self.client_pair(), message.id))
        batch.messages[message.id] = message
        batch.chat_rows.append((self.sender_id, self.recipient_id, message.id))
        batch.add_update(self.sender_id, UpdateKind.MESSAGE, message, origin=self.origin, ref=self.ref)
        return message, True


@dataclass(slots=True)
class MarkDelivered(Operation):
    """A device of the recipient has these messages; ids that are not theirs are ignored."""

    in_memory: ClassVar[bool] = True

    user_id: int
    ids: list[int]

    def message_ids(self) -> list[int]:
        return self.ids

    async def apply(self, batch: Batch) -> list[int]:
        changed = []
        for message_id in self.ids:
            row = batch.messages.get(message_id)
            if row is None or row.recipient_id != self.user_id or row.status >= Status.DELIVERED or row.deleted:
                continue
            row.status = Status.DELIVERED
            batch.status_rows.append((Status.DELIVERED, message_id, Status.DELIVERED))
            batch.add_update(row.sender_id, UpdateKind.STATUS, row.copy())
            changed.append(message_id)
        return changed


@dataclass(slots=True)
class MarkRead(Operation):
    """The reader has read everything the peer sent them up to a message id."""

    in_memory: ClassVar[bool] = True  # the unread ids it changes are read before the transaction

    reader_id: int
    peer_id: int
    up_to: int
    tell_peer: bool = True  # False across a block (either way): the peer gets no read receipt

    def stream_users(self) -> tuple[int, int]:
        return (self.reader_id, self.peer_id)

    def unread_query(self) -> tuple[str, tuple]:
        return (
            "SELECT id FROM messages WHERE recipient_id = ? AND sender_id = ? AND id <= ? AND status < ?"
            " AND withheld = 0",
            (self.reader_id, self.peer_id, self.up_to, int(Status.READ)),
        )

    async def apply(self, batch: Batch) -> int:
        changed = 0
        status = Status.READ if self.tell_peer else Status.READ_QUIETLY
        for message_id in batch.unread_ids.get(self.unread_query(), ()):
            row = batch.messages[message_id]
            if row.status < Status.READ:
                row.status = status
                batch.status_rows.append((status, message_id, Status.READ))
                changed += 1
        if not changed:
            return self.up_to
        if self.peer_id != self.reader_id and self.tell_peer:
            batch.add_update(self.peer_id, UpdateKind.READ_BY_PEER, None, self.up_to, self.reader_id)
        batch.add_update(self.reader_id, UpdateKind.READ_BY_SELF, None, self.up_to, self.peer_id)
        return self.up_to


async def _message_of_chat(batch: Batch, user_id: int, message_id: int, own: bool = False) -> tuple[Message, bool]:
    """A message of the user's chat (not deleted; with `own`, one the user sent, to change it),
    and whether it is withheld from its recipient, who is told there is no such message; the
    chat's streams and names loaded."""
    await batch.flush()
    lock = " FOR UPDATE" if batch.allocator.shared else ""
    row = await batch.conn.fetch_one(
        f"SELECT {MESSAGE_COLUMNS}, withheld FROM messages WHERE id = ?{lock}", (message_id,)
    )
    if row is None or user_id not in (row[1], row[2]):
        raise NotFound("No such message.", "message_not_found")
    message, withheld = Message(*row[:-1]), bool(row[-1])
    if own and message.sender_id != user_id:
        raise Forbidden("Only the sender can change a message.")
    if not own and withheld and user_id == message.recipient_id:
        raise NotFound("No such message.", "message_not_found")
    if message.deleted:
        raise Conflict("The message was deleted.", "message_deleted")
    await batch.load_seqs((message.sender_id, message.recipient_id))
    await batch.load_names((message.sender_id, message.recipient_id))
    return message, withheld


def _tell_both(batch: Batch, message: Message, kind: UpdateKind) -> Message:
    for user_id in {message.sender_id, message.recipient_id}:
        batch.add_update(user_id, kind, message)
    batch.messages[message.id] = message
    return message


@dataclass(slots=True)
class EditMessage(Operation):
    """New text, or for an encrypted message a new envelope (text "")."""

    user_id: int
    message_id: int
    text: str
    envelope: bytes | None = None

    async def apply(self, batch: Batch) -> Message:
        message, _ = await _message_of_chat(batch, self.user_id, self.message_id, own=True)
        message.text = self.text
        message.envelope = self.envelope
        message.edited_at = now_ms()
        await batch.conn.execute(
            "UPDATE messages SET text = ?, envelope = ?, edited_at = ? WHERE id = ?",
            (message.text, message.envelope, message.edited_at, message.id),
        )
        batch.search.changed(message)
        return _tell_both(batch, message, UpdateKind.EDIT)


@dataclass(slots=True)
class DeleteMessage(Operation):
    user_id: int
    message_id: int

    async def apply(self, batch: Batch) -> Message:
        message, _ = await _message_of_chat(batch, self.user_id, self.message_id, own=True)
        message.text = ""
        message.deleted = 1
        message.attachment = None  # the file goes with it (file_id stays: access checks read it)
        message.envelope = None  # and so does the ciphertext
        message.reactions = None  # and its reactions and pin
        message.pinned_at = None
        await batch.conn.execute(
            "UPDATE messages SET text = '', deleted = 1, attachment = NULL, envelope = NULL, reactions = NULL,"
            " pinned_at = NULL WHERE id = ?",
            (message.id,),
        )
        batch.search.changed(message)
        return _tell_both(batch, message, UpdateKind.DELETE)


@dataclass(slots=True)
class CreateUser(Operation):
    username: str
    display_name: str
    password_hash: str

    async def apply(self, batch: Batch) -> User:
        key = self.username.lower()
        taken = await batch.conn.fetch_value("SELECT id FROM users WHERE username_key = ?", (key,))
        if taken is not None:
            raise Conflict("That username is taken.", "username_taken")
        user = User(await batch.new_user_id(), self.username, self.display_name, "", now_ms(), None)
        await batch.conn.execute(
            "INSERT INTO users (id, username, username_key, display_name, bio, password_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (user.id, user.username, key, user.display_name, user.bio, self.password_hash, user.created_at),
        )
        await search.index_user_name(batch.conn, user.id, user.display_name)
        batch.seqs[user.id] = 0
        batch.seqs_loaded[user.id] = 0
        return user


@dataclass(slots=True)
class CreateSession(Operation):
    session_id: str
    user_id: int
    expires_at: int

    async def apply(self, batch: Batch) -> None:
        await batch.conn.execute(
            "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (self.session_id, self.user_id, now_ms(), self.expires_at),
        )


@dataclass(slots=True)
class ExtendSession(Operation):
    session_id: str
    expires_at: int

    async def apply(self, batch: Batch) -> None:
        await batch.conn.execute(
            "UPDATE sessions SET expires_at = ? WHERE id = ? AND revoked_at IS NULL", (self.expires_at, self.session_id)
        )


@dataclass(slots=True)
class RevokeSessions(Operation):
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
        # A session's push subscriptions (store/push.py) end with it.
        await batch.conn.execute_many("DELETE FROM push_subscriptions WHERE session_id = ?", [(i,) for i in ids])
        return ids


PROFILE_COLUMNS = ("display_name", "bio", "password_hash")


@dataclass(slots=True)
class UpdateProfile(Operation):
    user_id: int
    changes: dict[str, str] = field(default_factory=dict)

    async def apply(self, batch: Batch) -> None:
        for column in PROFILE_COLUMNS:
            if column in self.changes:
                await batch.conn.execute(
                    f"UPDATE users SET {column} = ? WHERE id = ?", (self.changes[column], self.user_id)
                )
        if "display_name" in self.changes:
            await search.index_user_name(batch.conn, self.user_id, self.changes["display_name"])


@dataclass(slots=True)
class SetLastSeen(Operation):
    user_id: int
    last_seen: int

    async def apply(self, batch: Batch) -> None:
        await batch.conn.execute("UPDATE users SET last_seen = ? WHERE id = ?", (self.last_seen, self.user_id))


MAX_PINNED_MESSAGES = 50  # per chat


@dataclass(slots=True)
class React(Operation):
    """A person's one reaction to a message of their chat, set or replaced (`reaction`: {emoji} or
    {envelope, client_id}) or taken back (None). Both people are told (a REACTION update of the
    message as it is now); a reaction across a block, or to a message withheld from its recipient,
    is told to its writer only and shown to nobody else."""

    user_id: int
    message_id: int
    reaction: dict | None
    withheld: bool = False

    async def apply(self, batch: Batch) -> Message:
        message, message_withheld = await _message_of_chat(batch, self.user_id, self.message_id)
        reactions = [each for each in _reactions(message) if each["user_id"] != self.user_id]
        quiet = self.withheld or message_withheld
        if self.reaction is not None:
            entry = {"user_id": self.user_id, **self.reaction, "at": now_ms()}
            if quiet:
                entry["withheld"] = True
            reactions.append(entry)
        message.reactions = orjson.dumps(reactions).decode() if reactions else None
        await batch.conn.execute("UPDATE messages SET reactions = ? WHERE id = ?", (message.reactions, message.id))
        batch.messages[message.id] = message
        for user_id in {self.user_id} if quiet else {message.sender_id, message.recipient_id}:
            batch.add_update(user_id, UpdateKind.REACTION, message, peer_id=self.user_id)  # who reacted
        return message


@dataclass(slots=True)
class Pin(Operation):
    """Pins (or unpins) a message in its chat, for both people; at most MAX_PINNED_MESSAGES at once."""

    user_id: int
    message_id: int
    pinned: bool

    async def apply(self, batch: Batch) -> Message:
        message, withheld = await _message_of_chat(batch, self.user_id, self.message_id)
        if withheld:  # a message its recipient never got is not theirs to see pinned
            raise Conflict("A message the other person did not receive cannot be pinned.", "not_delivered")
        if self.pinned == (message.pinned_at is not None):
            return message
        if self.pinned:
            count = await batch.conn.fetch_value(
                "SELECT COUNT(*) FROM messages WHERE ((sender_id = ? AND recipient_id = ?)"
                " OR (sender_id = ? AND recipient_id = ?)) AND pinned_at IS NOT NULL AND deleted = 0",
                (message.sender_id, message.recipient_id, message.recipient_id, message.sender_id),
            )
            if count >= MAX_PINNED_MESSAGES:
                raise Conflict(f"At most {MAX_PINNED_MESSAGES} messages may be pinned in a chat.", "too_many_pinned")
        message.pinned_at = now_ms() if self.pinned else None
        await batch.conn.execute("UPDATE messages SET pinned_at = ? WHERE id = ?", (message.pinned_at, message.id))
        return _tell_both(batch, message, UpdateKind.PIN)


def _reactions(message: Message) -> list[dict]:
    return orjson.loads(message.reactions) if message.reactions else []
