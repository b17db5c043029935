"""Sealed attachments (docs/e2ee.md §7.6) hold to their vectors (docs/e2ee-media-vectors.json),
rebuilt here from the format with AES-GCM called directly, and refuse every file that is cut,
reordered, extended, changed, opened with the wrong key or checked against the wrong digest."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from payambar.e2ee import media, media_vectors
from payambar.e2ee.primitives import DecryptError, b64

VECTORS = json.loads(media_vectors.VECTORS_FILE.read_text())
CASES = {c["name"]: c for c in VECTORS["cases"]}
h = bytes.fromhex


def plaintext_of(case: dict) -> bytes:
    if case["plaintext"] == "pattern":
        return bytes(i % 251 for i in range(case["size"]))
    return h(case["plaintext"])


def sealed_by_hand(case: dict) -> bytes:
    """The ciphertext from the format's own words: header, then each 64 KiB chunk under its nonce."""
    key, prefix, data = h(case["key"]), h(case["nonce_prefix"]), plaintext_of(case)
    header = b"\x01" + prefix
    ad = b"payambar/attachment/v1\x00" + header
    pieces = [data[i : i + 65536] for i in range(0, len(data), 65536)] or [b""]
    out = [header]
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        out.append(AESGCM(key).encrypt(prefix + index.to_bytes(4, "big") + bytes([last]), piece, ad))
    return b"".join(out)


def test_the_vectors_file_is_what_the_builder_makes():
    assert media_vectors.build() == VECTORS


@pytest.mark.parametrize("name", list(CASES))
def test_each_vector_is_the_format_sealed_by_hand_and_opens(name):
    case = CASES[name]
    ciphertext = sealed_by_hand(case)
    assert ciphertext.hex().startswith(case["header"])
    assert len(ciphertext) == case["sealed_size"] == media.sealed_size(case["size"])
    assert hashlib.sha256(ciphertext).hexdigest() == case["digest"]
    assert ciphertext.hex() == case.get("ciphertext", ciphertext.hex())
    assert ciphertext[:64].hex() == case.get("ciphertext_head", ciphertext[:64].hex())
    body = ciphertext[media.HEADER :]
    for chunk in case["chunks"]:
        end = chunk["index"] * media.SEALED_CHUNK + chunk["plaintext_bytes"] + media.TAG
        assert body[end - media.TAG : end].hex() == chunk["tag"]
    assert [c["last"] for c in case["chunks"]] == [False] * (len(case["chunks"]) - 1) + [True]
    made, sealed = media.encrypt(plaintext_of(case), h(case["key"]), h(case["nonce_prefix"]))
    assert made == ciphertext and sealed.digest.hex() == case["digest"] and sealed.size == case["size"]
    assert media.decrypt(ciphertext, h(case["key"]), h(case["digest"]), case["size"]) == plaintext_of(case)


def test_sealing_and_opening_in_pieces_of_any_size_give_the_same_bytes():
    case = CASES["three chunks"]
    data, key, prefix = plaintext_of(case), h(case["key"]), h(case["nonce_prefix"])
    for step in (1, 7, 4096, 65536, 65537, 200_000):
        sealer = media.Sealer(key, prefix)
        pieces = [sealer.update(data[i : i + step]) for i in range(0, len(data), step)]
        tail, sealed = sealer.finish()
        assert b"".join(pieces) + tail == sealed_by_hand(case)
        ciphertext = b"".join(pieces) + tail
        opener = media.Opener(key, sealed.digest)
        opened = [opener.update(ciphertext[i : i + step]) for i in range(0, len(ciphertext), step)]
        assert b"".join(opened) + opener.finish(len(data)) == data


def test_every_file_key_and_nonce_prefix_is_fresh():
    first, one = media.encrypt(b"same bytes")
    second, two = media.encrypt(b"same bytes")
    assert one.key != two.key and first[:8] != second[:8] and first != second


