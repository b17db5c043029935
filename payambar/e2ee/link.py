"""Linking a new device (docs/e2ee.md §9): the QR text and the commitment the new device shows
and posts, the key and short code both sides derive, and the sealed payload that carries the
identity key over. The relay in between sees only what these functions put on the wire."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

import orjson

from payambar.e2ee import backup, keys
from payambar.e2ee.primitives import (
    DecryptError,
    aes_gcm_open,
    aes_gcm_seal,
    b64,
    ed25519_public,
    hkdf,
    sha256,
    unb64,
    x25519,
)

QR_PREFIX = "payambar-link:1:"
COMMIT_LABEL = b"payambar/link-commit/v1\x00"
KEY_INFO = b"payambar/link/v1\x00"
CODE_INFO = b"payambar/link-code/v1\x00"
PAYLOAD_LABEL = b"payambar/link-payload/v1\x00"
ZERO_SALT = bytes(32)
ZERO_NONCE = bytes(12)
REVEALED_BYTES = 32 + 8 + 32  # LN public || device id || DK_N public
CODE_DIGITS = 6


class LinkRefused(Exception):
    """The other side's values do not check out (a relay changed them), or the codes differ."""


@dataclass(frozen=True, slots=True)
class Revealed:
    """What the new device reveals: its ephemeral link key, its device id and its device key."""

    link_key: bytes
    device_id: bytes
    device_key: bytes

    def as_bytes(self) -> bytes:
        return self.link_key + self.device_id + self.device_key

    @classmethod
    def from_bytes(cls, data: bytes) -> Revealed:
        if len(data) != REVEALED_BYTES:
            raise LinkRefused(f"revealed values are {REVEALED_BYTES} bytes, not {len(data)}")
        return cls(data[:32], data[32:40], data[40:])


def qr_text(revealed: Revealed) -> str:
    return QR_PREFIX + b64(revealed.as_bytes())


def parse_qr(text: str) -> Revealed:
    if not isinstance(text, str) or not text.startswith(QR_PREFIX):
        raise LinkRefused("not a Payambar link code")
    try:
        return Revealed.from_bytes(unb64(text[len(QR_PREFIX) :]))
    except ValueError:
        raise LinkRefused("the link code is not base64url") from None


def commitment(revealed_bytes: bytes) -> bytes:
    return sha256(COMMIT_LABEL + revealed_bytes)


def check_commitment(revealed: Revealed, committed: bytes) -> None:
    """Refuses values that are not the ones committed to before the approving key was seen."""
    if not hmac.compare_digest(commitment(revealed.as_bytes()), committed):
        raise LinkRefused("the new device's values do not match its commitment")


def transcript(revealed: Revealed, existing_key: bytes) -> bytes:
    """T = LN public || LE public || device_id || DK_N public."""
    return revealed.link_key + existing_key + revealed.device_id + revealed.device_key


@dataclass(frozen=True, slots=True)
class LinkSecrets:
    key: bytes  # K, the payload's AES-256-GCM key
    code: str  # the short code both screens show
    transcript: bytes


def derive(own_private: bytes, their_public: bytes, revealed: Revealed, existing_key: bytes) -> LinkSecrets:
    """K and the short code from one side's link private key and the other's public one."""
    shared = x25519(own_private, their_public)
    t = transcript(revealed, existing_key)
    key = hkdf(shared, ZERO_SALT, KEY_INFO + t, 32)
    number = int.from_bytes(hkdf(shared, ZERO_SALT, CODE_INFO + t, 8), "big") % 10**CODE_DIGITS
    return LinkSecrets(key, f"{number:0{CODE_DIGITS}d}", t)


def seal_payload(secrets: LinkSecrets, payload: bytes) -> bytes:
    return aes_gcm_seal(secrets.key, ZERO_NONCE, payload, PAYLOAD_LABEL + secrets.transcript)


def open_payload(secrets: LinkSecrets, sealed: bytes) -> bytes:
    try:
        return aes_gcm_open(secrets.key, ZERO_NONCE, sealed, PAYLOAD_LABEL + secrets.transcript)
    except DecryptError:
        raise LinkRefused("the payload does not open with this link's key") from None


def payload_json(
    identity_seed: bytes,
    device_list: keys.DeviceList,
    verified: list[tuple[int, bytes]],
    history: dict[int, bytes] | None = None,
) -> bytes:
    """`history` (message id -> content key, §14) is left out when None."""
    body = {
        "identity_seed": b64(identity_seed),
        "device_list": device_list.as_json(),
        "verified": [{"user_id": user_id, "identity_key": b64(key)} for user_id, key in verified],
    }
    if history is not None:
        body["history"] = b64(backup.history_bytes(history))
    return orjson.dumps(body)


@dataclass(frozen=True, slots=True)
class Payload:
    identity_seed: bytes
    device_list: keys.DeviceList
    verified: list[tuple[int, bytes]]
    history: dict[int, bytes] = field(default_factory=dict)


def parse_payload(data: bytes, user_id: int, revealed: Revealed) -> Payload:
    """The opened payload, checked: its list is signed by the identity it hands over, names this
    person, and lists the new device with its own device key."""
    try:
        body = orjson.loads(data)
        seed = unb64(body["identity_seed"])
        device_list = keys.parse_device_list(body["device_list"])
        verified = [(int(v["user_id"]), unb64(v["identity_key"])) for v in body.get("verified", [])]
        history = backup.parse_history(unb64(body["history"])) if body.get("history") is not None else {}
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, keys.BadKeys, DecryptError) as error:
        raise LinkRefused(f"the payload is malformed: {error}") from None
    if len(seed) != 32 or ed25519_public(seed) != device_list.identity_key:
        raise LinkRefused("the payload's identity key does not sign its device list")
    if device_list.user_id != user_id:
        raise LinkRefused("the payload's device list is another person's")
    if device_list.device_key(revealed.device_id) != revealed.device_key:
        raise LinkRefused("the payload's device list does not hold this device")
    return Payload(seed, device_list, verified, history)
