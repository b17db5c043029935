"""What an account controls about itself: its sessions and API tokens, whom it blocks, who may
see when it was last online, and its deletion. SQL for these lives here and nowhere else."""

from __future__ import annotations

import time
from dataclasses import dataclass

from store import operations
from store.errors import Conflict, NotFound
from store.operations import Operation
from store.rows import MESSAGE_COLUMNS, USER_COLUMNS, Message, UpdateKind, now_ms

USER_COLUMNS_U = ", ".join(f"u.{column.strip()}" for column in USER_COLUMNS.split(","))

SESSION, TOKEN = "session", "token"
VISIBILITIES = ("everyone", "contacts", "nobody")


@dataclass(slots=True)
class DescribeSession(Operation):
    session_id: str
    kind: str
    name: str | None
    user_agent: str
    address: str
    scopes: str | None = None

    async def apply(self, batch) -> None:
        await batch.conn.execute(
            "UPDATE sessions SET kind = ?, name = ?, user_agent = ?, address = ?, scopes = ?,"
            " last_active = created_at WHERE id = ?",
            (self.kind, self.name, self.user_agent, self.address, self.scopes, self.session_id),
        )


@dataclass(slots=True)
class TouchSession(Operation):
    session_id: str
    address: str
    when: int

    async def apply(self, batch) -> None:
        await batch.conn.execute(
            "UPDATE sessions SET last_active = ?, address = ? WHERE id = ?", (self.when, self.address, self.session_id)
        )


def _session_dict(row, current_id: str | None) -> dict:
    session_id, _kind, name, user_agent, address, created_at, last_active, scopes = row
    return {
        "id": session_id,
        "name": name,
        "scopes": scopes.split() if scopes else None,
        "user_agent": user_agent or "",
        "address": address or "",
        "created_at": created_at,
        "last_active": last_active or created_at,
        "current": session_id == current_id,
    }


SHARED_TRUST_SECONDS = 2.0  # how stale a block or deletion made on another instance may be here
TOUCH_EVERY_MS = 60_000  # a session's last activity is written at most once a minute
TOUCHED_LIMIT = 100_000
LOGIN_ADDRESSES_SECONDS = 30.0


