"""Finished files: photos cleaned and previewed, voice notes measured, downloads with Range,
ETag and a safe Content-Disposition, and 404 for everyone who may not fetch them."""

from __future__ import annotations

import io

import pytest
import tus
from checks import close_all, register_many
from media_samples import (
    SECRETS,
    animated_gif_with_comment,
    animated_png_with_gps,
    animated_webp_with_gps,
    jpeg_with_gps,
    jpeg_with_xmp_and_comment,
    mpo_with_gps,
    ogg_opus,
    png_bomb,
    png_with_gps,
    unique_bytes,
    webm_opus,
    webp_with_gps,
)
from PIL import Image


@pytest.fixture(scope="module")
async def users(live_server):
    apis = await register_many(live_server, 3)
    yield apis
    await close_all(*apis)


@pytest.fixture(scope="module")
async def photo(users):
    return await tus.upload(users[0], jpeg_with_gps(640, 480), "IMG_0001.jpg")


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    assert response.json()["error"]["code"] == code, response.text


# ---- photos ------------------------------------------------------------------------------------


async def test_a_photo_is_served_without_exif_or_gps(users, photo):
    response = await users[0].get(f"/api/files/{photo['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    served = Image.open(io.BytesIO(response.content))
    exif = served.getexif()
    assert 0x8825 not in exif and 0x010F not in exif
    assert b"PhoneMaker" not in response.content
    assert photo["size"] == len(response.content)


REVEALING = {
    "photo.jpg": (jpeg_with_xmp_and_comment, 1),
    "ultra-hdr.jpg": (mpo_with_gps, 1),  # MPO: its gain map (the second image) is dropped
    "still.png": (png_with_gps, 1),
    "still.webp": (webp_with_gps, 1),
    "moving.webp": (animated_webp_with_gps, 3),
    "moving.png": (animated_png_with_gps, 3),
    "moving.gif": (animated_gif_with_comment, 3),
}


@pytest.mark.parametrize("name", REVEALING)
async def test_no_kind_of_photo_keeps_its_location_camera_or_serial(users, name):
    make, frames = REVEALING[name]
    sent = make()
    assert any(secret in sent for secret in SECRETS)
    photo = await tus.upload(users[0], sent, name)
    served = (await users[0].get(f"/api/files/{photo['id']}")).content
    assert [secret for secret in SECRETS if secret in served] == []
    image = Image.open(io.BytesIO(served))
    assert len(image.getexif()) == 0 and "xmp" not in image.info and "comment" not in image.info
    assert image.format == {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF"}[name.rsplit(".", 1)[1]]
    assert getattr(image, "n_frames", 1) == frames  # animations stay animated
    assert (photo["width"], photo["height"]) == image.size


async def test_a_photo_has_size_thumbnail_and_blurhash(users, photo):
    assert photo["mime"] == "image/jpeg"
    assert (photo["width"], photo["height"]) == (640, 480)
    assert len(photo["blurhash"]) == 28  # 4 x 3 components
    assert photo["thumbnail"] == f"/api/files/{photo['id']}/thumbnail"
    response = await users[0].get(photo["thumbnail"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    thumbnail = Image.open(io.BytesIO(response.content))
    assert thumbnail.size == (320, 240)


async def test_a_photo_is_turned_upright_by_its_orientation(users):
    sideways = await tus.upload(users[0], jpeg_with_gps(640, 480, orientation=6), "sideways.jpg")
    assert (sideways["width"], sideways["height"]) == (480, 640)
    served = Image.open(io.BytesIO((await users[0].get(f"/api/files/{sideways['id']}")).content))
    assert served.size == (480, 640)
    assert served.getexif().get(0x0112) in (None, 1)


async def test_a_decompression_bomb_is_refused_422(users):
    response, location = await tus.upload_refused(users[0], png_bomb(), "bomb.png")
    refused(response, 422, "image_too_large")
    assert (await tus.head(users[0], location)).status_code == 404


# ---- voice notes -------------------------------------------------------------------------------


async def test_an_ogg_opus_voice_note_has_its_duration_and_a_waveform(users):
    voice = await tus.upload(users[0], ogg_opus(3140), "voice.ogg")
    assert voice["mime"] == "audio/ogg"
    assert voice["duration_ms"] == 3140
    waveform = voice["waveform"]
    assert len(waveform) == 64 and all(0 <= level <= 100 for level in waveform)
    assert max(waveform[:30]) < min(waveform[34:])  # quiet first half, loud second


async def test_a_webm_voice_note_from_media_recorder_has_its_duration(users):
    voice = await tus.upload(users[0], webm_opus(2500), "voice.webm")
    assert voice["mime"] == "audio/webm"
    assert voice["duration_ms"] == 2500
    assert len(voice["waveform"]) == 64


# ---- downloads ---------------------------------------------------------------------------------


async def test_range_requests_return_exactly_those_bytes(users):
    data = unique_bytes(100_000)
    sent = await tus.upload(users[0], data, "range.txt")
    url = f"/api/files/{sent['id']}"
    response = await users[0].get(url, headers={"Range": "bytes=1000-1999"})
    assert response.status_code == 206
    assert response.content == data[1000:2000]
    assert response.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    suffix = await users[0].get(url, headers={"Range": "bytes=-10"})
    assert suffix.status_code == 206 and suffix.content == data[-10:]
    open_ended = await users[0].get(url, headers={"Range": "bytes=99990-"})
    assert open_ended.status_code == 206 and open_ended.content == data[99990:]
    beyond = await users[0].get(url, headers={"Range": "bytes=200000-"})
    refused(beyond, 416, "range_not_satisfiable")
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"


async def test_etag_and_if_none_match_answer_304(users, photo):
    url = f"/api/files/{photo['id']}"
    first = await users[0].get(url)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    again = await users[0].get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


async def test_content_disposition_has_a_safe_and_an_exact_name(users):
    sent = await tus.upload(users[0], unique_bytes(100), 'گزارش "نهایی".txt')
    response = await users[0].get(f"/api/files/{sent['id']}")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert disposition.isascii()
    assert "filename*=UTF-8''%DA%AF%D8%B2%D8%A7%D8%B1%D8%B4%20%22" in disposition
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_html_is_never_served_inline(users):
    page = b"<!doctype html><html><script>alert(document.cookie)</script></html>" + unique_bytes(40)
    sent = await tus.upload(users[0], page, "page.html")
    response = await users[0].get(f"/api/files/{sent['id']}")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-type"].startswith("text/plain")
    assert "sandbox" in response.headers["content-security-policy"]


async def test_photos_are_inline_unless_a_download_is_asked_for(users, photo):
    inline = await users[0].get(f"/api/files/{photo['id']}")
    assert inline.headers["content-disposition"].startswith("inline;")
    download = await users[0].get(f"/api/files/{photo['id']}", params={"download": "1"})
    assert download.headers["content-disposition"].startswith("attachment;")


# ---- access ------------------------------------------------------------------------------------


async def test_a_stranger_gets_404_on_every_file_route(users, photo):
    stranger = users[2]
    for path in ("", "/info", "/thumbnail"):
        refused(await stranger.get(f"/api/files/{photo['id']}{path}"), 404, "file_not_found")


async def test_an_unknown_or_malformed_file_id_is_404(users):
    for file_id in ("A" * 22, "nope", "..%2F..%2Fsecret_key"):
        response = await users[0].get(f"/api/files/{file_id}")
        assert response.status_code == 404
