"""Files of a kind the server does not tell, and files sealed end to end: taken whatever their
bytes, kept exactly as they came, and served only as downloads (never inline)."""

from __future__ import annotations

import os

import pytest
import tus
from checks import close_all, register_many
from media_samples import MP4_FILM, MP4_SECRETS, SECRETS, jpeg_with_gps, mp4_box, phone_mp4, unique_bytes

OPAQUE = "application/octet-stream"


@pytest.fixture(scope="module")
async def users(live_server):
    apis = await register_many(live_server, 3)
    yield apis
    await close_all(*apis)


def assert_a_download_only(response) -> None:
    assert response.headers["content-type"] == OPAQUE
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def assert_round_trip(api, file_id: str, data: bytes) -> None:
    url = f"/api/files/{file_id}"
    whole = await api.get(url)
    assert whole.status_code == 200
    assert whole.content == data
    assert_a_download_only(whole)
    part = await api.get(url, headers={"Range": "bytes=1000-4999"})
    assert part.status_code == 206
    assert part.content == data[1000:5000]
    assert part.headers["content-range"] == f"bytes 1000-4999/{len(data)}"
    assert_a_download_only(part)
    tail = await api.get(url, headers={"Range": "bytes=-7"})
    assert tail.status_code == 206 and tail.content == data[-7:]


# ---- any kind of file ------------------------------------------------------------------------


async def test_random_bytes_are_taken_and_come_back_byte_for_byte_as_a_download(users):
    data = os.urandom(300_000)
    sent = await tus.upload(users[0], data, "noise", chunk=64 * 1024)
    assert sent["mime"] == OPAQUE and sent["size"] == len(data) and sent["name"] == "noise"
    await assert_round_trip(users[0], sent["id"], data)


async def test_a_bin_file_keeps_its_name_and_bytes(users):
    data = b"\x00\x01\x02\xfe\xff" * 2000 + os.urandom(64)
    sent = await tus.upload(users[0], data, "firmware.bin")
    assert sent == {"id": sent["id"], "name": "firmware.bin", "mime": OPAQUE, "size": len(data)}
    await assert_round_trip(users[0], sent["id"], data)
    response = await users[0].get(f"/api/files/{sent['id']}")
    assert 'filename="firmware.bin"' in response.headers["content-disposition"]


async def test_the_recipient_downloads_an_unknown_kind_and_a_stranger_gets_404(users):
    sara, omid, stranger = users
    data = os.urandom(20_000)
    sent = await tus.upload(sara, data, "archive.7z")
    await sara.send(omid.username, "", file_id=sent["id"])
    await assert_round_trip(omid, sent["id"], data)
    for path in ("", "/info", "/thumbnail"):
        assert (await stranger.get(f"/api/files/{sent['id']}{path}")).status_code == 404


HTML = b"<!doctype html><html><body><script>alert(document.domain)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (HTML + b"\xff\xfe not utf-8", "photo.png"),  # not text, not a photo: opaque
        (HTML + b" <!-- " + unique_bytes(40) + b" -->", "photo.jpg"),  # text
        (SVG + b"\x80\x81", "logo.svg"),
        (SVG + b" " + unique_bytes(40), "logo.gif"),
    ],
)
async def test_html_or_svg_in_disguise_is_never_served_inline(users, content, name):
    sent = await tus.upload(users[0], content, name)
    assert sent["mime"] in (OPAQUE, "text/plain")
    for params in ({}, {"download": "1"}):
        response = await users[0].get(f"/api/files/{sent['id']}", params=params)
        assert response.status_code == 200 and response.content == content
        assert response.headers["content-disposition"].startswith("attachment;")
        assert response.headers["content-type"].split(";")[0] in (OPAQUE, "text/plain")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in response.headers["content-security-policy"]


# ---- sealed end to end -------------------------------------------------------------------------


