"""Delete for me: a message a user hides is gone from their own history, chat list and search
on all their devices (a `hide` update in their stream), and stays for the other person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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


class HiddenQueries:
    """The store's side of delete-for-me (a part of Store)."""

    async def hide_message(self, user_id: int, message_id: int) -> bool:
        """Whether the message was newly hidden; NotFound when it is not of the user's chats."""
        return await self.writer.run(HideMessage(user_id, message_id))

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
