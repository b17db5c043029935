"""Files in end-to-end encrypted chats for the Python client (docs/e2ee.md §7.6): sealed on this
machine, uploaded by tus as `encrypted` ciphertext under a neutral name, and announced in an
envelope (kind `media`) that carries the key, digest, real name and type. `Client.send_file` and
`Client.download` call these."""

from __future__ import annotations

import asyncio
import base64
import mimetypes
import time
import uuid
from pathlib import Path

import httpx

from payambar.client.errors import ApiFailed, PeerNotEncrypted
from payambar.e2ee import media
from payambar.e2ee.primitives import DecryptError, b64, unb64

NEUTRAL_NAME = "file"  # the only name the server is told; the real one is inside the envelope
PATCH_BYTES = 256 * 1024
READ_BYTES = 256 * 1024
THUMBNAIL_MAX_BYTES = 4096
TUS = {"Tus-Resumable": "1.0.0"}


def _tus_metadata() -> str:
    name = base64.b64encode(NEUTRAL_NAME.encode()).decode()
    return f"filename {name},encrypted {base64.b64encode(b'1').decode()}"


async def _request(client, method: str, path: str, **kwargs) -> httpx.Response:
    headers = {"authorization": f"Bearer {client.token}", **kwargs.pop("headers", {})}
    response = await client.http.request(method, path, headers=headers, **kwargs)
    if response.status_code >= 400:
        raise ApiFailed(response)
    return response


class _Source:
    """Plaintext read in pieces from bytes or a file (file reads in a worker thread)."""

    def __init__(self, source: bytes | bytearray | memoryview | str | Path) -> None:
        self.data: bytes | None = None
        self.path: Path | None = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.data = bytes(source)
            self.size = len(self.data)
        else:
            self.path = Path(source)
            self.size = self.path.stat().st_size

    async def pieces(self):
        if self.data is not None:
            for at in range(0, self.size, READ_BYTES):
                yield self.data[at : at + READ_BYTES]
            return
        handle = await asyncio.to_thread(open, self.path, "rb")
        try:
            while piece := await asyncio.to_thread(handle.read, READ_BYTES):
                yield piece
        finally:
            await asyncio.to_thread(handle.close)


async def upload_sealed(client, source: _Source) -> tuple[str, media.Sealed]:
    """Seals the file as it is read and uploads the ciphertext by tus: (file id, key/digest/size)."""
    created = await _request(
        client,
        "POST",
        "/api/uploads",
        headers={**TUS, "Upload-Length": str(media.sealed_size(source.size)), "Upload-Metadata": _tus_metadata()},
    )
    location = created.headers["location"]
    sealer = media.Sealer()
    offset = 0
    waiting = bytearray()

    async def send(data: bytes) -> None:
        nonlocal offset
        answer = await _request(
            client,
            "PATCH",
            location,
            headers={**TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)},
            content=data,
        )
        offset = int(answer.headers["upload-offset"])

    async for piece in source.pieces():
        waiting += sealer.update(piece)
        while len(waiting) >= PATCH_BYTES:
            await send(bytes(waiting[:PATCH_BYTES]))
            del waiting[:PATCH_BYTES]
    tail, sealed = sealer.finish()
    if sealed.size != source.size:  # the file grew or shrank while it was read
        await _request(client, "DELETE", location, headers=TUS)
        raise ValueError("the file changed while it was being sent")
    waiting += tail
    while waiting:
        await send(bytes(waiting[:PATCH_BYTES]))
        del waiting[:PATCH_BYTES]
    return location.rsplit("/", 1)[1], sealed


def _details(details: dict) -> dict:
    """The sender's optional fields, a thumbnail's `data` (bytes or base64url) checked and encoded."""
    fields = dict(details)
    thumbnail = fields.get("thumbnail")
    if thumbnail is not None:
        data = thumbnail.get("data") if isinstance(thumbnail, dict) else None
        raw = data if isinstance(data, bytes) else unb64(data) if isinstance(data, str) else None
        if raw is None:
            raise ValueError("a thumbnail is {mime, width, height, data}")
        if len(raw) > THUMBNAIL_MAX_BYTES:
            raise ValueError(f"a thumbnail is at most {THUMBNAIL_MAX_BYTES} bytes")
        fields["thumbnail"] = {**thumbnail, "data": b64(raw)}
    return fields


def attachment(file_id: str, sealed: media.Sealed, name: str, mime: str, kind: str, details: dict) -> dict:
    """The `attachment` of a `media` inner message."""
    return _details(details) | {
        "file_id": file_id,
        "type": kind if kind in media.TYPES else "file",
        "key": b64(sealed.key),
        "digest": b64(sealed.digest),
        "size": sealed.size,
        "name": name,
        "mime": mime,
    }


async def send_file(
    client,
    username: str,
    source,
    name: str | None = None,
    mime: str | None = None,
    caption: str | None = None,
    kind: str = "file",
    details: dict | None = None,
    reply_to: int | None = None,
) -> dict:
    """Seals and uploads a file, then sends the envelope that carries its key; the server's message."""
    try:
        peer = await client.keys_of(username, fresh=True)  # before any upload: no keys, no file
    except ApiFailed as error:
        if error.code == "no_keys":
            raise PeerNotEncrypted(f"{username} has no end-to-end encryption keys: files go only sealed") from None
        raise
    _details(details or {})  # a bad thumbnail is refused before anything is uploaded
    readable = _Source(source)
    if name is None:
        name = readable.path.name if readable.path else NEUTRAL_NAME
    mime = mime or mimetypes.guess_type(name)[0] or "application/octet-stream"
    file_id, sealed = await upload_sealed(client, readable)
    inner = {
        "v": 1,
        "kind": "media",
        "sent_at": int(time.time() * 1000),
        "attachment": attachment(file_id, sealed, name, mime, kind, details or {}),
    }
    if caption:
        inner["text"] = caption
    if reply_to is not None:
        inner["reply_to"] = reply_to
    client_id = uuid.uuid4().hex
    envelope = await client._seal(username, peer, inner, client_id)
    body = {"to": username, "client_id": client_id, "envelope": envelope, "file_id": file_id}
    return await client._call("POST", "/api/messages", json=body)


async def download(client, received) -> bytes:
    """The plaintext of a received `media` message: fetched, its digest checked, then opened.
    DecryptError when it is not a media message, or the bytes are not the ones the sender sealed."""
    if received.inner is None:
        raise DecryptError(received.error or "the message could not be decrypted")
    found = media.attachment_of(received.inner)
    served = received.raw.get("attachment") or {}
    if served.get("id") != found.file_id:
        raise DecryptError("the server's message carries another file than the envelope names")
    response = await _request(client, "GET", f"/api/files/{found.file_id}")
    return await asyncio.to_thread(media.decrypt, response.content, found.key, found.digest, found.size)
