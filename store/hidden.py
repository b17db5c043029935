"""Delete for me: a message a user hides is gone from their own history, chat list and search
on all their devices (a `hide` update in their stream), and stays for the other person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from store.core import StoreCore
from store.errors import NotFound
from store.operations import Operation
from store.reads import NOT_HIDDEN
from store.rows import MESSAGE_COLUMNS, Message, UpdateKind

if TYPE_CHECKING:
    from store.batch import Batch


@dataclass(slots=True)
class HideMessage(Operation):
    """Hides a message of one of the user's chats from the user; hiding it again changes nothing."""

    user_id: int
    message_id: int

    async def apply(self, batch: Batch) -> bool:
        await batch.flush()
        parties = await batch.conn.fetch_one(
            "SELECT sender_id, recipient_id FROM messages WHERE id = ?", (self.message_id,)
        )
        if parties is None or self.user_id not in parties:
            raise NotFound("No such message.", "message_not_found")
        already = await batch.conn.fetch_value(
            "SELECT 1 FROM hidden_messages WHERE user_id = ? AND message_id = ?", (self.user_id, self.message_id)
        )
        if already:
            return False
        await batch.conn.execute(
            "INSERT INTO hidden_messages (user_id, message_id) VALUES (?, ?)", (self.user_id, self.message_id)
        )
        await batch.load_seqs((self.user_id,))
        batch.add_update(self.user_id, UpdateKind.HIDE, None, self.message_id)
        return True


@dataclass(slots=True)
class ClearChat(Operation):
    """Hides every message of a chat up to now from the user, in one `clear` update; the newest id, or None."""

    user_id: int
    peer_id: int

    async def apply(self, batch: Batch) -> int | None:
        await batch.flush()
        pair = (self.user_id, self.peer_id, self.peer_id, self.user_id)
        newest = await batch.conn.fetch_value(
            "SELECT MAX(id) FROM messages"
            " WHERE (sender_id = ? AND recipient_id = ?) OR (sender_id = ? AND recipient_id = ?)",
            pair,
        )
        if newest is None:
            return None
        await batch.conn.execute(
            "INSERT INTO hidden_messages (user_id, message_id) SELECT ?, id FROM messages"
            " WHERE ((sender_id = ? AND recipient_id = ?) OR (sender_id = ? AND recipient_id = ?)) AND id <= ?"
            " AND id NOT IN (SELECT message_id FROM hidden_messages WHERE user_id = ?)",
            (self.user_id, *pair, newest, self.user_id),
        )
        await batch.load_seqs((self.user_id,))
        await batch.load_names((self.user_id, self.peer_id))
        batch.add_update(self.user_id, UpdateKind.CLEAR, None, newest, self.peer_id)
        return newest


class HiddenQueries(StoreCore):
    """The store's side of delete-for-me (a part of Store)."""

    async def hide_message(self, user_id: int, message_id: int) -> bool:
        """Whether the message was newly hidden; NotFound when it is not of the user's chats."""
        return await self.writer.run(HideMessage(user_id, message_id))

    async def clear_chat(self, user_id: int, peer_id: int) -> int | None:
        """Hides the chat's messages so far from the user; the newest message id (None: no messages)."""
        return await self.writer.run(ClearChat(user_id, peer_id))

    async def visible_message(self, message_id: int, user_id: int) -> Message | None:
        """The message when it is of one of the user's chats and they have not hidden it; names loaded."""
        async with self.connections.reader() as conn:
            row = await conn.fetch_one(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ? AND (sender_id = ? OR recipient_id = ?)"
                f" AND {NOT_HIDDEN}",
                (message_id, user_id, user_id, user_id),
            )
        if row is None:
            return None
        message = Message(*row)
        await self.load_names((message.sender_id, message.recipient_id))
        return message