async def test_an_encrypted_upload_is_kept_as_it_came_with_no_processing(users):
    # Bytes that look like a photo with GPS: as ciphertext they are never opened or cleaned.
    data = jpeg_with_gps(640, 480)
    assert any(secret in data for secret in SECRETS)
    sent = await tus.upload(users[0], data, "IMG_0002.jpg", encrypted=True)
    assert sent == {"id": sent["id"], "name": "IMG_0002.jpg", "mime": OPAQUE, "size": len(data), "encrypted": True}
    await assert_round_trip(users[0], sent["id"], data)
    response = await users[0].get(f"/api/files/{sent['id']}/thumbnail")
    assert response.status_code == 404 and response.json()["error"]["code"] == "thumbnail_not_found"


async def test_an_encrypted_file_is_for_nobody_until_an_envelope_carries_it(users):
    """A sealed upload is its owner's alone; a plaintext chat (these people have no keys) cannot
    carry it (409 file_encrypted: nobody there could open it), so it stays nobody else's. The
    recipient's and a stranger's side of a sealed file sent with an envelope: tests/e2ee."""
    sara, omid, stranger = users
    data = os.urandom(50_000)
    sent = await tus.upload(sara, data, "sealed", encrypted=True)
    assert (await stranger.get(f"/api/files/{sent['id']}")).status_code == 404  # not sent yet
    assert (await omid.get(f"/api/files/{sent['id']}")).status_code == 404
    refused = await sara.post("/api/messages", json={"to": omid.username, "client_id": "d" * 32, "file_id": sent["id"]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "file_encrypted"
    await assert_round_trip(sara, sent["id"], data)
    for api in (omid, stranger):
        for path in ("", "/info", "/thumbnail"):
            assert (await api.get(f"/api/files/{sent['id']}{path}")).status_code == 404
    anonymous = await stranger.client.get(f"/api/files/{sent['id']}")
    assert anonymous.status_code == 401


async def test_an_encrypted_upload_belongs_to_its_creator(users):
    sara, omid, _ = users
    location = await tus.start(sara, 10_000, "sealed", encrypted=True)
    assert (await tus.head(omid, location)).status_code == 404
    assert (await tus.append(omid, location, 0, os.urandom(10_000))).status_code == 404
    assert (await tus.head(sara, location)).headers["upload-offset"] == "0"


async def test_an_encrypted_upload_is_held_to_the_size_limit(users):
    response = await tus.create(users[0], 20 * 1024 * 1024 + 1, "big", encrypted=True)
    assert response.status_code == 413 and response.json()["error"]["code"] == "file_too_large"


async def test_the_encrypted_mark_is_1_or_nothing(users):
    headers = {**tus.TUS, "Upload-Length": "10", "Upload-Metadata": tus.metadata(filename="a", encrypted="yes")}
    response = await users[0].post("/api/uploads", headers=headers)
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_metadata"
    bare = {**headers, "Upload-Metadata": tus.metadata(filename="a") + ",encrypted"}
    assert (await users[0].post("/api/uploads", headers=bare)).status_code == 201


async def test_an_encrypted_file_cannot_be_a_profile_photo(users):
    sent = await tus.upload(users[0], jpeg_with_gps(200, 200), "me.jpg", encrypted=True)
    response = await users[0].request("PUT", "/api/me/avatar", json={"file_id": sent["id"]})
    assert response.status_code == 422 and response.json()["error"]["field"] == "file_id"


# ---- videos ----------------------------------------------------------------------------------


async def test_a_plaintext_mp4_loses_the_place_it_was_filmed_and_keeps_its_film(users):
    original = phone_mp4()
    sent = await tus.upload(users[0], original, "IMG_0042.mp4")
    assert sent["mime"] == "video/mp4" and sent["size"] == len(original)
    served = (await users[0].get(f"/api/files/{sent['id']}")).content
    assert len(served) == len(original), "nothing moves: the offsets into the film stay right"
    for secret in MP4_SECRETS:
        assert secret in original and secret not in served, secret
    assert served.endswith(mp4_box(b"mdat", MP4_FILM)) and served[:32] == original[:32]
