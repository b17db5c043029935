"""The envelope: its byte layout, its associated data, and the body sealed once under a fresh key.

Parsing checks the layout only (the server does that much); opening needs a device's ratchet.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import orjson

from payambar.e2ee.keys import DEVICE_ID_BYTES
from payambar.e2ee.primitives import MLKEM_CIPHERTEXT_BYTES, DecryptError, aes_gcm_open, aes_gcm_seal

VERSION = 1
ENVELOPE_LABEL = b"payambar/envelope/v1\x00"
MAX_RECIPIENTS = 32
RATCHET_ENTRY = 0
PREKEY_ENTRY = 1
WRAPPED_BYTES = 48  # a 32-byte content key and its 16-byte tag
PREKEY_FIELDS = 32 + 4 + 4 + 4 + MLKEM_CIPHERTEXT_BYTES
PAD_BLOCK = 32
NONCE_BYTES = 12


class BadEnvelope(ValueError):
    """Bytes that are not an envelope of this version."""


@dataclass(frozen=True)
class Prekey:
    ephemeral: bytes
    signed_prekey_id: int
    pq_prekey_id: int
    one_time_prekey_id: int  # 0: none was used
    kem_ciphertext: bytes

    def to_bytes(self) -> bytes:
        ids = struct.pack(">III", self.signed_prekey_id, self.pq_prekey_id, self.one_time_prekey_id)
        return self.ephemeral + ids + self.kem_ciphertext


@dataclass(frozen=True)
class Entry:
    device_id: bytes
    prekey: Prekey | None
    ratchet_key: bytes
    previous: int  # PN
    number: int  # N
    wrapped: bytes

    def header(self) -> bytes:
        """The entry's bytes before the wrapped key: all of it is authenticated with the wrap."""
        kind = bytes([PREKEY_ENTRY if self.prekey else RATCHET_ENTRY])
        prekey = self.prekey.to_bytes() if self.prekey else b""
        return self.device_id + kind + prekey + self.ratchet_key + struct.pack(">II", self.previous, self.number)

    def to_bytes(self) -> bytes:
        return self.header() + self.wrapped


@dataclass(frozen=True)
class Envelope:
    sender_device: bytes
    counter: int
    entries: tuple[Entry, ...]  # sorted by device id
    nonce: bytes
    body: bytes  # AES-256-GCM ciphertext and tag

    @property
    def recipients(self) -> list[bytes]:
        return [entry.device_id for entry in self.entries]

    def entry_for(self, device_id: bytes) -> Entry | None:
        return next((entry for entry in self.entries if entry.device_id == device_id), None)

    def to_bytes(self) -> bytes:
        head = bytes([VERSION]) + self.sender_device + struct.pack(">QB", self.counter, len(self.entries))
        return head + b"".join(entry.to_bytes() for entry in self.entries) + self.nonce + self.body


def parse(data: bytes) -> Envelope:
    """The envelope in data, or BadEnvelope when the layout is not this version's."""
    reader = _Reader(data)
    if reader.take(1) != bytes([VERSION]):
        raise BadEnvelope("unknown envelope version")
    sender = reader.take(DEVICE_ID_BYTES)
    counter, count = struct.unpack(">QB", reader.take(9))
    if not 0 <= count <= MAX_RECIPIENTS:  # 0: a note to yourself with no other device (§7.1)
        raise BadEnvelope(f"an envelope has 0 to {MAX_RECIPIENTS} recipients")
    entries = tuple(_entry(reader) for _ in range(count))
    ids = [entry.device_id for entry in entries]
    if ids != sorted(set(ids)) or sender in ids:
        raise BadEnvelope("recipients are sorted by device id, each once, the sender not among them")
    nonce = reader.take(NONCE_BYTES)
    body = reader.rest()
    if len(body) < 16 + PAD_BLOCK:
        raise BadEnvelope("the body is too short")
    return Envelope(sender, counter, entries, nonce, body)