def tampered(ciphertext: bytes) -> dict[str, bytes]:
    header, body = ciphertext[: media.HEADER], ciphertext[media.HEADER :]
    chunks = [body[i : i + media.SEALED_CHUNK] for i in range(0, len(body), media.SEALED_CHUNK)]
    assert len(chunks) == 3
    flipped = bytearray(ciphertext)
    flipped[media.HEADER + 100] ^= 0x01
    return {
        "the last chunk dropped": header + chunks[0] + chunks[1],
        "the first two chunks swapped": header + chunks[1] + chunks[0] + chunks[2],
        "one bit flipped": bytes(flipped),
        "a copy of a chunk appended": ciphertext + chunks[1],
        "the last chunk's tag cut": ciphertext[:-1],
        "the version changed": b"\x02" + ciphertext[1:],
        "the nonce prefix changed": ciphertext[:1] + bytes(7) + ciphertext[8:],
        "only the header": header,
        "nothing": b"",
    }


@pytest.mark.parametrize("how", list(tampered(sealed_by_hand(CASES["three chunks"]))))
def test_a_changed_cut_reordered_or_extended_file_fails_even_with_its_own_digest(how):
    case = CASES["three chunks"]
    bad = tampered(sealed_by_hand(case))[how]
    key = h(case["key"])
    with pytest.raises(DecryptError):  # the digest the envelope carries catches it first
        media.decrypt(bad, key, h(case["digest"]), case["size"])
    with pytest.raises(DecryptError):  # and the chunks themselves, with a digest made to match
        media.decrypt(bad, key, hashlib.sha256(bad).digest())
    with pytest.raises(DecryptError):
        opener = media.Opener(key)
        opener.update(bad)
        opener.finish()


def test_the_wrong_key_or_the_wrong_digest_fails():
    case = CASES["three chunks"]
    ciphertext, digest = sealed_by_hand(case), h(case["digest"])
    with pytest.raises(DecryptError, match="does not verify"):
        media.decrypt(ciphertext, h(VECTORS["wrong_key"]), digest)
    with pytest.raises(DecryptError, match="digest"):
        media.decrypt(ciphertext, h(case["key"]), hashlib.sha256(b"other bytes").digest())
    with pytest.raises(DecryptError, match="size"):
        media.decrypt(ciphertext, h(case["key"]), digest, case["size"] + 1)
    opener = media.Opener(h(case["key"]), hashlib.sha256(b"other bytes").digest())
    opener.update(ciphertext)
    with pytest.raises(DecryptError, match="digest"):
        opener.finish()


def test_a_short_file_cut_to_nothing_but_its_header_fails_and_an_empty_one_opens():
    case = CASES["empty"]
    ciphertext = h(case["ciphertext"])
    assert media.decrypt(ciphertext, h(case["key"]), h(case["digest"]), 0) == b""
    with pytest.raises(DecryptError):
        media.decrypt(ciphertext[: media.HEADER], h(case["key"]), hashlib.sha256(ciphertext[:8]).digest())


def test_a_random_three_megabyte_file_round_trips():
    data = os.urandom(3 * 1024 * 1024 + 12345)
    ciphertext, sealed = media.encrypt(data)
    assert len(ciphertext) == media.sealed_size(len(data))
    assert media.decrypt(ciphertext, sealed.key, sealed.digest, len(data)) == data


def test_the_inner_example_is_a_media_attachment_and_bad_ones_are_refused():
    example = VECTORS["inner_example"]
    found = media.attachment_of(example)
    first = CASES["short text"]
    assert (found.key.hex(), found.digest.hex(), found.size) == (first["key"], first["digest"], first["size"])
    assert (found.name, found.mime, found.type, found.file_id) == (
        "گزارش.txt",
        "text/plain",
        "file",
        "Q2lwaGVydGV4dE9ubHkx",
    )
    attachment = example["attachment"]
    for bad in (
        {"kind": "text", "text": "hi"},
        {"kind": "media"},
        {"kind": "media", "attachment": {**attachment, "key": b64(b"short")}},
        {"kind": "media", "attachment": {**attachment, "digest": "not base64url!"}},
        {"kind": "media", "attachment": {**attachment, "size": -1}},
        {"kind": "media", "attachment": {**attachment, "size": True}},
        {"kind": "media", "attachment": {k: v for k, v in attachment.items() if k != "file_id"}},
    ):
        with pytest.raises(DecryptError):
            media.attachment_of(bad)
