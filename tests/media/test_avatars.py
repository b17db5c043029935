"""Profile photos: set from your own uploaded image, cut square in three sizes, public and
cacheable under a URL that changes with the photo, removable."""

from __future__ import annotations

import io

import pytest
import tus
from checks import close_all, register_many
from helpers import Api, Socket
from media_samples import jpeg_with_gps, unique_bytes
from PIL import Image


@pytest.fixture(scope="module")
async def users(live_server):
    apis = await register_many(live_server, 2)
    yield apis
    await close_all(*apis)


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    assert response.json()["error"]["code"] == code, response.text


async def set_photo(api, width: int = 640, height: int = 480) -> str:
    photo = await tus.upload(api, jpeg_with_gps(width, height), "me.jpg")
    response = await api.request("PUT", "/api/me/avatar", json={"file_id": photo["id"]})
    assert response.status_code == 200, response.text
    return response.json()["avatar"]


async def test_a_profile_photo_is_square_in_three_sizes_and_public(live_server, users):
    sara = users[0]
    url = await set_photo(sara)
    assert url.startswith(f"/api/users/{sara.username}/avatar?v=")
    anonymous = Api(live_server)
    for size in (64, 256, 640):
        response = await anonymous.get(f"{url}&size={size}")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert Image.open(io.BytesIO(response.content)).size == (size, size)
        assert b"PhoneMaker" not in response.content
    default = await anonymous.get(url)
    assert Image.open(io.BytesIO(default.content)).size == (256, 256)
    await anonymous.close()


async def test_a_new_photo_has_a_new_url(users):
    sara = users[0]
    first = await set_photo(sara, 300, 500)
    second = await set_photo(sara, 500, 300)
    assert first != second
    stale = await sara.get(first)
    assert stale.headers["cache-control"] == "public, no-cache"


async def test_only_your_own_image_can_be_your_photo(users):
    sara, omid = users
    photo = await tus.upload(sara, jpeg_with_gps(100, 100), "mine.jpg")
    refused(await omid.request("PUT", "/api/me/avatar", json={"file_id": photo["id"]}), 404, "file_not_found")
    text = await tus.upload(omid, unique_bytes(300), "notes.txt")
    refused(await omid.request("PUT", "/api/me/avatar", json={"file_id": text["id"]}), 422, "invalid_input")
    refused(await omid.request("PUT", "/api/me/avatar", json={"file_id": 7}), 422, "invalid_input")


async def test_removing_the_photo_makes_it_404(users):
    omid = users[1]
    url = await set_photo(omid)
    response = await omid.delete("/api/me/avatar")
    assert response.status_code == 204
    refused(await omid.get(url), 404, "avatar_not_found")


async def test_an_unknown_size_is_422_and_no_photo_is_404(users):
    sara = users[0]
    url = await set_photo(sara)
    refused(await sara.get(f"{url}&size=100"), 422, "invalid_input")
    refused(await sara.get("/api/users/nobody_here_at_all/avatar"), 404, "avatar_not_found")


async def test_user_objects_carry_the_photo_url_or_null(users):
    sara, omid = users
    await sara.send(omid.username, "hello")
    url = await set_photo(sara)
    assert (await omid.get(f"/api/users/{sara.username}")).json()["avatar"] == url
    assert (await sara.get("/api/me")).json()["avatar"] == url
    chats = (await omid.get("/api/conversations")).json()["conversations"]
    assert next(c for c in chats if c["peer"]["username"] == sara.username)["peer"]["avatar"] == url
    assert (await sara.delete("/api/me/avatar")).status_code == 204
    assert (await omid.get(f"/api/users/{sara.username}")).json()["avatar"] is None


async def test_the_people_you_chat_with_hear_of_a_new_photo(live_server, users):
    sara, omid = users
    await sara.send(omid.username, "hi")
    socket = await Socket.open(live_server, omid.token)
    url = await set_photo(sara)
    frame = await socket.expect("profile")
    assert frame["user"]["username"] == sara.username and frame["user"]["avatar"] == url
    assert (await sara.delete("/api/me/avatar")).status_code == 204
    frame = await socket.expect("profile")
    assert frame["user"]["avatar"] is None
    await socket.close()


async def test_changing_the_photo_needs_a_token(live_server):
    anonymous = Api(live_server)
    refused(await anonymous.request("PUT", "/api/me/avatar", json={"file_id": "A" * 22}), 401, "unauthorized")
    refused(await anonymous.delete("/api/me/avatar"), 401, "unauthorized")
    await anonymous.close()
