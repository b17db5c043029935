"""The key directory: each person's signed device list, each device's signed bundle, and its
one-time prekeys, handed out once each. The store keeps the signed JSON as it was sent; checking
signatures is the caller's (and, in the end, every client's)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from store.core import StoreCore
from store.errors import Conflict, NotFound
from store.operations import Operation
from store.rows import now_ms

MAX_ONE_TIME_PREKEYS = 200  # kept per device
KEYLESS_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Directory:
    """A person's published keys: the device list and the bundles published so far."""

    device_list: str  # JSON text, as signed
    bundles: list[str]  # JSON text each


class KeyQueries(StoreCore):
    async def keys_of(self, user_id: int) -> Directory | None:
        async with self.connections.reader() as conn:
            device_list = await conn.fetch_value("SELECT device_list FROM key_identities WHERE user_id = ?", (user_id,))
            if device_list is None:
                return None
            rows = await conn.fetch_all(
                "SELECT bundle FROM key_bundles WHERE user_id = ? AND bundle IS NOT NULL ORDER BY device_id",
                (user_id,),
            )
        return Directory(device_list, [row[0] for row in rows])

    async def own_device(self, user_id: int, device_id: str) -> tuple[str | None, int] | None:
        """(its bundle JSON or None, one-time prekeys left) of a listed device; None when not listed."""
        async with self.connections.reader() as conn:
            row = await conn.fetch_one(
                "SELECT bundle FROM key_bundles WHERE user_id = ? AND device_id = ?", (user_id, device_id)
            )
            if row is None:
                return None
            left = await conn.fetch_value(
                "SELECT COUNT(*) FROM key_one_time WHERE user_id = ? AND device_id = ?", (user_id, device_id)
            )
        return row[0], left

    async def users_with_keys(self, user_ids) -> set[int]:
        """Which of these people have published a device list (once published, always: a person
        with keys never goes back to plaintext)."""
        now = time.monotonic()
        wanted = sorted(u for u in set(user_ids) - self._keyed if self._keyless.get(u, 0) < now)
        if wanted:
            marks = ",".join("?" * len(wanted))
            async with self.connections.reader() as conn:
                rows = await conn.fetch_all(f"SELECT user_id FROM key_identities WHERE user_id IN ({marks})", wanted)
            self._keyed.update(row[0] for row in rows)
            if len(self._keyless) > 100_000:
                self._keyless.clear()
            # Another instance may publish meanwhile: a "no keys" answer is trusted for a moment only.
            self._keyless.update((u, now + KEYLESS_SECONDS) for u in wanted if u not in self._keyed)
        return self._keyed.intersection(user_ids)

    async def publish_device_list(self, *args) -> bool:
        published = await self.writer.run(PublishDeviceList(*args))
        self._keyed.add(args[0])
        self._keyless.pop(args[0], None)
        return published

    async def publish_bundle(self, user_id: int, device_id: str, bundle: str) -> None:
        await self.writer.run(PublishBundle(user_id, device_id, bundle))

    async def add_one_time_prekeys(self, user_id: int, device_id: str, prekeys: list[tuple[int, str]]) -> int:
        return await self.writer.run(AddOneTimePrekeys(user_id, device_id, prekeys))

    async def claim(self, user_id: int, device_id: str) -> tuple[str, str | None] | None:
        return await self.writer.run(ClaimPrekeys(user_id, device_id))

    async def key_backup(self, user_id: int) -> tuple[int, str] | None:
        """(version, sealed blob) of the person's key backup; None without one."""
        async with self.connections.reader() as conn:
            row = await conn.fetch_one("SELECT version, sealed FROM key_backups WHERE user_id = ?", (user_id,))
        return (row[0], row[1]) if row else None

    async def put_key_backup(self, user_id: int, sealed: str, replaces: int) -> int:
        return await self.writer.run(PutKeyBackup(user_id, sealed, replaces))

    async def delete_key_backup(self, user_id: int) -> bool:
        return await self.writer.run(DeleteKeyBackup(user_id))


class StaleBackup(Conflict):
    code = "stale_version"

    def __init__(self, current: int) -> None:
        super().__init__(f"The backup is at version {current}: read it and merge first.")
        self.current = current


@dataclass(slots=True)
class PutKeyBackup(Operation):
    """Stores the sealed backup if `replaces` is the version stored now (0: none yet); the new version."""

    user_id: int
    sealed: str
    replaces: int

    async def apply(self, batch) -> int:
        current = await batch.conn.fetch_value("SELECT version FROM key_backups WHERE user_id = ?", (self.user_id,))
        if (current or 0) != self.replaces:
            raise StaleBackup(current or 0)
        version = self.replaces + 1
        if current is None:
            await batch.conn.execute(
                "INSERT INTO key_backups (user_id, version, sealed, updated_at) VALUES (?, ?, ?, ?)",
                (self.user_id, version, self.sealed, now_ms()),
            )
        else:
            await batch.conn.execute(
                "UPDATE key_backups SET version = ?, sealed = ?, updated_at = ? WHERE user_id = ?",
                (version, self.sealed, now_ms(), self.user_id),
            )
        return version


@dataclass(slots=True)
class DeleteKeyBackup(Operation):
    user_id: int

    async def apply(self, batch) -> bool:
        return bool(await batch.conn.execute("DELETE FROM key_backups WHERE user_id = ?", (self.user_id,)))


