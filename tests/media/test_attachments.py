"""Messages with files: file_id on POST /api/messages and the send frame, the attachment field,
idempotent retries, and who may fetch a sent file (404 for everyone else, on every file route)."""

from __future__ import annotations

import uuid

import pytest
import tus
from checks import close_all, register_many
from helpers import Socket
from media_samples import jpeg_with_gps, ogg_opus, unique_bytes

FILE_ROUTES = ("", "/info", "/thumbnail")


@pytest.fixture
async def trio(live_server):
    """Sara and Omid chat; Nima chats with Sara about other things."""
    users = await register_many(live_server, 3)
    yield users
    await close_all(*users)


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    assert response.json()["error"]["code"] == code, response.text


async def send_file(api, to: str, file_id: str, text: str | None = "", client_id: str | None = None):
    body = {"to": to, "file_id": file_id, "client_id": client_id or uuid.uuid4().hex}
    if text is not None:
        body["text"] = text
    return await api.post("/api/messages", json=body)


async def assert_fetchable(api, file_id: str, routes=FILE_ROUTES) -> None:
    for path in routes:
        response = await api.get(f"/api/files/{file_id}{path}")
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"


async def assert_hidden(api, file_id: str, routes=FILE_ROUTES) -> None:
    for path in routes:
        refused(await api.get(f"/api/files/{file_id}{path}"), 404, "file_not_found")


async def test_a_photo_with_a_caption_reaches_the_peer_as_the_attachment(trio):
    sara, omid, _ = trio
    photo = await tus.upload(sara, jpeg_with_gps(), "sunset.jpg")
    response = await send_file(sara, omid.username, photo["id"], "غروب")
    assert response.status_code == 201, response.text
    message = response.json()
    assert message["text"] == "غروب"
    assert message["attachment"] == photo
    page = (await omid.get(f"/api/conversations/{sara.username}/messages")).json()
    assert page["messages"][-1]["attachment"] == photo
    await assert_fetchable(omid, photo["id"])


async def test_a_file_may_go_without_text(trio):
    sara, omid, _ = trio
    voice = await tus.upload(sara, ogg_opus(2000), "voice.ogg")
    for text in (None, ""):
        response = await send_file(sara, omid.username, voice["id"], text)
        assert response.status_code == 201, response.text
        assert response.json()["text"] == ""
        assert response.json()["attachment"]["duration_ms"] == 2000


async def test_text_messages_have_a_null_attachment(trio):
    sara, omid, _ = trio
    assert (await sara.send(omid.username, "سلام"))["attachment"] is None


async def test_a_retry_with_the_same_client_id_is_the_same_message(trio):
    sara, omid, _ = trio
    sent = await tus.upload(sara, unique_bytes(500), "a.txt")
    client_id = uuid.uuid4().hex
    first = await send_file(sara, omid.username, sent["id"], "x", client_id)
    again = await send_file(sara, omid.username, sent["id"], "x", client_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()


async def test_sending_someone_elses_file_is_404(trio):
    sara, omid, nima = trio
    theirs = await tus.upload(omid, unique_bytes(500), "theirs.txt")
    refused(await send_file(sara, nima.username, theirs["id"], "look"), 404, "file_not_found")
    refused(await send_file(sara, nima.username, "A" * 22, "look"), 404, "file_not_found")
    refused(await send_file(sara, nima.username, 12, "look"), 422, "invalid_input")


async def test_an_empty_text_without_a_file_is_still_refused(trio):
    sara, omid, _ = trio
    response = await sara.post("/api/messages", json={"to": omid.username, "text": "", "client_id": uuid.uuid4().hex})
    refused(response, 422, "invalid_input")


async def test_the_send_frame_takes_a_file_id_too(live_server, trio):
    sara, omid, _ = trio
    photo = await tus.upload(sara, jpeg_with_gps(200, 100), "ws.jpg")
    sara_socket = await Socket.open(live_server, sara.token)
    omid_socket = await Socket.open(live_server, omid.token)
    ref = await sara_socket.send_message(omid.username, "", file_id=photo["id"])
    ack = await sara_socket.expect("ack")
    assert ack["ref"] == ref and ack["message"]["attachment"] == photo
    update = await omid_socket.expect("message")
    assert update["message"]["attachment"] == photo
    await sara_socket.send_message(omid.username, "", file_id="B" * 22)
    error = await sara_socket.expect("error")
    assert error["code"] == "file_not_found"
    await sara_socket.close()
    await omid_socket.close()


async def test_strangers_and_other_conversations_get_404_on_every_file_route(trio):
    sara, omid, nima = trio
    await sara.send(nima.username, "a chat of its own")
    photo = await tus.upload(sara, jpeg_with_gps(), "private.jpg")
    assert (await send_file(sara, omid.username, photo["id"], "")).status_code == 201
    await assert_fetchable(sara, photo["id"])
    await assert_fetchable(omid, photo["id"])
    await assert_hidden(nima, photo["id"])


async def test_an_unsent_upload_is_the_uploaders_alone(trio):
    sara, omid, _ = trio
    photo = await tus.upload(sara, jpeg_with_gps(), "draft.jpg")
    await assert_fetchable(sara, photo["id"])
    await assert_hidden(omid, photo["id"])


async def test_deleting_the_message_ends_access_for_both_sides(trio):
    sara, omid, _ = trio
    photo = await tus.upload(sara, jpeg_with_gps(), "oops.jpg")
    message = (await send_file(sara, omid.username, photo["id"], "")).json()
    await assert_fetchable(omid, photo["id"])
    deleted = await sara.delete(f"/api/messages/{message['id']}")
    assert deleted.status_code == 200
    assert deleted.json()["attachment"] is None
    await assert_hidden(omid, photo["id"])
    await assert_hidden(sara, photo["id"])
    page = (await omid.get(f"/api/conversations/{sara.username}/messages")).json()
    assert page["messages"][-1]["attachment"] is None


async def test_a_forwarded_photo_takes_its_file_to_the_new_chat(trio):
    sara, omid, nima = trio
    photo = await tus.upload(sara, jpeg_with_gps(), "forward-me.jpg")
    original = (await send_file(sara, omid.username, photo["id"], "look")).json()
    await assert_hidden(nima, photo["id"])
    body = {"to": nima.username, "forward_of": original["id"], "client_id": uuid.uuid4().hex}
    response = await omid.post("/api/messages", json=body)
    assert response.status_code == 201, response.text
    forwarded = response.json()
    assert forwarded["attachment"] == photo and forwarded["forwarded_from"] == sara.username
    await assert_fetchable(nima, photo["id"])
    body = {"to": nima.username, "forward_of": original["id"], "client_id": uuid.uuid4().hex, "file_id": photo["id"]}
    refused(await omid.post("/api/messages", json=body), 422, "invalid_input")


async def test_hiding_the_message_for_yourself_ends_your_access_only(trio):
    sara, omid, _ = trio
    photo = await tus.upload(sara, jpeg_with_gps(), "hide-me.jpg")
    message = (await send_file(sara, omid.username, photo["id"], "")).json()
    hidden = await omid.delete(f"/api/messages/{message['id']}", params={"for": "me"})
    assert hidden.status_code == 204, hidden.text
    await assert_hidden(omid, photo["id"])
    await assert_fetchable(sara, photo["id"])
