"""Uploads, files and profile photos: their SQL, the reads and the writer's operations.

The bytes live on disk (media/blobs.py); these rows say whose they are and what they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from store.errors import NotFound, StoreError
from store.operations import Operation
from store.raw import Row
from store.rows import now_ms

UPLOAD_COLUMNS = "id, user_id, name, length, created_at, expires_at, encrypted"
FILE_COLUMNS = (
    "id, owner_id, sha256, name, mime, size, width, height, duration_ms, waveform, blurhash, thumbnail_sha256,"
    " created_at, encrypted"
)
AVATAR_COLUMNS = "version, small_sha256, medium_sha256, large_sha256"


class QuotaExceeded(StoreError):
    code = "quota_exceeded"


@dataclass(frozen=True, slots=True)
class Upload:
    id: str
    user_id: int
    name: str
    length: int
    created_at: int
    expires_at: int
    encrypted: bool = False  # sealed by its sender: opaque bytes the server never opens


@dataclass(frozen=True, slots=True)
class StoredFile:
    id: str
    owner_id: int
    sha256: str
    name: str
    mime: str
    size: int
    width: int | None
    height: int | None
    duration_ms: int | None
    waveform: str | None
    blurhash: str | None
    thumbnail_sha256: str | None
    created_at: int
    encrypted: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The file object of the API; absent details are left out."""
        found: dict[str, Any] = {"id": self.id, "name": self.name, "mime": self.mime, "size": self.size}
        for key in ("width", "height", "duration_ms", "blurhash"):
            value = getattr(self, key)
            if value is not None:
                found[key] = value
        if self.waveform is not None:
            found["waveform"] = orjson.loads(self.waveform)
        if self.thumbnail_sha256 is not None:
            found["thumbnail"] = f"/api/files/{self.id}/thumbnail"
        if self.encrypted:
            found["encrypted"] = True
        return found


@dataclass(frozen=True, slots=True)
class Avatar:
    version: str
    small_sha256: str
    medium_sha256: str
    large_sha256: str

    def sha256_for(self, size: int) -> str:
        return {64: self.small_sha256, 256: self.medium_sha256, 640: self.large_sha256}[size]


def _with_flag(row: Row) -> Row:
    """The row with its last column, the encrypted flag, as a bool (SQLite gives 0 or 1)."""
    return (*row[:-1], bool(row[-1]))


def _file(row: Row | None) -> StoredFile | None:
    return StoredFile(*_with_flag(row)) if row else None


# ---- reads -------------------------------------------------------------------------------------


