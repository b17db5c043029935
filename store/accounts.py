"""What an account controls about itself: its sessions and API tokens, whom it blocks, who may
see when it was last online, and its deletion. SQL for these lives here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from store.errors import Conflict, NotFound
from store.records import (
    DELETED,
    EDITED,
    M_DELETED,
    M_EDITED,
    M_ID,
    M_RECIPIENT,
    M_SENDER,
    M_TEXT,
    MESSAGE_COLUMNS,
    NEW_MESSAGE,
    USER_COLUMNS,
    ack_frame,
    dumps,
    iso,
    message_dict,
    message_frame,
    now_ms,
)
from store.writer import Notice

USER_COLUMNS_U = ", ".join(f"u.{column.strip()}" for column in USER_COLUMNS.split(","))

SESSION, TOKEN = "session", "token"
VISIBILITIES = ("everyone", "contacts", "nobody")


@dataclass(slots=True)
class DescribeSession:
    session_id: str
    kind: str
    name: str | None
    user_agent: str
    address: str

    async def apply(self, batch) -> None:
        await batch.conn.execute(
            "UPDATE sessions SET kind = ?, name = ?, user_agent = ?, address = ?, last_active = created_at"
            " WHERE id = ?",
            (self.kind, self.name, self.user_agent, self.address, self.session_id),
        )


@dataclass(slots=True)
class TouchSession:
    session_id: str
    address: str
    when: int

    async def apply(self, batch) -> None:
        await batch.conn.execute(
            "UPDATE sessions SET last_active = ?, address = ? WHERE id = ?", (self.when, self.address, self.session_id)
        )


def _session_dict(row, current_id: str | None) -> dict:
    session_id, _kind, name, user_agent, address, created_at, last_active = row
    return {
        "id": session_id,
        "name": name,
        "user_agent": user_agent or "",
        "address": address or "",
        "created_at": iso(created_at),
        "last_active": iso(last_active or created_at),
        "current": session_id == current_id,
    }


TOUCH_EVERY_MS = 60_000  # a session's last activity is written at most once a minute
TOUCHED_LIMIT = 100_000


class Accounts:
    """Reads and changes of the account's own settings, through the store's connections."""

    def __init__(self, store) -> None:
        self.store = store
        self._touched: dict[str, int] = {}  # session id -> when its activity was last written
        self._blocked: dict[int, set[int]] = {}  # blocker id -> the ids they block
        self._visibility: dict[int, str] = {}  # user id -> who may see their last seen
        self._mutual: set[tuple[int, int]] = set()  # (lower id, higher id) of chats both wrote in
        self._deleted: dict[int, int] = {}  # user id -> when the account was deleted

    async def load(self) -> None:
        """Reads the blocks into memory: every send and presence frame consults them."""
        async with self.store.connections.reader() as conn:
            rows = await conn.fetch_all("SELECT blocker_id, blocked_id FROM blocks")
            deleted = await conn.fetch_all("SELECT id, deleted_at FROM users WHERE deleted_at IS NOT NULL")
        for blocker_id, blocked_id in rows:
            self._blocked.setdefault(blocker_id, set()).add(blocked_id)
        self._deleted = dict(deleted)

    # ---- deleted accounts --------------------------------------------------------------------

    def is_deleted(self, user_id: int | None) -> bool:
        return user_id in self._deleted

    async def delete_account(self, user_id: int) -> list[int]:
        """Deletes the account; returns the ids of the people it had written to."""
        peers = await self.store.writer.run(DeleteAccount(user_id))
        self._deleted[user_id] = now_ms()
        self._blocked.pop(user_id, None)
        for blocked in self._blocked.values():
            blocked.discard(user_id)
        return peers

    async def release_username_if_due(self, user_id: int) -> bool:
        """Frees a deleted account's username once its reservation is over."""
        deleted_at = self._deleted.get(user_id)
        if deleted_at is None or now_ms() - deleted_at < RESERVED_MS:
            return False
        await self.store.writer.run(ReleaseUsername(user_id))
        return True

    # ---- blocks ----------------------------------------------------------------------------

    def blocks(self, blocker_id: int, blocked_id: int) -> bool:
        return blocked_id in self._blocked.get(blocker_id, ())

    async def block(self, blocker_id: int, blocked_id: int) -> None:
        await self.store.writer.run(Block(blocker_id, blocked_id))
        self._blocked.setdefault(blocker_id, set()).add(blocked_id)

    async def unblock(self, blocker_id: int, blocked_id: int) -> None:
        await self.store.writer.run(Unblock(blocker_id, blocked_id))
        self._blocked.get(blocker_id, set()).discard(blocked_id)

    async def blocked_users(self, blocker_id: int) -> list[tuple]:
        async with self.store.connections.reader() as conn:
            return await conn.fetch_all(
                f"SELECT {USER_COLUMNS_U} FROM blocks b JOIN users u ON u.id = b.blocked_id"
                " WHERE b.blocker_id = ? ORDER BY b.created_at DESC",
                (blocker_id,),
            )

    async def is_withheld(self, message_id: int) -> bool:
        async with self.store.connections.reader() as conn:
            return bool(await conn.fetch_value("SELECT withheld FROM messages WHERE id = ?", (message_id,)))

    # ---- who sees when you were last online ------------------------------------------------

    async def visibility(self, user_id: int) -> str:
        known = self._visibility.get(user_id)
        if known is None:
            async with self.store.connections.reader() as conn:
                known = await conn.fetch_value("SELECT last_seen_visibility FROM users WHERE id = ?", (user_id,))
            known = self._visibility[user_id] = known or "everyone"
        return known

    async def set_visibility(self, user_id: int, visibility: str) -> None:
        await self.store.writer.run(SetLastSeenVisibility(user_id, visibility))
        self._visibility[user_id] = visibility

    async def mutual(self, user_id: int, peer_ids: list[int]) -> set[int]:
        """The peers with whom the user has a chat in which both have written."""
        unknown = [p for p in peer_ids if (min(user_id, p), max(user_id, p)) not in self._mutual]
        if unknown:
            marks = ",".join("?" * len(unknown))
            async with self.store.connections.reader() as conn:
                wrote_to_me, i_wrote_to = await conn.fetch_several(
                    [
                        (
                            f"SELECT DISTINCT sender_id FROM messages WHERE recipient_id = ? AND withheld = 0"
                            f" AND sender_id IN ({marks})",
                            (user_id, *unknown),
                        ),
                        (
                            f"SELECT DISTINCT recipient_id FROM messages WHERE sender_id = ?"
                            f" AND recipient_id IN ({marks})",
                            (user_id, *unknown),
                        ),
                    ]
                )
            for peer_id in {row[0] for row in wrote_to_me} & {row[0] for row in i_wrote_to}:
                self._mutual.add((min(user_id, peer_id), max(user_id, peer_id)))  # stays true once true
        return {p for p in peer_ids if (min(user_id, p), max(user_id, p)) in self._mutual}

    async def may_see_last_seen(self, viewer_id: int, user_ids: list[int]) -> set[int]:
        """Which of these users let the viewer see their online state and last seen."""
        allowed, contacts_only = set(), []
        for user_id in user_ids:
            setting = await self.visibility(user_id)
            if self.blocks(user_id, viewer_id) or setting == "nobody":
                continue
            if setting == "everyone":
                allowed.add(user_id)
            else:
                contacts_only.append(user_id)
        if contacts_only:
            allowed |= await self.mutual(viewer_id, contacts_only)
        return allowed

    async def describe_session(self, session_id: str, kind: str, name: str | None, user_agent: str, address: str):
        await self.store.writer.run(DescribeSession(session_id, kind, name, user_agent, address))

    def touch_session(self, session_id: str, address: str) -> None:
        """Notes that the session was used now (written at most once a minute)."""
        now = now_ms()
        if now - self._touched.get(session_id, 0) < TOUCH_EVERY_MS:
            return
        if len(self._touched) >= TOUCHED_LIMIT:
            self._touched.clear()
        self._touched[session_id] = now
        future = self.store.submit(TouchSession(session_id, address, now))
        future.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def live_sessions(self, user_id: int, kind: str, current_id: str | None = None) -> list[dict]:
        async with self.store.connections.reader() as conn:
            rows = await conn.fetch_all(
                "SELECT id, kind, name, user_agent, address, created_at, last_active FROM sessions"
                " WHERE user_id = ? AND kind = ? AND revoked_at IS NULL AND expires_at > ?"
                " ORDER BY created_at DESC",
                (user_id, kind, now_ms()),
            )
        return [_session_dict(row, current_id) for row in rows]

    async def session_kind(self, user_id: int, session_id: str) -> str | None:
        """The kind of a live session of this user, or None when it is not one."""
        async with self.store.connections.reader() as conn:
            return await conn.fetch_value(
                "SELECT kind FROM sessions WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?",
                (session_id, user_id, now_ms()),
            )


