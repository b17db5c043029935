"""Each user's update stream: the cursor's end, and the updates after a cursor."""

from __future__ import annotations

from store import reads
from store.core import StoreCore
from store.rows import Status, Update, UpdateKind, User

END = 2**62


class StreamQueries(StoreCore):
    async def last_seq(self, user_id: int) -> int:
        async with self.connections.reader() as conn:
            return await reads.last_seq(conn, user_id)

    async def user_and_last_seq(self, user_id: int) -> tuple[User | None, int]:
        async with self.connections.reader() as conn:
            return await reads.user_and_last_seq(conn, user_id)

    async def updates_after(self, user_id: int, after: int, limit: int = 500, up_to: int = END) -> list[Update]:
        """The user's updates after a cursor (and at most `up_to`), in order; names loaded."""
        async with self.connections.reader() as conn:
            updates = await reads.updates_between(conn, user_id, after, up_to, limit)
        wanted = {user_id}
        for update in updates:
            if update.peer_id is not None:
                wanted.add(update.peer_id)
            if update.message is not None:
                wanted.update((update.message.sender_id, update.message.recipient_id))
        await self.load_names(wanted)
        return updates


def undelivered(user_id: int, updates: list[Update]) -> list[int]:
    """Ids of messages in these updates that reached their recipient but are still only sent."""
    return [
        update.message.id
        for update in updates
        if update.kind == UpdateKind.MESSAGE
        and update.message is not None
        and update.message.recipient_id == user_id
        and update.message.sender_id != user_id
        and update.message.status == Status.SENT
        and not update.message.deleted
    ]