def check(data: bytes) -> int:
    """What `parse` checks, in its order and with its errors, without building the envelope: for
    the server, which keeps the bytes as they came and never reads the parts. The recipient count."""
    size = len(data)
    if size < 1:
        raise BadEnvelope("the envelope ends early")
    if data[0] != VERSION:
        raise BadEnvelope("unknown envelope version")
    if size < 18:
        raise BadEnvelope("the envelope ends early")
    count = data[17]
    if not 0 <= count <= MAX_RECIPIENTS:  # 0: a note to yourself with no other device (§7.1)
        raise BadEnvelope(f"an envelope has 0 to {MAX_RECIPIENTS} recipients")
    at, ids = 18, []
    for _ in range(count):
        if at + DEVICE_ID_BYTES + 1 > size:
            raise BadEnvelope("the envelope ends early")
        kind = data[at + DEVICE_ID_BYTES]
        if kind == PREKEY_ENTRY:
            length = _PREKEY_ENTRY_BYTES
        elif kind == RATCHET_ENTRY:
            length = _RATCHET_ENTRY_BYTES
        else:
            raise BadEnvelope("unknown entry kind")
        if at + length > size:
            raise BadEnvelope("the envelope ends early")
        ids.append(data[at : at + DEVICE_ID_BYTES])
        at += length
    if ids != sorted(set(ids)) or data[1 : 1 + DEVICE_ID_BYTES] in ids:
        raise BadEnvelope("recipients are sorted by device id, each once, the sender not among them")
    if at + NONCE_BYTES > size:
        raise BadEnvelope("the envelope ends early")
    if size - at - NONCE_BYTES < 16 + PAD_BLOCK:
        raise BadEnvelope("the body is too short")
    return count


_RATCHET_ENTRY_BYTES = DEVICE_ID_BYTES + 1 + 32 + 8 + WRAPPED_BYTES
_PREKEY_ENTRY_BYTES = _RATCHET_ENTRY_BYTES + PREKEY_FIELDS


def _entry(reader: _Reader) -> Entry:
    device_id = reader.take(DEVICE_ID_BYTES)
    kind = reader.take(1)[0]
    prekey = None
    if kind == PREKEY_ENTRY:
        ephemeral = reader.take(32)
        spk_id, pq_id, opk_id = struct.unpack(">III", reader.take(12))
        prekey = Prekey(ephemeral, spk_id, pq_id, opk_id, reader.take(MLKEM_CIPHERTEXT_BYTES))
    elif kind != RATCHET_ENTRY:
        raise BadEnvelope("unknown entry kind")
    ratchet_key = reader.take(32)
    previous, number = struct.unpack(">II", reader.take(8))
    return Entry(device_id, prekey, ratchet_key, previous, number, reader.take(WRAPPED_BYTES))


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, length: int) -> bytes:
        if self.at + length > len(self.data):
            raise BadEnvelope("the envelope ends early")
        chunk = self.data[self.at : self.at + length]
        self.at += length
        return chunk

    def rest(self) -> bytes:
        return self.data[self.at :]


def associated_data(
    sender_user: int, peer_user: int, sender_device: bytes, recipients: list[bytes], counter: int, client_id: str
) -> bytes:
    """What every AEAD of the envelope binds: version, conversation, sender, recipients, counter, client_id."""
    low, high = sorted((sender_user, peer_user))
    client = client_id.encode("utf-8")
    return b"".join(
        [
            ENVELOPE_LABEL,
            bytes([VERSION]),
            struct.pack(">QQQ", low, high, sender_user),
            sender_device,
            bytes([len(recipients)]),
            *sorted(recipients),
            struct.pack(">QH", counter, len(client)),
            client,
        ]
    )


def pad(plaintext: bytes) -> bytes:
    """ISO/IEC 7816-4 padding to a multiple of 32 bytes: 0x80 then zeros."""
    padded = plaintext + b"\x80"
    return padded + b"\x00" * (-len(padded) % PAD_BLOCK)


def unpad(padded: bytes) -> bytes:
    end = padded.rstrip(b"\x00")
    if not end.endswith(b"\x80") or len(padded) % PAD_BLOCK:
        raise DecryptError("bad padding")
    return end[:-1]


def seal_body(content_key: bytes, nonce: bytes, inner: dict, associated: bytes) -> bytes:
    return aes_gcm_seal(content_key, nonce, pad(orjson.dumps(inner)), associated)


def open_body(content_key: bytes, nonce: bytes, body: bytes, associated: bytes) -> dict:
    try:
        inner = orjson.loads(unpad(aes_gcm_open(content_key, nonce, body, associated)))
    except orjson.JSONDecodeError:
        raise DecryptError("the inner message is not JSON") from None
    if not isinstance(inner, dict) or inner.get("v") != 1 or not isinstance(inner.get("kind"), str):
        raise DecryptError("the inner message is not a v1 object")
    return inner