@dataclass(slots=True)
class PublishDeviceList(Operation):
    """A newer signed list replaces the old one; a new identity key only with `reset`. Devices
    no longer listed lose their bundles and one-time prekeys. Returns whether anything changed
    (the same list again, a retry, changes nothing)."""

    user_id: int
    identity_key: str
    version: int
    device_list: str
    devices: list[tuple[str, str]]  # (device id, device key), base64url
    reset: bool

    async def apply(self, batch) -> bool:
        await batch.flush()
        lock = " FOR UPDATE" if batch.allocator.shared else ""
        row = await batch.conn.fetch_one(
            f"SELECT identity_key, version, device_list FROM key_identities WHERE user_id = ?{lock}", (self.user_id,)
        )
        if row is not None:
            if row[2] == self.device_list:
                return False
            if row[0] != self.identity_key and not self.reset:
                raise Conflict(
                    "This list is signed by another identity key: send reset to start anew.", "identity_changed"
                )
            if row[0] == self.identity_key and self.version <= row[1]:
                raise Conflict(f"The device list is at version {row[1]}: sign a higher one.", "stale_device_list")
        now = now_ms()
        await batch.conn.execute("DELETE FROM key_identities WHERE user_id = ?", (self.user_id,))
        await batch.conn.execute(
            "INSERT INTO key_identities (user_id, identity_key, version, device_list, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (self.user_id, self.identity_key, self.version, self.device_list, now),
        )
        kept = await batch.conn.fetch_all(
            "SELECT device_id, device_key FROM key_bundles WHERE user_id = ?", (self.user_id,)
        )
        wanted = set(self.devices)
        for device_id, device_key in kept:
            if (device_id, device_key) not in wanted:  # gone, or the same id with another key
                await batch.conn.execute(
                    "DELETE FROM key_bundles WHERE user_id = ? AND device_id = ?", (self.user_id, device_id)
                )
                await batch.conn.execute(
                    "DELETE FROM key_one_time WHERE user_id = ? AND device_id = ?", (self.user_id, device_id)
                )
        for device_id, device_key in wanted - {tuple(row) for row in kept}:
            await batch.conn.execute(
                "INSERT INTO key_bundles (user_id, device_id, device_key, bundle, updated_at)"
                " VALUES (?, ?, ?, NULL, ?)",
                (self.user_id, device_id, device_key, now),
            )
        return True


@dataclass(slots=True)
class PublishBundle(Operation):
    user_id: int
    device_id: str
    bundle: str

    async def apply(self, batch) -> None:
        changed = await batch.conn.execute(
            "UPDATE key_bundles SET bundle = ?, updated_at = ? WHERE user_id = ? AND device_id = ?",
            (self.bundle, now_ms(), self.user_id, self.device_id),
        )
        if not changed:
            raise NotFound("That device is not in your device list.", "device_not_found")


@dataclass(slots=True)
class AddOneTimePrekeys(Operation):
    """Adds prekeys (an id already there is kept as it was); returns how many the device has."""

    user_id: int
    device_id: str
    prekeys: list[tuple[int, str]]  # (id, the signed prekey's JSON)

    async def apply(self, batch) -> int:
        key = (self.user_id, self.device_id)
        if await batch.conn.fetch_value("SELECT 1 FROM key_bundles WHERE user_id = ? AND device_id = ?", key) is None:
            raise NotFound("That device is not in your device list.", "device_not_found")
        held = await batch.conn.fetch_all("SELECT key_id FROM key_one_time WHERE user_id = ? AND device_id = ?", key)
        ids = {row[0] for row in held}
        fresh = [(key_id, prekey) for key_id, prekey in dict(self.prekeys).items() if key_id not in ids]
        if len(ids) + len(fresh) > MAX_ONE_TIME_PREKEYS:
            raise Conflict(
                f"A device keeps at most {MAX_ONE_TIME_PREKEYS} one-time prekeys; it has {len(ids)}.",
                "too_many_prekeys",
            )
        await batch.conn.execute_many(
            "INSERT INTO key_one_time (user_id, device_id, key_id, prekey) VALUES (?, ?, ?, ?)",
            [(*key, key_id, prekey) for key_id, prekey in fresh],
        )
        return len(ids) + len(fresh)


@dataclass(slots=True)
class ClaimPrekeys(Operation):
    """(bundle JSON, one one-time prekey's JSON or None) of a device; the prekey handed out is
    deleted in the same statement, so no two claims ever get the same one."""

    user_id: int
    device_id: str

    async def apply(self, batch) -> tuple[str, str | None] | None:
        key = (self.user_id, self.device_id)
        bundle = await batch.conn.fetch_value(
            "SELECT bundle FROM key_bundles WHERE user_id = ? AND device_id = ? AND bundle IS NOT NULL", key
        )
        if bundle is None:
            return None
        claimed = await batch.conn.fetch_one(
            "DELETE FROM key_one_time WHERE user_id = ? AND device_id = ? AND key_id ="
            " (SELECT MIN(key_id) FROM key_one_time WHERE user_id = ? AND device_id = ?) RETURNING prekey",
            (*key, *key),
        )
        return bundle, None if claimed is None else claimed[0]
