"""Signed device lists and device bundles: their exact signed bytes, their JSON, and their checks."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from payambar.e2ee.primitives import (
    MLKEM_PUBLIC_BYTES,
    b64,
    ed25519_sign,
    ed25519_verify,
    unb64,
)

DEVICE_LIST_LABEL = b"payambar/device-list/v1\x00"
BUNDLE_LABEL = b"payambar/device-bundle/v1\x00"
ONE_TIME_LABEL = b"payambar/one-time-prekey/v1\x00"
DEVICE_ID_BYTES = 8
MAX_DEVICES = 16


class BadKeys(ValueError):
    """A device list or bundle that is malformed or whose signature does not verify; `field`
    names the part at fault."""

    def __init__(self, message: str, field: str = "signature") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class DeviceList:
    user_id: int
    identity_key: bytes  # Ed25519 public
    version: int
    timestamp: int  # ms since the epoch, the signer's clock
    devices: tuple[tuple[bytes, bytes], ...]  # (device id, device Ed25519 public), sorted by id
    signature: bytes

    def device_key(self, device_id: bytes) -> bytes | None:
        return dict(self.devices).get(device_id)

    def as_json(self) -> dict:
        return {
            "user_id": self.user_id,
            "identity_key": b64(self.identity_key),
            "version": self.version,
            "timestamp": self.timestamp,
            "devices": [{"device_id": b64(i), "device_key": b64(k)} for i, k in self.devices],
            "signature": b64(self.signature),
        }


def device_list_bytes(user_id: int, identity_key: bytes, version: int, timestamp: int, devices) -> bytes:
    body = [DEVICE_LIST_LABEL, identity_key, struct.pack(">QQQB", user_id, version, timestamp, len(devices))]
    for device_id, device_key in devices:
        body += [device_id, device_key]
    return b"".join(body)


def sign_device_list(identity_seed: bytes, identity_key: bytes, user_id: int, version: int, timestamp: int, devices):
    devices = tuple(sorted(devices))
    signed = device_list_bytes(user_id, identity_key, version, timestamp, devices)
    return DeviceList(user_id, identity_key, version, timestamp, devices, ed25519_sign(identity_seed, signed))


def _key(value, length: int, name: str) -> bytes:
    try:
        data = unb64(value)
    except (ValueError, TypeError):
        raise BadKeys(f"{name} is not base64url", name) from None
    if len(data) != length:
        raise BadKeys(f"{name} is {length} bytes", name)
    return data


def _uint(value, bits: int, name: str, low: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < 2**bits:
        raise BadKeys(f"{name} is an integer from {low} to 2^{bits}-1", name)
    return value


def parse_device_list(body) -> DeviceList:
    """A device list from its JSON, its signature checked against its own identity key."""
    if not isinstance(body, dict) or not isinstance(body.get("devices"), list):
        raise BadKeys("a device list is an object with a devices array", "devices")
    if len(body["devices"]) > MAX_DEVICES:
        raise BadKeys(f"a device list names at most {MAX_DEVICES} devices", "devices")
    devices = []
    for entry in body["devices"]:
        if not isinstance(entry, dict):
            raise BadKeys("each device is an object", "devices")
        devices.append(
            (
                _key(entry.get("device_id"), DEVICE_ID_BYTES, "device_id"),
                _key(entry.get("device_key"), 32, "device_key"),
            )
        )
    ids = [device_id for device_id, _ in devices]
    if ids != sorted(set(ids)):
        raise BadKeys("devices are sorted by device_id, each once", "devices")
    parsed = DeviceList(
        _uint(body.get("user_id"), 63, "user_id", 1),
        _key(body.get("identity_key"), 32, "identity_key"),
        _uint(body.get("version"), 63, "version", 1),
        _uint(body.get("timestamp"), 63, "timestamp"),
        tuple(devices),
        _key(body.get("signature"), 64, "signature"),
    )
    signed = device_list_bytes(parsed.user_id, parsed.identity_key, parsed.version, parsed.timestamp, parsed.devices)
    if not ed25519_verify(parsed.identity_key, parsed.signature, signed):
        raise BadKeys("the device list's signature does not verify")
    return parsed


@dataclass(frozen=True)
class Bundle:
    user_id: int
    device_id: bytes
    identity_dh: bytes  # the device's long-term X25519 public key
    signed_prekey_id: int
    signed_prekey: bytes  # X25519 public
    pq_prekey_id: int
    pq_prekey: bytes  # ML-KEM-768 encapsulation key
    signature: bytes  # by the device's Ed25519 key

    def as_json(self) -> dict:
        return {
            "device_id": b64(self.device_id),
            "identity_dh": b64(self.identity_dh),
            "signed_prekey": {"id": self.signed_prekey_id, "key": b64(self.signed_prekey)},
            "pq_prekey": {"id": self.pq_prekey_id, "key": b64(self.pq_prekey)},
            "signature": b64(self.signature),
        }


def bundle_bytes(user_id, device_id, identity_dh, spk_id, spk, pq_id, pq) -> bytes:
    return b"".join(
        [
            BUNDLE_LABEL,
            struct.pack(">Q", user_id),
            device_id,
            identity_dh,
            struct.pack(">I", spk_id),
            spk,
            struct.pack(">I", pq_id),
            pq,
        ]
    )


def sign_bundle(device_seed: bytes, user_id, device_id, identity_dh, spk_id, spk, pq_id, pq) -> Bundle:
    signature = ed25519_sign(device_seed, bundle_bytes(user_id, device_id, identity_dh, spk_id, spk, pq_id, pq))
    return Bundle(user_id, device_id, identity_dh, spk_id, spk, pq_id, pq, signature)


def parse_bundle(body, user_id: int, device_key: bytes | None) -> Bundle:
    """A bundle from its JSON; its signature is checked when the device's Ed25519 key is given."""
    if not isinstance(body, dict):
        raise BadKeys("a bundle is an object", "device_id")
    spk, pq = body.get("signed_prekey"), body.get("pq_prekey")
    if not isinstance(spk, dict) or not isinstance(pq, dict):
        raise BadKeys("signed_prekey and pq_prekey are objects", "signed_prekey")
    bundle = Bundle(
        user_id,
        _key(body.get("device_id"), DEVICE_ID_BYTES, "device_id"),
        _key(body.get("identity_dh"), 32, "identity_dh"),
        _uint(spk.get("id"), 32, "signed_prekey.id", 1),
        _key(spk.get("key"), 32, "signed_prekey.key"),
        _uint(pq.get("id"), 32, "pq_prekey.id", 1),
        _key(pq.get("key"), MLKEM_PUBLIC_BYTES, "pq_prekey.key"),
        _key(body.get("signature"), 64, "signature"),
    )
    if device_key is not None:
        signed = bundle_bytes(
            user_id,
            bundle.device_id,
            bundle.identity_dh,
            bundle.signed_prekey_id,
            bundle.signed_prekey,
            bundle.pq_prekey_id,
            bundle.pq_prekey,
        )
        if not ed25519_verify(device_key, bundle.signature, signed):
            raise BadKeys("the bundle's signature does not verify")
    return bundle


def one_time_bytes(user_id: int, device_id: bytes, key_id: int, key: bytes) -> bytes:
    return ONE_TIME_LABEL + struct.pack(">Q", user_id) + device_id + struct.pack(">I", key_id) + key


def sign_one_time(device_seed: bytes, user_id: int, device_id: bytes, key_id: int, key: bytes) -> dict:
    signature = ed25519_sign(device_seed, one_time_bytes(user_id, device_id, key_id, key))
    return {"id": key_id, "key": b64(key), "signature": b64(signature)}


def parse_one_time(body, user_id: int, device_id: bytes, device_key: bytes | None) -> tuple[int, bytes, bytes]:
    """(id, X25519 public, signature) of a one-time prekey; the signature checked when device_key is given."""
    if not isinstance(body, dict):
        raise BadKeys("a one-time prekey is an object", "prekeys")
    key_id = _uint(body.get("id"), 32, "id", 1)
    key = _key(body.get("key"), 32, "key")
    signature = _key(body.get("signature"), 64, "signature")
    if device_key is not None and not ed25519_verify(
        device_key, signature, one_time_bytes(user_id, device_id, key_id, key)
    ):
        raise BadKeys("the one-time prekey's signature does not verify")
    return key_id, key, signature
