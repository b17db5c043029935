"""Files in encrypted chats with the Python client and the real server: what one person sends,
every device of both people reads byte for byte, and the server keeps and serves only ciphertext
under a neutral name."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from helpers import PASSWORD, Socket, fresh_username

from payambar.client import Client, PeerNotEncrypted
from payambar.e2ee import media
from payambar.e2ee.primitives import DecryptError, unb64
from tests import e2ee_database as db
from tests.e2ee_people import close, person


def every_byte_under(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


async def test_a_file_reaches_every_device_byte_for_byte_and_the_server_never_sees_it(server_factory, tmp_path):
    server = server_factory(LOG_LEVEL="debug")
    answers: list[bytes] = []

    async def record(response: httpx.Response) -> None:
        answers.append(await response.aread())

    sara, omid = await person(server, tmp_path), await person(server, tmp_path)
    for device in sara + omid:  # every answer the server gives them from here on is kept
        device.http.event_hooks["response"].append(record)
    socket = await Socket.open(server, omid[0].token)
    marker = f"MARKER-{uuid.uuid4().hex}-نشانه"
    contents = os.urandom(700_000) + f"the secret is {marker}".encode() + os.urandom(300_000)
    name = f"{marker}.pdf"
    try:
        sent = await sara[0].send_file(omid[0].username, contents, name=name, caption=f"caption {marker}")
        frame = await socket.expect("message")
        assert sent["text"] == "" and sent["envelope"] and sent["attachment"]["encrypted"] is True
        served = sent["attachment"]
        assert (served["name"], served["mime"]) == ("file", "application/octet-stream")
        assert served["size"] == media.sealed_size(len(contents)) and "thumbnail" not in served

        for device, peer in [(omid[0], sara[0]), (omid[1], sara[0]), (sara[1], omid[0]), (sara[0], omid[0])]:
            received = (await device.history(peer.username))[-1]
            assert received.kind == "media" and received.text == f"caption {marker}", device.username
            attachment = received.inner["attachment"]
            assert (attachment["name"], attachment["mime"], attachment["size"]) == (
                name,
                "application/pdf",
                len(contents),
            )
            assert await device.download(received) == contents

        ciphertext = (await omid[0].http.get(f"/api/files/{served['id']}", headers=auth(omid[0]))).content
        assert len(ciphertext) == served["size"] and ciphertext[0] == media.VERSION
        assert hashlib.sha256(ciphertext).digest() == media.attachment_of(received.inner).digest
        assert contents[:4096] not in ciphertext and contents[-4096:] not in ciphertext

        needle = marker.encode()
        assert needle not in await db.every_stored_byte(server)
        stored_files = every_byte_under(server.data_dir / "files")
        assert ciphertext in stored_files and needle not in stored_files
        assert needle not in server.log().encode()
        assert answers and not any(needle in answer for answer in answers)
        assert needle not in orjson.dumps(frame)
    finally:
        await socket.close(), await close(sara, omid)


def auth(client: Client) -> dict:
    return {"authorization": f"Bearer {client.token}"}


async def test_a_changed_or_swapped_file_is_refused_and_a_stranger_cannot_fetch_it(live_server, tmp_path):
    server = live_server
    sara, omid = await person(server, tmp_path, 1), await person(server, tmp_path, 1)
    reza = await person(server, tmp_path, 1)
    try:
        path = tmp_path / "one.txt"
        path.write_bytes(b"first file " * 5000)
        await sara[0].send_file(omid[0].username, path)  # from a file on disk: its name goes along
        await sara[0].send_file(omid[0].username, b"second file " * 5000, name="two.txt")
        first, second = await omid[0].history(sara[0].username)
        assert first.inner["attachment"]["name"] == "one.txt" and first.inner["attachment"]["mime"] == "text/plain"
        assert await omid[0].download(first) == b"first file " * 5000
        file_id = first.raw["attachment"]["id"]
        assert (await reza[0].http.get(f"/api/files/{file_id}", headers=auth(reza[0]))).status_code == 404

        swapped = first.raw | {"attachment": second.raw["attachment"]}  # another file under this envelope
        with pytest.raises(DecryptError, match="another file"):
            await omid[0].download(type(first)(**{**first.__dict__, "raw": swapped}))

        sealed_size = first.raw["attachment"]["size"]
        blobs = [p for p in (server.data_dir / "files").rglob("*") if p.is_file() and p.stat().st_size == sealed_size]
        blob = next(
            p for p in blobs if hashlib.sha256(p.read_bytes()).digest() == media.attachment_of(first.inner).digest
        )
        changed = bytearray(blob.read_bytes())
        changed[5000] ^= 0x01
        blob.chmod(0o644)
        blob.write_bytes(bytes(changed))  # an operator changing one byte on disk
        with pytest.raises(DecryptError, match="digest"):
            await omid[0].download(first)
        assert await omid[0].download(second) == b"second file " * 5000
        text = await sara[0].send_text(omid[0].username, "not a file")
        with pytest.raises(DecryptError, match="not a media message"):
            await omid[0].download(await omid[0].open(text))
    finally:
        await close(sara, omid, reza)


async def uploads_of(server, client: Client) -> list[tuple]:
    sql = "SELECT (SELECT count(*) FROM uploads WHERE user_id = ?), (SELECT count(*) FROM files WHERE owner_id = ?)"
    return await db.fetch(server, sql, (client.user_id, client.user_id))


async def test_a_file_for_someone_without_keys_is_refused_before_anything_is_uploaded(live_server, tmp_path):
    server = live_server
    sara = await person(server, tmp_path, 1)
    plain = Client(server.url)
    await plain.register(fresh_username("p"), PASSWORD)
    try:
        with pytest.raises(PeerNotEncrypted):
            await sara[0].send_file(plain.username, b"never sent", name="x.txt")
        assert await uploads_of(server, sara[0]) == [(0, 0)]
    finally:
        await plain.close(), await close(sara)


async def test_a_photo_carries_its_thumbnail_and_details_inside_the_envelope(live_server, tmp_path):
    server = live_server
    sara, omid = await person(server, tmp_path, 1), await person(server, tmp_path, 1)
    thumbnail = b"\xff\xd8\xff\xe0" + os.urandom(1500) + b"THUMBNAIL-" + uuid.uuid4().hex.encode()
    photo = b"\xff\xd8\xff\xe1" + os.urandom(200_000)
    details = {
        "width": 1280,
        "height": 960,
        "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
        "thumbnail": {"mime": "image/jpeg", "width": 32, "height": 24, "data": thumbnail},
    }
    try:
        with pytest.raises(ValueError, match="at most 4096"):
            too_big = {"thumbnail": {"mime": "image/jpeg", "width": 9, "height": 9, "data": os.urandom(5000)}}
            await sara[0].send_file(omid[0].username, photo, name="big.jpg", kind="photo", details=too_big)
        assert await uploads_of(server, sara[0]) == [(0, 0)]
        sent = await sara[0].send_file(omid[0].username, photo, name="IMG_0001.jpg", kind="photo", details=details)
        assert "thumbnail" not in sent["attachment"] and "width" not in sent["attachment"]
        (received,) = await omid[0].history(sara[0].username)
        attachment = received.inner["attachment"]
        assert (attachment["type"], attachment["mime"], attachment["width"], attachment["height"]) == (
            "photo",
            "image/jpeg",
            1280,
            960,
        )
        assert unb64(attachment["thumbnail"]["data"]) == thumbnail and attachment["blurhash"] == details["blurhash"]
        assert await omid[0].download(received) == photo
        assert thumbnail[-42:] not in await db.every_stored_byte(server)
        assert thumbnail[-42:] not in every_byte_under(server.data_dir / "files")
    finally:
        await close(sara, omid)


async def upload_plain(client: Client, data: bytes, encrypted: bool) -> str:
    """A tus upload by hand: in the clear, or marked `encrypted 1` (the server then keeps it unread)."""
    metadata = "filename ZmlsZQ==" + (",encrypted MQ==" if encrypted else "")
    tus = {**auth(client), "Tus-Resumable": "1.0.0"}
    created = await client.http.post(
        "/api/uploads", headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": metadata}
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    patched = await client.http.patch(
        location,
        headers={**tus, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"},
        content=data,
    )
    assert patched.status_code == 204, patched.text
    return location.rsplit("/", 1)[1]


async def test_a_file_the_chat_could_not_keep_sealed_or_could_not_open_is_refused(live_server, tmp_path):
    """An envelope with a file uploaded in the clear (the server could read it) is 409
    file_not_encrypted; a sealed file in a plaintext chat (nobody could open it) 409 file_encrypted;
    someone else's file 404. Nothing is stored for any of them."""
    server = live_server
    sara, omid = await person(server, tmp_path, 1), await person(server, tmp_path, 1)
    plain = Client(server.url)
    await plain.register(fresh_username("p"), PASSWORD)
    try:
        clear_id = await upload_plain(sara[0], b"read by the server " * 100, encrypted=False)
        envelope = await sara[0]._seal(
            omid[0].username, await sara[0].keys_of(omid[0].username), {"v": 1, "kind": "text", "text": "x"}, "c" * 32
        )
        body = {"to": omid[0].username, "client_id": "c" * 32, "envelope": envelope, "file_id": clear_id}
        refused = await sara[0].http.post("/api/messages", json=body, headers=auth(sara[0]))
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "file_not_encrypted", refused.text
        socket = await Socket.open(server, sara[0].token)
        await socket.send_frame({"type": "send", "ref": "r1", **body})
        error = await socket.expect("error")
        assert error["code"] == "file_not_encrypted" and error["ref"] == "r1", error
        await socket.close()

        sealed_id = await upload_plain(plain, os.urandom(2000), encrypted=True)
        body = {"to": sara[0].username, "client_id": uuid.uuid4().hex, "text": "a sealed file", "file_id": sealed_id}
        refused = await plain.http.post("/api/messages", json=body, headers=auth(plain))
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "file_encrypted", refused.text

        body = {"to": sara[0].username, "client_id": uuid.uuid4().hex, "text": "not mine", "file_id": clear_id}
        stranger = await plain.http.post("/api/messages", json=body, headers=auth(plain))
        assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "file_not_found", stranger.text
        assert (await omid[0].history(sara[0].username)) == [] and (await sara[0].history(plain.username)) == []
    finally:
        await plain.close(), await close(sara, omid)