class Accounts:
    """Reads and changes of the account's own settings, through the store's connections."""

    def __init__(self, store) -> None:
        self.store = store
        self._touched: dict[str, int] = {}  # session id -> when its activity was last written
        self._blocked: dict[int, set[int]] = {}  # blocker id -> the ids they block
        self._visibility: dict[int, str] = {}  # user id -> who may see their last seen
        self._mutual: set[tuple[int, int]] = set()  # (lower id, higher id) of chats both wrote in
        self._deleted: dict[int, int] = {}  # user id -> when the account was deleted
        self._recent: dict[tuple, tuple] = {}  # shared database: key -> (value, trusted until)
        self._login_addresses: dict[int, tuple[frozenset[str], float]] = {}  # user id -> (addresses, until)

    async def load(self) -> None:
        """Reads the blocks into memory: every send and presence frame consults them."""
        async with self.store.connections.reader() as conn:
            rows = await conn.fetch_all("SELECT blocker_id, blocked_id FROM blocks")
            deleted = await conn.fetch_all("SELECT id, deleted_at FROM users WHERE deleted_at IS NOT NULL")
        for blocker_id, blocked_id in rows:
            self._blocked.setdefault(blocker_id, set()).add(blocked_id)
        self._deleted = dict(deleted)

    # ---- deleted accounts --------------------------------------------------------------------

    async def _shared_read(self, key: tuple, sql: str, params: tuple):
        """A value other instances may change: read, then trusted for a few seconds only."""
        now = time.monotonic()
        known = self._recent.get(key)
        if known is not None and known[1] > now:
            return known[0]
        async with self.store.connections.reader() as conn:
            value = await conn.fetch_value(sql, params)
        if len(self._recent) >= 100_000:
            self._recent.clear()
        self._recent[key] = (value, now + SHARED_TRUST_SECONDS)
        return value

    async def _deleted_at(self, user_id: int | None) -> int | None:
        if user_id is None:
            return None
        if not self.store.shared:
            return self._deleted.get(user_id)
        return await self._shared_read(("deleted", user_id), "SELECT deleted_at FROM users WHERE id = ?", (user_id,))

    async def is_deleted(self, user_id: int | None) -> bool:
        return await self._deleted_at(user_id) is not None

    async def deleted_among(self, user_ids: list[int]) -> set[int]:
        """Which of these accounts are deleted (a chat list asks for all its peers at once)."""
        if not self.store.shared:
            return {user_id for user_id in user_ids if user_id in self._deleted}
        return {user_id for user_id in user_ids if await self._deleted_at(user_id) is not None}

    async def delete_account(self, user_id: int) -> list[int]:
        """Deletes the account; returns the ids of the people it had written to."""
        peers = await self.store.writer.run(DeleteAccount(user_id))
        self._deleted[user_id] = now_ms()
        self._recent.pop(("deleted", user_id), None)
        self._blocked.pop(user_id, None)
        for blocked in self._blocked.values():
            blocked.discard(user_id)
        return peers

    async def release_username_if_due(self, user_id: int) -> bool:
        """Frees a deleted account's username once its reservation is over."""
        deleted_at = await self._deleted_at(user_id)
        if deleted_at is None or now_ms() - deleted_at < RESERVED_MS:
            return False
        await self.store.writer.run(ReleaseUsername(user_id))
        return True

    # ---- blocks ----------------------------------------------------------------------------

    async def blocks(self, blocker_id: int, blocked_id: int) -> bool:
        if not self.store.shared:
            return blocked_id in self._blocked.get(blocker_id, ())
        sql = "SELECT 1 FROM blocks WHERE blocker_id = ? AND blocked_id = ?"
        return bool(await self._shared_read(("blocks", blocker_id, blocked_id), sql, (blocker_id, blocked_id)))

    async def block(self, blocker_id: int, blocked_id: int) -> None:
        await self.store.writer.run(Block(blocker_id, blocked_id))
        self._recent.pop(("blocks", blocker_id, blocked_id), None)
        self._blocked.setdefault(blocker_id, set()).add(blocked_id)

    async def unblock(self, blocker_id: int, blocked_id: int) -> None:
        await self.store.writer.run(Unblock(blocker_id, blocked_id))
        self._recent.pop(("blocks", blocker_id, blocked_id), None)
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
        return (await self._visibilities([user_id])).get(user_id, "everyone")

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

    async def _visibilities(self, user_ids: list[int]) -> dict[int, str]:
        """Each user's last-seen setting: the unknown ones read in one query, not one each."""
        known = {} if self.store.shared else {u: self._visibility[u] for u in user_ids if u in self._visibility}
        unknown = [u for u in user_ids if u not in known]
        if unknown:
            marks = ",".join("?" * len(unknown))
            async with self.store.connections.reader() as conn:
                rows = await conn.fetch_all(
                    f"SELECT id, last_seen_visibility FROM users WHERE id IN ({marks})", tuple(unknown)
                )
            for user_id, setting in rows:
                known[user_id] = self._visibility[user_id] = setting or "everyone"
        return known

    async def may_see_last_seen(self, viewer_id: int, user_ids: list[int]) -> set[int]:
        """Which of these users let the viewer see their online state and last seen."""
        allowed, contacts_only = set(), []
        settings = await self._visibilities(user_ids)
        for user_id in user_ids:
            setting = settings.get(user_id, "everyone")
            if setting == "nobody" or await self.blocks(user_id, viewer_id):
                continue
            if setting == "everyone":
                allowed.add(user_id)
            else:
                contacts_only.append(user_id)
        if contacts_only:
            allowed |= await self.mutual(viewer_id, contacts_only)
        return allowed

    async def describe_session(
        self, session_id: str, kind: str, name: str | None, user_agent: str, address: str, scopes: str | None = None
    ):
        await self.store.writer.run(DescribeSession(session_id, kind, name, user_agent, address, scopes))

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
                "SELECT id, kind, name, user_agent, address, created_at, last_active, scopes FROM sessions"
                " WHERE user_id = ? AND kind = ? AND revoked_at IS NULL AND expires_at > ?"
                " ORDER BY created_at DESC",
                (user_id, kind, now_ms()),
            )
        return [_session_dict(row, current_id) for row in rows]

    async def login_addresses(self, user_id: int) -> frozenset[str]:
        """The addresses the account's logins came from (or were last used from), newest first
        up to a thousand; trusted for half a minute, since only a login storm asks often."""
        now = time.monotonic()
        known = self._login_addresses.get(user_id)
        if known is not None and known[1] > now:
            return known[0]
        async with self.store.connections.reader() as conn:
            rows = await conn.fetch_all(
                "SELECT address FROM sessions WHERE user_id = ? AND kind = ? AND address IS NOT NULL"
                " ORDER BY created_at DESC LIMIT 1000",
                (user_id, SESSION),
            )
        if len(self._login_addresses) >= TOUCHED_LIMIT:
            self._login_addresses.clear()
        addresses = frozenset(row[0] for row in rows)
        self._login_addresses[user_id] = (addresses, now + LOGIN_ADDRESSES_SECONDS)
        return addresses

    def forget_login_addresses(self, user_id: int) -> None:
        self._login_addresses.pop(user_id, None)

    async def session_kind(self, user_id: int, session_id: str) -> str | None:
        """The kind of a live session of this user, or None when it is not one."""
        async with self.store.connections.reader() as conn:
            return await conn.fetch_value(
                "SELECT kind FROM sessions WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?",
                (session_id, user_id, now_ms()),
            )


