"""A device's keys and sessions on disk: one JSON file readable by its owner only, written whole
and renamed into place, so a crash leaves the old file or the new one, never half of each."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from payambar.e2ee import keys
from payambar.e2ee.primitives import b64, ed25519_public, mlkem_public, random_bytes, unb64, x25519_public
from payambar.e2ee.session import DeviceState, Session

ONE_TIME_BATCH = 100


@dataclass
class Pin:
    """What this device has accepted about a person: their identity key, the newest list version,
    and every device it has seen listed (device id -> its long-term DH key)."""

    identity_key: bytes
    version: int
    seen_devices: dict[bytes, bytes] = field(default_factory=dict)
    verified: bool = False

    def as_json(self) -> dict:
        return {
            "identity_key": b64(self.identity_key),
            "version": self.version,
            "seen_devices": {b64(k): b64(v) for k, v in self.seen_devices.items()},
            "verified": self.verified,
        }

    @classmethod
    def from_json(cls, data: dict) -> Pin:
        seen = {unb64(k): unb64(v) for k, v in data["seen_devices"].items()}
        return cls(unb64(data["identity_key"]), data["version"], seen, data["verified"])


@dataclass
class Keystore:
    identity_seed: bytes
    device: DeviceState
    list_version: int = 0  # of our own device list, as last signed
    next_prekey_id: int = 1
    pins: dict[int, Pin] = field(default_factory=dict)  # user id -> what we accepted
    sent: dict[str, dict] = field(default_factory=dict)  # client_id -> the inner message we sealed
    opened: dict[str, dict] = field(default_factory=dict)  # "<message id>:<envelope digest>" -> inner
    sent_keys: dict[str, bytes] = field(default_factory=dict)  # client_id -> the content key we sealed with
    history: dict[int, bytes] = field(default_factory=dict)  # message id -> its content key (docs/e2ee.md §14)
    path: Path | None = None

    @property
    def identity_key(self) -> bytes:
        return ed25519_public(self.identity_seed)

    @property
    def device_key(self) -> bytes:
        return ed25519_public(self.device.device_seed)

    @classmethod
    def new_device(cls, user_id: int, identity_seed: bytes | None = None, path: Path | None = None) -> Keystore:
        """Fresh device keys; a fresh identity too unless an approved link handed one over."""
        device = DeviceState(user_id, random_bytes(8), random_bytes(32), random_bytes(32))
        store = cls(identity_seed or random_bytes(32), device, path=path)
        store.rotate_prekeys()
        return store

    def rotate_prekeys(self) -> None:
        """A new signed X25519 prekey and ML-KEM prekey; the old private halves are kept."""
        key_id = self._take_ids(1)
        self.device.signed_prekeys[key_id] = random_bytes(32)
        self.device.pq_prekeys[key_id] = random_bytes(64)

    def _take_ids(self, count: int) -> int:
        first = self.next_prekey_id
        self.next_prekey_id += count
        return first

    def bundle(self) -> keys.Bundle:
        d = self.device
        spk_id, pq_id = max(d.signed_prekeys), max(d.pq_prekeys)
        return keys.sign_bundle(
            d.device_seed,
            d.user_id,
            d.device_id,
            d.identity_dh,
            spk_id,
            x25519_public(d.signed_prekeys[spk_id]),
            pq_id,
            mlkem_public(d.pq_prekeys[pq_id]),
        )

    def new_one_time_prekeys(self, count: int = ONE_TIME_BATCH) -> list[dict]:
        first = self._take_ids(count)
        signed = []
        for key_id in range(first, first + count):
            private = random_bytes(32)
            self.device.one_time_prekeys[key_id] = private
            d = self.device
            signed.append(keys.sign_one_time(d.device_seed, d.user_id, d.device_id, key_id, x25519_public(private)))
        return signed

    def sign_device_list(self, devices: list[tuple[bytes, bytes]], published_version: int = 0) -> keys.DeviceList:
        """A list one version above both what this device signed and what is published."""
        self.list_version = max(self.list_version, published_version) + 1
        now = int(time.time() * 1000)
        return keys.sign_device_list(
            self.identity_seed, self.identity_key, self.device.user_id, self.list_version, now, devices
        )

    def save(self) -> None:
        if self.path is None:
            return
        data = orjson.dumps(self.as_json())
        partial = self.path.with_name(self.path.name + ".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, self.path)

    @classmethod
    def load(cls, path: Path) -> Keystore:
        store = cls.from_json(orjson.loads(Path(path).read_bytes()))
        store.path = Path(path)
        return store

    def as_json(self) -> dict:
        d = self.device
        return {
            "identity_seed": b64(self.identity_seed),
            "user_id": d.user_id,
            "device_id": b64(d.device_id),
            "device_seed": b64(d.device_seed),
            "identity_dh_private": b64(d.identity_dh_private),
            "signed_prekeys": {str(k): b64(v) for k, v in d.signed_prekeys.items()},
            "pq_prekeys": {str(k): b64(v) for k, v in d.pq_prekeys.items()},
            "one_time_prekeys": {str(k): b64(v) for k, v in d.one_time_prekeys.items()},
            "counter": d.counter,
            "sessions": [
                [user_id, b64(device_id), [s.as_json() for s in sessions]]
                for (user_id, device_id), sessions in d.sessions.items()
            ],
            "seen": [[user_id, b64(device_id), counters] for (user_id, device_id), counters in d.seen.items()],
            "list_version": self.list_version,
            "next_prekey_id": self.next_prekey_id,
            "pins": {str(user_id): pin.as_json() for user_id, pin in self.pins.items()},
            "sent": self.sent,
            "opened": self.opened,
            "sent_keys": {client_id: b64(key) for client_id, key in self.sent_keys.items()},
            "history": {str(message_id): b64(key) for message_id, key in self.history.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> Keystore:
        numbered = lambda table: {int(k): unb64(v) for k, v in table.items()}  # noqa: E731
        device = DeviceState(
            data["user_id"],
            unb64(data["device_id"]),
            unb64(data["device_seed"]),
            unb64(data["identity_dh_private"]),
            numbered(data["signed_prekeys"]),
            numbered(data["pq_prekeys"]),
            numbered(data["one_time_prekeys"]),
            data["counter"],
            {(u, unb64(i)): [Session.from_json(s) for s in ss] for u, i, ss in data["sessions"]},
            {(u, unb64(i)): counters for u, i, counters in data["seen"]},
        )
        pins = {int(k): Pin.from_json(v) for k, v in data["pins"].items()}
        return cls(
            unb64(data["identity_seed"]),
            device,
            data["list_version"],
            data["next_prekey_id"],
            pins,
            data["sent"],
            data["opened"],
            {client_id: unb64(key) for client_id, key in data.get("sent_keys", {}).items()},
            numbered(data.get("history", {})),
        )
