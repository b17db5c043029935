"""History under a recovery key (docs/e2ee.md §14): the map message id -> content key, its bytes,
the recovery key's written form, and the backup sealed under a key derived from it."""

from __future__ import annotations

import base64
import struct

from payambar.e2ee.primitives import DecryptError, aes_gcm_open, aes_gcm_seal, hkdf, random_bytes, sha256

VERSION = 1
KEY_BYTES = 32
CHECK_BYTES = 3
NONCE_BYTES = 12
ENTRY_BYTES = 8 + KEY_BYTES
BACKUP_LABEL = b"payambar/backup/v1\x00"
CHECK_LABEL = b"payambar/recovery-check/v1\x00"
LINK_HISTORY_ENTRIES = 1500  # the newest entries a link payload carries (§14)


class BadRecoveryKey(ValueError):
    """A written recovery key with a typo: wrong length, a character outside base32, a wrong check."""


def new_recovery_key() -> bytes:
    return random_bytes(KEY_BYTES)


def _check(recovery_key: bytes) -> bytes:
    return sha256(CHECK_LABEL + recovery_key)[:CHECK_BYTES]


def format_recovery_key(recovery_key: bytes) -> str:
    """56 base32 characters as 14 groups of 4, the last 3 bytes a check against typos."""
    if len(recovery_key) != KEY_BYTES:
        raise ValueError("a recovery key is 32 bytes")
    text = base64.b32encode(recovery_key + _check(recovery_key)).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def parse_recovery_key(text: str) -> bytes:
    letters = "".join(text.split()).replace("-", "").upper()
    if len(letters) != 56 or any(ch not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for ch in letters):
        raise BadRecoveryKey("a recovery key is 56 letters and digits 2-7")
    raw = base64.b32decode(letters)
    key, check = raw[:KEY_BYTES], raw[KEY_BYTES:]
    if _check(key) != check:
        raise BadRecoveryKey("this recovery key has a typo")
    return key


def backup_key(recovery_key: bytes, user_id: int) -> bytes:
    return hkdf(recovery_key, bytes(32), BACKUP_LABEL + struct.pack(">Q", user_id), 32)


def associated_data(user_id: int) -> bytes:
    return BACKUP_LABEL + bytes([VERSION]) + struct.pack(">Q", user_id)


def history_bytes(history: dict[int, bytes]) -> bytes:
    """H: version, count, then (u64 message id, CK) sorted by id."""
    parts = [bytes([VERSION]), struct.pack(">I", len(history))]
    for message_id in sorted(history):
        key = history[message_id]
        if len(key) != KEY_BYTES or not 0 < message_id < 2**63:
            raise ValueError("an entry is a message id and a 32-byte content key")
        parts.append(struct.pack(">Q", message_id) + key)
    return b"".join(parts)


def parse_history(data: bytes) -> dict[int, bytes]:
    if len(data) < 5 or data[0] != VERSION:
        raise DecryptError("not a history of this version")
    (count,) = struct.unpack(">I", data[1:5])
    if len(data) != 5 + count * ENTRY_BYTES:
        raise DecryptError("the history's length does not match its count")
    history: dict[int, bytes] = {}
    previous = 0
    for at in range(5, len(data), ENTRY_BYTES):
        (message_id,) = struct.unpack(">Q", data[at : at + 8])
        if message_id <= previous:
            raise DecryptError("history entries are sorted by message id, each once")
        history[message_id] = data[at + 8 : at + ENTRY_BYTES]
        previous = message_id
    return history


def newest(history: dict[int, bytes], count: int) -> dict[int, bytes]:
    return {message_id: history[message_id] for message_id in sorted(history)[-count:]}


def seal_backup(recovery_key: bytes, user_id: int, history: dict[int, bytes], nonce: bytes | None = None) -> bytes:
    """The sealed bytes; `nonce` is fixed for test vectors only."""
    nonce = nonce or random_bytes(NONCE_BYTES)
    sealed = aes_gcm_seal(backup_key(recovery_key, user_id), nonce, history_bytes(history), associated_data(user_id))
    return bytes([VERSION]) + nonce + sealed


def open_backup(recovery_key: bytes, user_id: int, sealed: bytes) -> dict[int, bytes]:
    """The map, or DecryptError when this key does not open this person's backup."""
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[0] != VERSION:
        raise DecryptError("not a backup of this version")
    nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    plain = aes_gcm_open(backup_key(recovery_key, user_id), nonce, body, associated_data(user_id))
    return parse_history(plain)
