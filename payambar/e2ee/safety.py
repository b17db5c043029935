"""Safety numbers: 60 digits both people see alike, from both identity keys (after Signal's)."""

from __future__ import annotations

import struct

from payambar.e2ee.primitives import sha512

ITERATIONS = 5200
FINGERPRINT_VERSION = 0


def fingerprint(user_id: int, identity_key: bytes) -> str:
    """30 digits for one person: SHA-512 iterated over the key, six 5-byte chunks, each mod 100 000."""
    digest = sha512(struct.pack(">H", FINGERPRINT_VERSION) + identity_key + struct.pack(">Q", user_id))
    for _ in range(ITERATIONS - 1):
        digest = sha512(digest + identity_key)
    chunks = (int.from_bytes(digest[i : i + 5], "big") % 100_000 for i in range(0, 30, 5))
    return "".join(f"{chunk:05d}" for chunk in chunks)


def safety_number(user_a: int, key_a: bytes, user_b: int, key_b: bytes) -> str:
    """Both fingerprints, the smaller user id's first: the same 60 digits on both sides."""
    (_, first), (_, second) = sorted([(user_a, key_a), (user_b, key_b)])
    low, high = sorted([user_a, user_b])
    return fingerprint(low, first) + fingerprint(high, second)


def grouped(number: str) -> str:
    return " ".join(number[i : i + 5] for i in range(0, len(number), 5))
