"""What the store hands out: named rows, never wire frames. Columns are declared once, here."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import IntEnum


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Status:
    """A message's status column: plain ints, as stored."""

    SENT = 0
    DELIVERED = 1
    READ = 2
    READ_QUIETLY = 3  # read across a block: read for the reader, still "delivered" to the sender


class UpdateKind(IntEnum):
    """Kinds of rows in a user's update stream (updates.kind)."""

    MESSAGE = 1
    STATUS = 2
    READ_BY_PEER = 3
    EDIT = 4
    DELETE = 5
    READ_BY_SELF = 6
    HIDE = 7  # the user deleted a message for themselves only (message_id names it)
    CHAT_SETTINGS = 8  # the user changed their settings of the chat with peer_id (message_id 0)
    CLEAR = 9  # the user cleared a chat for themselves: every message up to message_id (peer_id names the chat)
    REACTION = 10  # a reaction to the message was set, changed or taken back (the message carries them all)
    PIN = 11  # the message was pinned or unpinned in its chat, for both people


# Update kinds whose message_id names a message (the read kinds carry a read-up-to id instead).
MESSAGE_KINDS = (
    UpdateKind.MESSAGE,
    UpdateKind.STATUS,
    UpdateKind.EDIT,
    UpdateKind.DELETE,
    UpdateKind.REACTION,
    UpdateKind.PIN,
)

MESSAGE_COLUMNS = (
    "id, sender_id, recipient_id, client_id, text, reply_to, created_at, edited_at, deleted, status, forwarded_from,"
    " file_id, attachment, envelope, call_record, reactions, pinned_at"
)
USER_COLUMNS = "id, username, display_name, bio, created_at, last_seen, avatar"
UPDATE_COLUMNS = "user_id, seq, kind, message_id, peer_id"


def prefixed(columns: str, alias: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in columns.split(","))


@dataclass(slots=True)
class Message:
    id: int
    sender_id: int
    recipient_id: int
    client_id: str
    text: str
    reply_to: int | None
    created_at: int
    edited_at: int | None
    deleted: int
    status: int
    forwarded_from: str | None = None  # the username of the original author of a forwarded message
    file_id: str | None = None  # a file sent with it (media)
    attachment: str | None = None  # that file's object as JSON: files never change
    envelope: bytes | None = None  # an end-to-end encrypted message's bytes (text is then empty)
    call: str | None = None  # a call history entry's record as JSON (column call_record)
    reactions: str | None = None  # JSON list, one per person: {user_id, emoji | envelope + client_id, at, withheld?}
    pinned_at: int | None = None  # ms; pinned in its chat (for both people) since then

    def values(self) -> tuple:
        """The row in MESSAGE_COLUMNS order, for INSERT."""
        return (
            self.id,
            self.sender_id,
            self.recipient_id,
            self.client_id,
            self.text,
            self.reply_to,
            self.created_at,
            self.edited_at,
            self.deleted,
            self.status,
            self.forwarded_from,
            self.file_id,
            self.attachment,
            self.envelope,
            self.call,
            self.reactions,
            self.pinned_at,
        )

    def copy(self) -> Message:
        return Message(*self.values())


@dataclass(slots=True)
class User:
    id: int
    username: str
    display_name: str
    bio: str
    created_at: int
    last_seen: int | None
    avatar: str | None = None  # the profile photo's version


@dataclass(slots=True)
class Update:
    """One entry of a user's stream. `message` is the message as it is now (None for reads);
    for the read kinds `message_id` is the read-up-to id and `peer_id` the other side."""

    user_id: int
    seq: int
    kind: UpdateKind
    message_id: int
    peer_id: int | None = None
    message: Message | None = None


@dataclass(slots=True)
class Committed:
    """A change as the writer reports it once its transaction has committed.

    `update` is None for a retried send that changed nothing: only its `origin` hears of it,
    through an acknowledgement of `message`."""

    user_id: int
    update: Update | None
    message: Message | None = None
    origin: str | None = None  # the connection that asked for the change, opaque
    ref: object = None  # the asking frame's ref, echoed in its acknowledgement


@dataclass(slots=True)
class Chat:
    peer: User
    last_message: Message
    unread_count: int
    first_unread_id: int | None = None
