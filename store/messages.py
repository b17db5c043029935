"""Chats: sending, receipts, edits and deletes (through the writer), and the reads of history
and the chat list."""

from __future__ import annotations

from store import operations, reads, search
from store.core import StoreCore
from store.rows import Chat, Message


class MessageQueries(StoreCore):
    async def send_message(self, operation: operations.SendMessage) -> tuple[Message, bool]:
        return await self.writer.run(operation)

    async def message_in_chat(self, message_id: int, user_id: int, peer_id: int) -> bool:
        async with self.connections.reader() as conn:
            message = await reads.message(conn, message_id)
        return message is not None and {message.sender_id, message.recipient_id} == {user_id, peer_id}

    async def message_parties(self, message_id: int) -> tuple[int, int] | None:
        """(sender, recipient) of a message, None when there is none."""
        async with self.connections.reader() as conn:
            message = await reads.message(conn, message_id)
        return None if message is None else (message.sender_id, message.recipient_id)

    async def edit_message(self, user_id: int, message_id: int, text: str, envelope: bytes | None = None) -> Message:
        return await self.writer.run(operations.EditMessage(user_id, message_id, text, envelope))

    async def delete_message(self, user_id: int, message_id: int) -> Message:
        return await self.writer.run(operations.DeleteMessage(user_id, message_id))

    async def react(self, user_id: int, message_id: int, reaction: dict | None, withheld: bool = False) -> Message:
        return await self.writer.run(operations.React(user_id, message_id, reaction, withheld))

    async def pin_message(self, user_id: int, message_id: int, pinned: bool) -> Message:
        return await self.writer.run(operations.Pin(user_id, message_id, pinned))

    async def pinned_messages(self, user_id: int, peer_id: int) -> list[Message]:
        """The chat's pinned messages the user sees, the newest pin first; names loaded."""
        async with self.connections.reader() as conn:
            rows = await reads.pinned(conn, user_id, peer_id)
        await self.load_names((user_id, peer_id))
        return rows

    async def mark_delivered(self, user_id: int, message_ids: list[int]) -> list[int]:
        return await self.writer.run(operations.MarkDelivered(user_id, message_ids))

    async def mark_read_up_to(self, reader_id: int, peer_id: int, up_to: int, tell_peer: bool = True) -> int:
        return await self.writer.run(operations.MarkRead(reader_id, peer_id, up_to, tell_peer))

    async def history(self, user_id: int, peer_id: int, before: int | None, limit: int) -> tuple[list[Message], bool]:
        """A page of the chat, oldest first, and whether older messages exist; names loaded."""
        async with self.connections.reader() as conn:
            rows = await reads.history(conn, user_id, peer_id, before or 2**62, limit + 1)
        await self.load_names((user_id, peer_id))
        return rows[:limit][::-1], len(rows) > limit

    async def history_after(
        self, user_id: int, peer_id: int, after: int, before: int | None, limit: int
    ) -> tuple[list[Message], bool]:
        """A page of the chat newer than `after` (and older than `before`), oldest first, and whether
        more such newer messages exist; names loaded."""
        async with self.connections.reader() as conn:
            rows = await reads.history_after(conn, user_id, peer_id, after, before or 2**62, limit + 1)
        await self.load_names((user_id, peer_id))
        return rows[:limit], len(rows) > limit

    async def conversations(self, user_id: int, limit: int) -> list[Chat]:
        """The user's chats, most recent first; names loaded."""
        async with self.connections.reader() as conn:
            rows, hidden = await reads.chats_and_unread(conn, user_id, limit)
            if hidden:  # a chat whose newest message the user hid shows its newest visible one
                rows = await _without_hidden(conn, user_id, rows, hidden)
        await self.load_names([user_id] + [row[0].id for row in rows])
        return [Chat(*row) for row in rows]

    async def search_messages(
        self, user_id: int, peer_id: int | None, text: str, before: int | None, limit: int
    ) -> tuple[list[Message], bool]:
        """Messages of the user's chats matching the text, newest first, whether more match; names loaded."""
        async with self.connections.reader() as conn:
            found = await search.search(conn, user_id, peer_id, text, before or 2**62, limit + 1)
        await self.load_names({user_id, *(m.sender_id for m in found), *(m.recipient_id for m in found)})
        return found[:limit], len(found) > limit


async def _without_hidden(conn, user_id: int, rows: list, hidden: set[int]) -> list:
    shown = []
    for peer, message, *unread in rows:
        if message.id in hidden:
            older = await reads.history(conn, user_id, peer.id, 2**62, 1)
            if not older:
                continue  # every message of the chat is hidden: the chat is left out
            message = older[0]
        shown.append((peer, message, *unread))
    return sorted(shown, key=lambda row: row[1].id, reverse=True)