# ---- blocks ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Block:
    blocker_id: int
    blocked_id: int

    async def apply(self, batch) -> None:
        await batch.conn.execute(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
            (self.blocker_id, self.blocked_id, now_ms()),
        )


@dataclass(slots=True)
class Unblock:
    blocker_id: int
    blocked_id: int

    async def apply(self, batch) -> None:
        await batch.conn.execute(
            "DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?", (self.blocker_id, self.blocked_id)
        )


@dataclass(slots=True)
class SetLastSeenVisibility:
    user_id: int
    visibility: str

    async def apply(self, batch) -> None:
        await batch.conn.execute(
            "UPDATE users SET last_seen_visibility = ? WHERE id = ?", (self.visibility, self.user_id)
        )


# ---- messages to someone who blocked their sender -----------------------------------------------


@dataclass(slots=True)
class WithheldSend:
    """A send to someone who blocks the sender: stored and acknowledged as usual, in the sender's
    chat and stream only. The recipient never gets it, nor any later change of it."""

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

    async def apply(self, batch) -> tuple[dict, bool]:
        existing = batch.client_ids.get(self.client_pair)
        if existing is not None:
            message = message_dict(existing, batch.names)
            if self.origin is not None:
                batch.notify(Notice(self.sender_id, None, None, self.origin, ack_frame(self.ref, None, dumps(message))))
            return message, False
        row = [batch.new_message_id(), self.sender_id, self.recipient_id, self.client_id, self.text]
        row += [self.reply_to, now_ms(), None, 0, 0]
        message_id = row[M_ID]
        batch.message_rows.append(tuple(row))
        batch.client_ids[self.client_pair] = row
        batch.new_client_ids.append((self.client_pair, message_id))
        batch.messages[message_id] = row
        batch.chat_rows.append((self.sender_id, self.recipient_id, message_id))
        message_json = dumps(message_dict(row, batch.names))
        seq = batch.add_update(self.sender_id, NEW_MESSAGE, message_id)
        ack = ack_frame(self.ref, seq, message_json) if self.origin is not None else None
        batch.notify(Notice(self.sender_id, seq, message_frame("message", seq, message_json), self.origin, ack))
        await batch.flush()
        await batch.conn.execute("UPDATE messages SET withheld = 1 WHERE id = ?", (message_id,))
        return message_dict(row, batch.names), True


