"""Builds docs/e2ee-media-vectors.json: sealed attachments (docs/e2ee.md §7.6) from fixed keys and
plaintexts. `python -m payambar.e2ee.media_vectors` remakes the file; the tests rebuild it and compare.

Plaintexts longer than a line are the pattern byte i = i mod 251, so the file stays small: a case
gives every chunk's nonce and tag, the digest of the whole ciphertext, and the whole ciphertext
only when it is short.
"""

from __future__ import annotations

import json
from pathlib import Path

from payambar.e2ee import media
from payambar.e2ee.primitives import b64, sha256

VECTORS_FILE = Path(__file__).resolve().parents[2] / "docs" / "e2ee-media-vectors.json"
WHOLE_BELOW = 256  # ciphertexts shorter than this are written out whole


def fixed(label: str, length: int = 32) -> bytes:
    """A fixed 'random' value: SHA-256 of its label, as in docs/e2ee-vectors.json. Test vectors only."""
    return sha256(f"payambar test vector {label}".encode())[:length]


def pattern(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))


CASES = [
    ("empty", b"", None),
    ("short text", "سلام! a small file\n".encode(), None),
    ("one full chunk", pattern(media.CHUNK), "pattern"),
    ("one chunk and a byte", pattern(media.CHUNK + 1), "pattern"),
    ("three chunks", pattern(150_000), "pattern"),
]


def case(name: str, plaintext: bytes, kind: str | None) -> dict:
    key, prefix = fixed(f"attachment {name} key"), fixed(f"attachment {name} nonce prefix", media.PREFIX)
    ciphertext, sealed = media.encrypt(plaintext, key, prefix)
    header = ciphertext[: media.HEADER]
    body = ciphertext[media.HEADER :]
    chunks = []
    for index, at in enumerate(range(0, max(len(body), 1), media.SEALED_CHUNK)):
        piece = body[at : at + media.SEALED_CHUNK]
        last = at + media.SEALED_CHUNK >= len(body)
        chunks.append(
            {
                "index": index,
                "last": last,
                "nonce": media.nonce(prefix, index, last).hex(),
                "plaintext_bytes": len(piece) - media.TAG,
                "tag": piece[-media.TAG :].hex(),
            }
        )
    out = {
        "name": name,
        "key": key.hex(),
        "nonce_prefix": prefix.hex(),
        "size": len(plaintext),
        "plaintext": kind if kind else plaintext.hex(),
        "header": header.hex(),
        "associated_data": media.associated(header).hex(),
        "sealed_size": len(ciphertext),
        "chunks": chunks,
        "digest": sealed.digest.hex(),
    }
    if len(ciphertext) < WHOLE_BELOW:
        out["ciphertext"] = ciphertext.hex()
    else:
        out["ciphertext_head"] = ciphertext[:64].hex()
    return out


def inner_example(first: dict) -> dict:
    """A `media` inner message as a sender writes it (the attachment of the first case's file)."""
    return {
        "v": 1,
        "kind": "media",
        "sent_at": 1_780_000_000_000,
        "text": "the report, as promised",
        "attachment": {
            "file_id": "Q2lwaGVydGV4dE9ubHkx",
            "type": "file",
            "key": b64(bytes.fromhex(first["key"])),
            "digest": b64(bytes.fromhex(first["digest"])),
            "size": first["size"],
            "name": "گزارش.txt",
            "mime": "text/plain",
        },
    }


def build() -> dict:
    cases = [case(*c) for c in CASES]
    return {
        "chunk_plaintext_bytes": media.CHUNK,
        "tag_bytes": media.TAG,
        "label": media.LABEL.hex(),
        "pattern": "byte i of a 'pattern' plaintext is i mod 251",
        "cases": cases,
        "wrong_key": fixed("attachment wrong key").hex(),
        "inner_example": inner_example(cases[1]),
        "must_fail": [
            "the last chunk dropped (cut at a chunk boundary)",
            "the first two chunks swapped",
            "one bit of a chunk flipped",
            "a copy of a chunk appended",
            "the header's version changed",
            "the wrong key",
            "a digest of other bytes",
        ],
    }


if __name__ == "__main__":
    VECTORS_FILE.write_text(json.dumps(build(), ensure_ascii=False, indent=1) + "\n")
