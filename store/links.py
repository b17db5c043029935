"""The link relay (docs/e2ee.md §9): a new device and an approving device of the same person
leave each other one value at a time in a row of `key_links`. Each slot is written once; a row
lives 10 minutes. The values are opaque here: checking them is the devices' work."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from store.core import StoreCore
from store.errors import Conflict, Forbidden, NotFound, StoreError
from store.operations import Operation
from store.rows import now_ms

LINK_LIFETIME_MS = 10 * 60 * 1000
LINK_COLUMNS = (
    "id, user_id, created_by, answered_by, commitment, existing_key, revealed, sealed, created_at, expires_at"
)
LISTED_LINKS = 20


@dataclass(frozen=True, slots=True)
class Link:
    id: str
    user_id: int
    created_by: str  # the new device's session
    answered_by: str | None  # the approving device's session
    commitment: str  # base64url, as the devices send them
    existing_key: str | None
    revealed: str | None
    sealed: str | None
    created_at: int
    expires_at: int

    @property
    def state(self) -> str:
        if self.sealed is not None:
            return "sealed"
        if self.revealed is not None:
            return "revealed"
        return "answered" if self.existing_key is not None else "requested"


class LinkGone(StoreError):
    """The link is there but past its 10 minutes (the sweep deletes it soon)."""

    code = "link_expired"
    status = 410


def _link(row) -> Link:
    return Link(*row)


class LinkQueries(StoreCore):
    async def create_link(self, link_id: str, user_id: int, session_id: str, commitment: str) -> Link:
        return await self.writer.run(CreateLink(link_id, user_id, session_id, commitment))

    async def link(self, user_id: int, link_id: str) -> Link | None:
        """The person's link, even past its time (the caller tells expired from missing)."""
        async with self.connections.reader() as conn:
            row = await conn.fetch_one(
                f"SELECT {LINK_COLUMNS} FROM key_links WHERE id = ? AND user_id = ?", (link_id, user_id)
            )
        return None if row is None else _link(row)

    async def links_of(self, user_id: int) -> list[Link]:
        """The person's links that have not expired, newest first."""
        async with self.connections.reader() as conn:
            rows = await conn.fetch_all(
                f"SELECT {LINK_COLUMNS} FROM key_links WHERE user_id = ? AND expires_at > ?"
                " ORDER BY created_at DESC LIMIT ?",
                (user_id, now_ms(), LISTED_LINKS),
            )
        return [_link(row) for row in rows]

    async def fill_link(self, user_id: int, link_id: str, session_id: str, slot: str, value: str) -> Link:
        """Writes one slot (`existing_key`, `revealed` or `sealed`) once; the link after it."""
        return await self.writer.run(FillLink(user_id, link_id, session_id, slot, value))

    async def delete_link(self, user_id: int, link_id: str) -> bool:
        return await self.writer.run(DeleteLink(user_id, link_id))

    async def delete_expired_links(self, now: int) -> int:
        return await self.writer.run(DeleteExpiredLinks(now))


@dataclass(slots=True)
class CreateLink(Operation):
    link_id: str
    user_id: int
    session_id: str
    commitment: str

    async def apply(self, batch) -> Link:
        now = now_ms()
        link = Link(self.link_id, self.user_id, self.session_id, None, self.commitment, None, None, None, now,
                    now + LINK_LIFETIME_MS)  # fmt: skip
        await batch.conn.execute(
            f"INSERT INTO key_links ({LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (link.id, link.user_id, link.created_by, None, link.commitment, None, None, None, link.created_at,
             link.expires_at),
        )  # fmt: skip
        return link


# Which side writes which slot, and what must be there first.
SLOTS = {
    "existing_key": ("approving", None),
    "revealed": ("new", "existing_key"),
    "sealed": ("answering", "existing_key"),
}


@dataclass(slots=True)
class FillLink(Operation):
    user_id: int
    link_id: str
    session_id: str
    slot: str
    value: str

    async def apply(self, batch) -> Link:
        side, needed = SLOTS[self.slot]
        lock = " FOR UPDATE" if batch.allocator.shared else ""
        row = await batch.conn.fetch_one(
            f"SELECT {LINK_COLUMNS} FROM key_links WHERE id = ? AND user_id = ?{lock}", (self.link_id, self.user_id)
        )
        if row is None:
            raise NotFound("No such link.", "link_not_found")
        link = _link(row)
        if link.expires_at <= now_ms():
            raise LinkGone("This link has expired: start again on the new device.")
        if needed is not None and getattr(link, needed) is None:
            raise Conflict("The approving device has not answered this link yet.", "not_answered")
        if side == "new" and self.session_id != link.created_by:
            raise Forbidden("Only the device that asked to be linked writes this.", "wrong_device")
        if side == "approving" and self.session_id == link.created_by:
            raise Forbidden("A device cannot approve its own link request.", "wrong_device")
        if side == "answering" and self.session_id != link.answered_by:
            raise Forbidden("Only the device that answered this link seals its payload.", "wrong_device")
        if getattr(link, self.slot) is not None:
            raise Conflict(f"This link's {self.slot} is written already.", "already_written")
        extra, params = "", [self.value]
        if self.slot == "existing_key":
            extra, params = ", answered_by = ?", [self.value, self.session_id]
        await batch.conn.execute(f"UPDATE key_links SET {self.slot} = ?{extra} WHERE id = ?", (*params, self.link_id))
        changes: dict[str, Any] = {self.slot: self.value} | ({"answered_by": self.session_id} if extra else {})
        return replace(link, **changes)


@dataclass(slots=True)
class DeleteLink(Operation):
    user_id: int
    link_id: str

    async def apply(self, batch) -> bool:
        deleted = await batch.conn.execute(
            "DELETE FROM key_links WHERE id = ? AND user_id = ?", (self.link_id, self.user_id)
        )
        return bool(deleted)


@dataclass(slots=True)
class DeleteExpiredLinks(Operation):
    now: int

    async def apply(self, batch) -> int:
        return await batch.conn.execute("DELETE FROM key_links WHERE expires_at <= ?", (self.now,))