@dataclass(slots=True)
class ChangeWithheld:
    """An edit (text) or delete (text None) of a withheld message, told to its sender only."""

    user_id: int
    message_id: int
    text: str | None

    async def apply(self, batch) -> dict:
        await batch.flush()
        row = await batch.conn.fetch_one(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (self.message_id,))
        if row is None or row[M_SENDER] != self.user_id:
            raise NotFound("No such message.", "message_not_found")  # the recipient never had it
        if row[M_DELETED]:
            raise Conflict("The message was deleted.", "message_deleted")
        row = list(row)
        await batch.load_seqs((self.user_id,))
        await batch.load_names((row[M_SENDER], row[M_RECIPIENT]))
        if self.text is None:
            row[M_TEXT], row[M_DELETED], kind, kind_name = "", 1, DELETED, "delete"
            await batch.conn.execute("UPDATE messages SET text = '', deleted = 1 WHERE id = ?", (self.message_id,))
        else:
            row[M_TEXT], row[M_EDITED], kind, kind_name = self.text, now_ms(), EDITED, "edit"
            await batch.conn.execute(
                "UPDATE messages SET text = ?, edited_at = ? WHERE id = ?",
                (row[M_TEXT], row[M_EDITED], self.message_id),
            )
        message = message_dict(row, batch.names)
        seq = batch.add_update(self.user_id, kind, self.message_id)
        batch.notify(Notice(self.user_id, seq, message_frame(kind_name, seq, dumps(message))))
        batch.messages[self.message_id] = row
        return message


# ---- account deletion ---------------------------------------------------------------------------

RESERVED_MS = 30 * 86400 * 1000  # a deleted account's username stays taken this long


@dataclass(slots=True)
class DeleteAccount:
    """Empties an account: its own messages are deleted for both sides (each peer gets the delete
    in their stream), its profile and password are blanked, its blocks go. The row stays, so the
    username stays taken and old messages still name their sender."""

    user_id: int

    async def apply(self, batch) -> list[int]:
        await batch.flush()
        rows = await batch.conn.fetch_all(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id = ? AND deleted = 0 AND withheld = 0",
            (self.user_id,),
        )
        await batch.conn.execute(
            "UPDATE messages SET text = '', deleted = 1 WHERE sender_id = ? AND deleted = 0", (self.user_id,)
        )
        peers = {row[M_RECIPIENT] for row in rows}
        await batch.load_seqs(peers)
        await batch.load_names(peers | {self.user_id})
        for row in rows:
            row = list(row)
            row[M_TEXT], row[M_DELETED] = "", 1
            recipient_id = row[M_RECIPIENT]
            if recipient_id == self.user_id:
                continue
            seq = batch.add_update(recipient_id, DELETED, row[M_ID])
            message_json = dumps(message_dict(row, batch.names))
            batch.notify(Notice(recipient_id, seq, message_frame("delete", seq, message_json)))
            batch.messages[row[M_ID]] = row
        await batch.conn.execute(
            "UPDATE users SET display_name = '', bio = '', password_hash = '', last_seen = NULL, deleted_at = ?"
            " WHERE id = ?",
            (now_ms(), self.user_id),
        )
        await batch.conn.execute("DELETE FROM blocks WHERE blocker_id = ? OR blocked_id = ?", (self.user_id,) * 2)
        return sorted(peers - {self.user_id})


@dataclass(slots=True)
class ReleaseUsername:
    """After the reservation, a deleted account's username becomes free for someone new."""

    user_id: int

    async def apply(self, batch) -> None:
        await batch.conn.execute(
            "UPDATE users SET username_key = ? WHERE id = ? AND deleted_at IS NOT NULL",
            (f"~deleted~{self.user_id}", self.user_id),
        )