async def upload(conn, upload_id: str) -> Upload | None:
    row = await conn.fetch_one(f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = ?", (upload_id,))
    return Upload(*_with_flag(row)) if row else None


async def expired_uploads(conn, now: int, limit: int = 500) -> list[str]:
    rows = await conn.fetch_all("SELECT id FROM uploads WHERE expires_at <= ? LIMIT ?", (now, limit))
    return [row[0] for row in rows]


async def file(conn, file_id: str) -> StoredFile | None:
    return _file(await conn.fetch_one(f"SELECT {FILE_COLUMNS} FROM files WHERE id = ?", (file_id,)))


async def file_for(conn, file_id: str, user_id: int) -> StoredFile | None:
    """The file, if this user may fetch it: it is in a message (not deleted, not hidden from them)
    of a conversation they are part of, or they uploaded it and have not sent it yet. Deleting
    the message that carried a file ends access for both sides, its sender included."""
    found = await file(conn, file_id)
    if found is None:
        return None
    shared, sent = await conn.fetch_several(
        [
            (
                "SELECT 1 FROM messages m WHERE m.file_id = ? AND m.deleted = 0"
                " AND (m.sender_id = ? OR m.recipient_id = ?)"
                " AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = ? AND h.message_id = m.id)"
                " LIMIT 1",
                (file_id, user_id, user_id, user_id),
            ),
            ("SELECT 1 FROM messages WHERE file_id = ? LIMIT 1", (file_id,)),
        ]
    )
    if shared or (found.owner_id == user_id and not sent):
        return found
    return None


async def unused_files(conn, created_before: int, limit: int = 500) -> list[str]:
    """Files in no message that is not deleted, made before a time: never sent, or their
    messages were deleted."""
    rows = await conn.fetch_all(
        "SELECT f.id FROM files f WHERE f.created_at < ?"
        " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.file_id = f.id AND m.deleted = 0) LIMIT ?",
        (created_before, limit),
    )
    return [row[0] for row in rows]


async def referenced_hashes(conn, hashes: list[str]) -> set[str]:
    """Those of these blob hashes that a file, a thumbnail or a profile photo still uses."""
    if not hashes:
        return set()
    marks = ",".join("?" * len(hashes))
    rows = await conn.fetch_all(
        f"SELECT sha256 FROM files WHERE sha256 IN ({marks})"
        f" UNION SELECT thumbnail_sha256 FROM files WHERE thumbnail_sha256 IN ({marks})"
        f" UNION SELECT small_sha256 FROM avatars WHERE small_sha256 IN ({marks})"
        f" UNION SELECT medium_sha256 FROM avatars WHERE medium_sha256 IN ({marks})"
        f" UNION SELECT large_sha256 FROM avatars WHERE large_sha256 IN ({marks})",
        list(hashes) * 5,
    )
    return {row[0] for row in rows}


async def avatar(conn, user_id: int) -> Avatar | None:
    row = await conn.fetch_one(f"SELECT {AVATAR_COLUMNS} FROM avatars WHERE user_id = ?", (user_id,))
    return Avatar(*row) if row else None


async def avatar_versions(conn, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    marks = ",".join("?" * len(user_ids))
    rows = await conn.fetch_all(f"SELECT user_id, version FROM avatars WHERE user_id IN ({marks})", list(user_ids))
    return dict(rows)


# ---- changes (run by the single writer) --------------------------------------------------------


@dataclass(slots=True)
class CreateUpload(Operation):
    """Starts an upload unless the user's files and open uploads would pass their quota."""

    upload: Upload
    quota_bytes: int

    async def apply(self, batch) -> Upload:
        used = await batch.conn.fetch_value(
            "SELECT (SELECT COALESCE(SUM(size), 0) FROM files WHERE owner_id = ?)"
            " + (SELECT COALESCE(SUM(length), 0) FROM uploads WHERE user_id = ?)",
            (self.upload.user_id, self.upload.user_id),
        )
        if int(used) + self.upload.length > self.quota_bytes:
            raise QuotaExceeded("This upload would pass your storage quota.")
        u = self.upload
        await batch.conn.execute(
            f"INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (u.id, u.user_id, u.name, u.length, u.created_at, u.expires_at, int(u.encrypted)),
        )
        return u


@dataclass(slots=True)
class FinishUpload(Operation):
    """The upload is complete: its row becomes a file row under the same id."""

    stored: StoredFile

    async def apply(self, batch) -> StoredFile:
        f = self.stored
        removed = await batch.conn.execute("DELETE FROM uploads WHERE id = ?", (f.id,))
        if not removed:
            raise NotFound("No such upload.", "upload_not_found")
        await batch.conn.execute(
            f"INSERT INTO files ({FILE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                f.id, f.owner_id, f.sha256, f.name, f.mime, f.size, f.width, f.height, f.duration_ms, f.waveform,
                f.blurhash, f.thumbnail_sha256, f.created_at, int(f.encrypted),
            ),
        )  # fmt: skip
        return f


@dataclass(slots=True)
class DeleteUploads(Operation):
    upload_ids: list[str]

    async def apply(self, batch) -> int:
        await batch.conn.execute_many("DELETE FROM uploads WHERE id = ?", [(i,) for i in self.upload_ids])
        return len(self.upload_ids)


@dataclass(slots=True)
class DeleteUnusedFiles(Operation):
    """Removes these file rows unless a message (not deleted) carries them by now; the blob
    hashes the removed rows used."""

    file_ids: list[str]

    async def apply(self, batch) -> list[str]:
        hashes: list[str] = []
        for file_id in self.file_ids:
            row = await batch.conn.fetch_one(
                "SELECT sha256, thumbnail_sha256 FROM files f WHERE id = ?"
                " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.file_id = f.id AND m.deleted = 0)",
                (file_id,),
            )
            if row is None:
                continue
            await batch.conn.execute("DELETE FROM files WHERE id = ?", (file_id,))
            hashes.extend(h for h in row if h)
        return hashes


@dataclass(slots=True)
class SetAvatar(Operation):
    user_id: int
    avatar: Avatar | None  # None removes it

    async def apply(self, batch) -> None:
        await batch.conn.execute("DELETE FROM avatars WHERE user_id = ?", (self.user_id,))
        version = None if self.avatar is None else self.avatar.version
        # users.avatar names the version, so every read of a user has it without a join.
        await batch.conn.execute("UPDATE users SET avatar = ? WHERE id = ?", (version, self.user_id))
        if self.avatar is None:
            return
        a = self.avatar
        await batch.conn.execute(
            f"INSERT INTO avatars (user_id, {AVATAR_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (self.user_id, a.version, a.small_sha256, a.medium_sha256, a.large_sha256, now_ms()),
        )


# ---- the store's face for routes ----------------------------------------------------------------


class FileStore:
    """Reads through the store's reader connections, changes through its single writer."""

    def __init__(self, store) -> None:
        self.store = store

    async def _read(self, query, *args):
        async with self.store.connections.reader() as conn:
            return await query(conn, *args)

    async def upload(self, upload_id: str) -> Upload | None:
        return await self._read(upload, upload_id)

    async def expired_uploads(self, now: int) -> list[str]:
        return await self._read(expired_uploads, now)

    async def file(self, file_id: str) -> StoredFile | None:
        return await self._read(file, file_id)

    async def file_for(self, file_id: str, user_id: int) -> StoredFile | None:
        return await self._read(file_for, file_id, user_id)

    async def avatar(self, user_id: int) -> Avatar | None:
        return await self._read(avatar, user_id)

    async def create_upload(self, new_upload: Upload, quota_bytes: int) -> Upload:
        return await self.store.writer.run(CreateUpload(new_upload, quota_bytes))

    async def finish_upload(self, stored: StoredFile) -> StoredFile:
        return await self.store.writer.run(FinishUpload(stored))

    async def delete_uploads(self, upload_ids: list[str]) -> None:
        if upload_ids:
            await self.store.writer.run(DeleteUploads(upload_ids))

    async def unused_files(self, created_before: int) -> list[str]:
        return await self._read(unused_files, created_before)

    async def referenced_hashes(self, hashes: list[str]) -> set[str]:
        return await self._read(referenced_hashes, hashes)

    async def delete_unused_files(self, file_ids: list[str]) -> list[str]:
        return await self.store.writer.run(DeleteUnusedFiles(file_ids)) if file_ids else []

    async def set_avatar(self, user_id: int, new_avatar: Avatar | None) -> None:
        await self.store.writer.run(SetAvatar(user_id, new_avatar))
