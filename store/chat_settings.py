"""A person's own settings of each of their chats: pinned (newest pin first), muted until a
time, archived, marked unread. Only the owner sees them; every change is a `chat_settings`
update in the owner's stream, so their other devices follow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from store.core import StoreCore
from store.errors import Conflict
from store.operations import Operation
from store.rows import UpdateKind, now_ms

if TYPE_CHECKING:
    from store.batch import Batch

MAX_PINNED = 10
MUTED_ALWAYS = 253_402_300_799_000  # 9999-12-31T23:59:59Z: muted until unmuted
SETTINGS_COLUMNS = "pinned_at, muted_until, archived, marked_unread"


@dataclass(slots=True, frozen=True)
class ChatSettings:
    pinned_at: int | None = None  # ms; pinned chats come first, the newest pin on top
    muted_until: int | None = None  # ms; no push for the chat's messages before then
    archived: bool = False
    marked_unread: bool = False


@dataclass(slots=True)
class ChangeChatSettings(Operation):
    """Sets what `changes` names (pinned, muted_until, archived, marked_unread) of the user's chat
    with the peer; the settings after, and whether anything changed."""

    user_id: int
    peer_id: int
    changes: dict

    async def apply(self, batch: Batch) -> tuple[ChatSettings, bool]:
        await batch.flush()
        before = await _settings(batch.conn, self.user_id, self.peer_id)
        after = await self._after(batch, before)
        if after == before:
            return after, False
        await batch.conn.execute(
            "DELETE FROM chat_settings WHERE user_id = ? AND peer_id = ?", (self.user_id, self.peer_id)
        )
        if after != ChatSettings():
            await batch.conn.execute(
                f"INSERT INTO chat_settings (user_id, peer_id, {SETTINGS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (self.user_id, self.peer_id, after.pinned_at, after.muted_until, int(after.archived),
                 int(after.marked_unread)),
            )  # fmt: skip
        await batch.load_seqs((self.user_id,))
        batch.add_update(self.user_id, UpdateKind.CHAT_SETTINGS, None, 0, self.peer_id)
        return after, True

    async def _after(self, batch: Batch, before: ChatSettings) -> ChatSettings:
        changes = self.changes
        pinned_at = before.pinned_at
        if "pinned" in changes and changes["pinned"] != (pinned_at is not None):
            if changes["pinned"]:
                pinned = await batch.conn.fetch_value(
                    "SELECT COUNT(*) FROM chat_settings WHERE user_id = ? AND pinned_at IS NOT NULL", (self.user_id,)
                )
                if pinned >= MAX_PINNED:
                    raise Conflict(f"At most {MAX_PINNED} chats may be pinned; unpin one first.", "too_many_pinned")
                pinned_at = now_ms()
            else:
                pinned_at = None
        return ChatSettings(
            pinned_at,
            changes.get("muted_until", before.muted_until),
            bool(changes.get("archived", before.archived)),
            bool(changes.get("marked_unread", before.marked_unread)),
        )


async def _settings(conn, user_id: int, peer_id: int) -> ChatSettings:
    row = await conn.fetch_one(
        f"SELECT {SETTINGS_COLUMNS} FROM chat_settings WHERE user_id = ? AND peer_id = ?", (user_id, peer_id)
    )
    return ChatSettings() if row is None else _from_row(row)


def _from_row(row) -> ChatSettings:
    return ChatSettings(row[0], row[1], bool(row[2]), bool(row[3]))


class ChatSettingsQueries(StoreCore):
    """The store's side of per-chat settings (a part of Store)."""

    async def change_chat_settings(self, user_id: int, peer_id: int, changes: dict) -> tuple[ChatSettings, bool]:
        return await self.writer.run(ChangeChatSettings(user_id, peer_id, changes))

    async def chat_settings(self, user_id: int) -> dict[int, ChatSettings]:
        """The user's settings by peer id; a chat left out has the defaults."""
        async with self.connections.reader() as conn:
            rows = await conn.fetch_all(
                f"SELECT peer_id, {SETTINGS_COLUMNS} FROM chat_settings WHERE user_id = ?", (user_id,)
            )
        return {row[0]: _from_row(row[1:]) for row in rows}

    async def muted_until(self, user_id: int, peer_username: str) -> int | None:
        """Until when the user muted their chat with the person of that username (ms), or None."""
        async with self.connections.reader() as conn:
            return await conn.fetch_value(
                "SELECT s.muted_until FROM chat_settings s JOIN users u ON u.id = s.peer_id"
                " WHERE s.user_id = ? AND u.username = ?",
                (user_id, peer_username),
            )