# ---- blocks ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Block(Operation):
    blocker_id: int
    blocked_id: int

    async def apply(self, batch) -> None:
        await batch.conn.execute(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
            (self.blocker_id, self.blocked_id, now_ms()),
        )


@dataclass(slots=True)
class Unblock(Operation):
    blocker_id: int
    blocked_id: int

    async def apply(self, batch) -> None:
        await batch.conn.execute(
            "DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?", (self.blocker_id, self.blocked_id)
        )


@dataclass(slots=True)
class SetLastSeenVisibility(Operation):
    user_id: int
    visibility: str

    async def apply(self, batch) -> None:
        await batch.conn.execute(
            "UPDATE users SET last_seen_visibility = ? WHERE id = ?", (self.visibility, self.user_id)
        )


# ---- messages to someone who blocked their sender -----------------------------------------------


@dataclass(slots=True)
class WithheldSend(operations.SendMessage):
    """A send to someone who blocks the sender: stored and acknowledged as usual, in the sender's
    chat and stream only. The recipient never gets it, nor any later change of it."""

    in_memory = False  # it marks the row after writing it

    async def apply(self, batch) -> tuple[Message, bool]:
        message, is_new = self.store_for_sender(batch)
        if is_new:
            batch.search.added(message)  # its sender finds it by search; the search skips it for anyone else
            await batch.flush()
            await batch.conn.execute("UPDATE messages SET withheld = 1 WHERE id = ?", (message.id,))
        return message, is_new


@dataclass(slots=True)
class ChangeWithheld(Operation):
    """An edit (text, or an envelope with text "") or delete (text None) of a withheld message,
    told to its sender only."""

    user_id: int
    message_id: int
    text: str | None
    envelope: bytes | None = None

    async def apply(self, batch) -> Message:
        await batch.flush()
        row = await batch.conn.fetch_one(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (self.message_id,))
        if row is None or row[1] != self.user_id:
            raise NotFound("No such message.", "message_not_found")  # the recipient never had it
        message = Message(*row)
        if message.deleted:
            raise Conflict("The message was deleted.", "message_deleted")
        await batch.load_seqs((self.user_id,))
        await batch.load_names((message.sender_id, message.recipient_id))
        if self.text is None:
            message.text, message.envelope, message.deleted, kind = "", None, 1, UpdateKind.DELETE
            await batch.conn.execute(
                "UPDATE messages SET text = '', envelope = NULL, deleted = 1 WHERE id = ?", (message.id,)
            )
        else:
            message.text, message.envelope, kind = self.text, self.envelope, UpdateKind.EDIT
            message.edited_at = now_ms()
            await batch.conn.execute(
                "UPDATE messages SET text = ?, envelope = ?, edited_at = ? WHERE id = ?",
                (message.text, message.envelope, message.edited_at, message.id),
            )
        batch.add_update(self.user_id, kind, message)
        batch.messages[message.id] = message
        batch.search.changed(message)
        return message


# ---- account deletion ---------------------------------------------------------------------------

RESERVED_MS = 30 * 86400 * 1000  # a deleted account's username stays taken this long


@dataclass(slots=True)
class DeleteAccount(Operation):
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
            "UPDATE messages SET text = '', envelope = NULL, deleted = 1 WHERE sender_id = ? AND deleted = 0",
            (self.user_id,),
        )
        messages = [Message(*row) for row in rows]
        peers = {message.recipient_id for message in messages} - {self.user_id}
        await batch.load_seqs(peers)
        await batch.load_names(peers | {self.user_id})
        for message in messages:
            message.text, message.envelope, message.deleted = "", None, 1
            batch.search.changed(message)
            if message.recipient_id != self.user_id:
                batch.add_update(message.recipient_id, UpdateKind.DELETE, message)
            batch.messages[message.id] = message
        await batch.conn.execute(
            "UPDATE users SET display_name = '', bio = '', password_hash = '', last_seen = NULL, deleted_at = ?"
            " WHERE id = ?",
            (now_ms(), self.user_id),
        )
        await batch.conn.execute("DELETE FROM blocks WHERE blocker_id = ? OR blocked_id = ?", (self.user_id,) * 2)
        await batch.conn.execute("DELETE FROM chat_settings WHERE user_id = ?", (self.user_id,))
        return sorted(peers)


@dataclass(slots=True)
class ReleaseUsername(Operation):
    """After the reservation, a deleted account's username becomes free for someone new."""

    user_id: int

    async def apply(self, batch) -> None:
        await batch.conn.execute(
            "UPDATE users SET username_key = ? WHERE id = ? AND deleted_at IS NOT NULL",
            (f"~deleted~{self.user_id}", self.user_id),
        )
