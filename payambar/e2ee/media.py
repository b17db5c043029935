"""Attachments sealed end to end (docs/e2ee.md §7.6): a file cut into 64 KiB chunks, each sealed with
AES-256-GCM under the file's own random key, the last chunk marked in its nonce so that a file cut
short, reordered or extended fails to open. The SHA-256 of the whole ciphertext travels in the
envelope and is checked before anything is decrypted.

Streaming: `Sealer` and `Opener` take bytes in pieces of any size and give bytes back as chunks
complete, so a file never has to be held whole in memory.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from payambar.e2ee.primitives import DecryptError, unb64

VERSION = 0x01
CHUNK = 64 * 1024  # plaintext bytes per chunk; every chunk but the last is exactly this long
TAG = 16
SEALED_CHUNK = CHUNK + TAG
PREFIX = 7  # random nonce prefix, one per file
HEADER = 1 + PREFIX  # version || nonce prefix
KEY = 32
LABEL = b"payambar/attachment/v1\x00"
MAX_CHUNKS = 2**32


def nonce(prefix: bytes, index: int, last: bool) -> bytes:
    """nonce_i = prefix (7) || u32 i || u8 last (1 on the file's final chunk, else 0)."""
    if not 0 <= index < MAX_CHUNKS:
        raise ValueError("too many chunks")
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def associated(header: bytes) -> bytes:
    """Every chunk's associated data: the label and the file's header."""
    return LABEL + header


def sealed_size(size: int) -> int:
    """The ciphertext's length for a plaintext of `size` bytes (an empty file is one empty chunk)."""
    chunks = max(1, -(-size // CHUNK))
    return HEADER + size + chunks * TAG


@dataclass(frozen=True)
class Sealed:
    """What the envelope carries about a sealed file (besides its server id, name and kind)."""

    key: bytes
    digest: bytes  # SHA-256 of the ciphertext, header included
    size: int  # plaintext bytes


class Sealer:
    """Seals one file, fed in pieces: `update` gives back the ciphertext of each chunk completed,
    `finish` the rest (the last chunk, always at least its tag)."""

    def __init__(self, key: bytes | None = None, prefix: bytes | None = None) -> None:
        self.key = key if key is not None else os.urandom(KEY)
        prefix = prefix if prefix is not None else os.urandom(PREFIX)
        if len(self.key) != KEY or len(prefix) != PREFIX:
            raise ValueError("a file key is 32 bytes and its nonce prefix 7")
        self.prefix = prefix
        self.header = bytes([VERSION]) + prefix
        self._aead = AESGCM(self.key)
        self._ad = associated(self.header)
        self._pending = bytearray()
        self._index = 0
        self._size = 0
        self._hash = hashlib.sha256(self.header)
        self._started = False
        self._done = False

    def _out(self, data: bytes) -> bytes:
        self._hash.update(data)
        return data

    def _head(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return self.header

    def update(self, data: bytes) -> bytes:
        if self._done:
            raise ValueError("already finished")
        self._pending += data
        self._size += len(data)
        out = [self._head()]
        # A full chunk is sealed only once a byte after it is known: until then it may be the last.
        while len(self._pending) > CHUNK:
            piece = bytes(self._pending[:CHUNK])
            del self._pending[:CHUNK]
            out.append(self._out(self._seal(piece, last=False)))
        return b"".join(out)

    def _seal(self, piece: bytes, last: bool) -> bytes:
        sealed = self._aead.encrypt(nonce(self.prefix, self._index, last), piece, self._ad)
        self._index += 1
        return sealed

    def finish(self) -> tuple[bytes, Sealed]:
        """(the remaining ciphertext, the key, digest and size for the envelope)."""
        if self._done:
            raise ValueError("already finished")
        head = self._head()
        last = self._out(self._seal(bytes(self._pending), last=True))
        self._pending.clear()
        self._done = True
        return head + last, Sealed(self.key, self._hash.digest(), self._size)


class Opener:
    """Opens one file, fed its ciphertext in pieces. A chunk is opened as the last only when the
    ciphertext ends after it (`finish`), so a file cut at a chunk boundary fails there. The digest
    is computed as it goes and checked by `finish`; a caller that streams must hold back what it got
    until `finish` returns (the `decrypt` function checks the digest before it decrypts anything)."""

    def __init__(self, key: bytes, digest: bytes | None = None) -> None:
        if len(key) != KEY:
            raise DecryptError("a file key is 32 bytes")
        self._aead = AESGCM(key)
        self._digest = digest
        self._hash = hashlib.sha256()
        self._buffer = bytearray()
        self._header: bytes | None = None
        self._index = 0
        self._size = 0
        self._done = False

    def update(self, data: bytes) -> bytes:
        if self._done:
            raise ValueError("already finished")
        self._hash.update(data)
        self._buffer += data
        if self._header is None:
            if len(self._buffer) < HEADER:
                return b""
            self._header = bytes(self._buffer[:HEADER])
            del self._buffer[:HEADER]
            if self._header[0] != VERSION:
                raise DecryptError(f"unknown attachment version {self._header[0]}")
        out = []
        while len(self._buffer) > SEALED_CHUNK:  # the chunk is followed by more: not the last
            piece = bytes(self._buffer[:SEALED_CHUNK])
            del self._buffer[:SEALED_CHUNK]
            out.append(self._open(self._header, piece, last=False))
        return b"".join(out)

    def _open(self, header: bytes, piece: bytes, last: bool) -> bytes:
        try:
            opened = self._aead.decrypt(nonce(header[1:], self._index, last), piece, associated(header))
        except InvalidTag:
            raise DecryptError(f"chunk {self._index} does not verify (wrong key, changed, cut or reordered)") from None
        except ValueError:
            raise DecryptError("too many chunks") from None
        self._index += 1
        self._size += len(opened)
        return opened

    def finish(self, size: int | None = None) -> bytes:
        """The last chunk's plaintext; checks the digest and, when given, the plaintext size."""
        if self._done:
            raise ValueError("already finished")
        self._done = True
        if self._digest is not None and self._hash.digest() != self._digest:
            raise DecryptError("the file's digest does not match the envelope's")
        if self._header is None or len(self._buffer) < TAG:
            raise DecryptError("the file is cut short")
        last = self._open(self._header, bytes(self._buffer), last=True)
        self._buffer.clear()
        if size is not None and self._size != size:
            raise DecryptError("the file's size does not match the envelope's")
        return last


def encrypt(data: bytes, key: bytes | None = None, prefix: bytes | None = None) -> tuple[bytes, Sealed]:
    """A whole file sealed at once: (ciphertext, what the envelope carries)."""
    sealer = Sealer(key, prefix)
    body = sealer.update(data)
    tail, sealed = sealer.finish()
    return body + tail, sealed


def decrypt(ciphertext: bytes, key: bytes, digest: bytes, size: int | None = None) -> bytes:
    """A whole file opened: the digest is checked first, then every chunk, then the size."""
    if hashlib.sha256(ciphertext).digest() != digest:
        raise DecryptError("the file's digest does not match the envelope's")
    if size is not None and len(ciphertext) != sealed_size(size):
        raise DecryptError("the file's length does not match the envelope's size")
    opener = Opener(key)
    view = memoryview(ciphertext)
    out = [opener.update(bytes(view[i : i + 16 * SEALED_CHUNK])) for i in range(0, len(ciphertext), 16 * SEALED_CHUNK)]
    out.append(opener.finish(size))
    return b"".join(out)


@dataclass(frozen=True)
class Attachment:
    """An inner message's `attachment` (kind `media`) with its bytes decoded and checked."""

    file_id: str
    key: bytes
    digest: bytes
    size: int
    name: str
    mime: str
    type: str
    fields: dict


TYPES = ("file", "photo", "video", "voice")


def attachment_of(inner: dict) -> Attachment:
    """The attachment of a `media` inner message; DecryptError when it is not one."""
    found = inner.get("attachment") if inner.get("kind") == "media" else None
    if not isinstance(found, dict):
        raise DecryptError("not a media message")
    try:
        key, digest = unb64(found["key"]), unb64(found["digest"])
        file_id, size = found["file_id"], found["size"]
    except (KeyError, ValueError, TypeError):
        raise DecryptError("the attachment lacks its file id, key, digest or size") from None
    if len(key) != KEY or len(digest) != 32 or not isinstance(file_id, str) or not file_id:
        raise DecryptError("the attachment's key or digest has the wrong length")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise DecryptError("the attachment's size is not a count of bytes")
    name, mime, kind = found.get("name"), found.get("mime"), found.get("type")
    return Attachment(
        file_id,
        key,
        digest,
        size,
        name if isinstance(name, str) else "file",
        mime if isinstance(mime, str) else "application/octet-stream",
        kind if isinstance(kind, str) and kind in TYPES else "file",
        found,
    )
