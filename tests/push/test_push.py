"""Web Push end to end: a real server POSTs to a local HTTPS push service the test serves, with a
VAPID token that verifies against GET /api/push/key and a body the test's keys decrypt."""

from __future__ import annotations

import asyncio
import os
import stat
import uuid

import httpx
import pytest
from checks import assert_error, close_all, register_many
from e2ee_people import close, person
from helpers import Api, Socket, register
from media_samples import jpeg_with_gps
from push_service import Browser, verified_vapid_claims
from tus import upload as tus_upload


async def subscribe(api: Api, endpoint: str, browser: Browser | None = None) -> Browser:
    browser = browser or Browser()
    response = await api.post("/api/push/subscriptions", json={"endpoint": endpoint, "keys": browser.keys})
    assert response.status_code == 201, response.text
    return browser


async def server_key(server) -> str:
    response = await Api(server).get("/api/push/key")
    assert response.status_code == 200
    return response.json()["key"]


async def nothing_more(push_service, endpoint: str, count: int, seconds: float = 1.0) -> None:
    await asyncio.sleep(seconds)
    assert len(push_service.at(endpoint)) == count


async def test_the_key_is_a_p256_public_key_kept_private_in_the_data_folder(server_factory, tmp_path):
    first = server_factory(tmp_path / "data")
    key = await server_key(first)
    assert len(Browser().keys["p256dh"]) == len(key)  # 65 bytes, base64url
    key_file = tmp_path / "data" / "vapid_private_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    first.stop()
    again = server_factory(tmp_path / "data")
    assert await server_key(again) == key


async def test_a_message_pushes_once_with_a_verified_token_and_a_payload_naming_the_sender(push_server, push_service):
    sara, omid = await register_many(push_server, 2)
    await sara.patch("/api/me", json={"display_name": "سارا"})
    endpoint, own_endpoint = push_service.url(), push_service.url()
    browser = await subscribe(omid, endpoint)
    await subscribe(sara, own_endpoint)
    message = await sara.send(omid.username, "سلام امید")
    [push] = await push_service.wait_for(endpoint, 1)
    assert push.headers["content-encoding"] == "aes128gcm"
    assert int(push.headers["ttl"]) > 0
    assert push.headers["urgency"] == "high"
    verified_vapid_claims(push.headers["authorization"], await server_key(push_server), endpoint)
    assert browser.decrypt(push.body) == {
        "type": "message",
        "chat": sara.username,
        "message_id": message["id"],
        "sender": {"username": sara.username, "display_name": "سارا", "avatar": None},
        "text": "سلام امید",
    }
    await nothing_more(push_service, endpoint, 1)
    assert push_service.at(own_endpoint) == []  # the sender's own browsers get nothing
    await close_all(sara, omid)


async def test_no_push_while_a_device_of_the_recipient_views_that_chat(push_server, push_service):
    sara, omid, leila = await register_many(push_server, 3)
    endpoint = push_service.url()
    await subscribe(omid, endpoint)
    phone = await Socket.open(push_server, omid.token)

    async def view(peer):
        await phone.send_frame({"type": "viewing", "peer": peer})
        await phone.send_frame({"type": "ping"})
        await phone.expect("pong", skip=("presence", "typing", "message"))

    await view(sara.username.upper())  # any case of the name
    await sara.send(omid.username, "you are looking at this chat")
    await nothing_more(push_service, endpoint, 0)
    await leila.send(omid.username, "another chat")
    await push_service.wait_for(endpoint, 1)
    await view(leila.username)
    await sara.send(omid.username, "now you are not")
    await push_service.wait_for(endpoint, 2)
    await view(None)
    await leila.send(omid.username, "no chat open")
    await push_service.wait_for(endpoint, 3)
    await view(sara.username)
    await phone.close()  # the device that viewed it is gone
    await asyncio.sleep(0.3)
    await sara.send(omid.username, "and now it is closed")
    assert len(await push_service.wait_for(endpoint, 4)) == 4
    await close_all(sara, omid, leila)


async def test_reading_a_chat_pushes_read_to_clear_its_notifications(push_server, push_service):
    sara, omid = await register_many(push_server, 2)
    endpoint = push_service.url()
    browser = await subscribe(omid, endpoint)
    message = await sara.send(omid.username, "read me")
    await push_service.wait_for(endpoint, 1)
    response = await omid.post(f"/api/conversations/{sara.username}/read", json={"up_to": message["id"]})
    assert response.status_code == 200
    pushes = await push_service.wait_for(endpoint, 2)
    assert browser.decrypt(pushes[1].body) == {"type": "read", "chat": sara.username}
    # The same topic as the chat's message push: a waiting push is replaced, not piled up.
    assert pushes[1].headers["topic"] == pushes[0].headers["topic"]
    # A chat read while nothing of it was pushed has nothing to clear: no push.
    phone = await Socket.open(push_server, omid.token)
    await phone.send_frame({"type": "viewing", "peer": sara.username})
    await phone.send_frame({"type": "ping"})
    await phone.expect("pong")
    later = await sara.send(omid.username, "seen as it came")
    response = await omid.post(f"/api/conversations/{sara.username}/read", json={"up_to": later["id"]})
    assert response.status_code == 200
    await nothing_more(push_service, endpoint, 2)
    await phone.close()
    await close_all(sara, omid)


async def test_logout_ends_the_sessions_subscriptions(push_server, push_service):
    sara, omid = await register_many(push_server, 2)
    endpoint = push_service.url()
    await subscribe(omid, endpoint)
    assert (await omid.post("/api/auth/logout")).status_code == 204
    await sara.send(omid.username, "nobody is logged in there")
    await nothing_more(push_service, endpoint, 0)
    await close_all(sara, omid)


async def test_a_password_change_ends_the_other_sessions_subscriptions(push_server, push_service):
    sara, omid = await register_many(push_server, 2)
    laptop = Api(push_server)
    login = await laptop.post("/api/auth/login", json={"username": omid.username, "password": "correct horse battery"})
    laptop.token = login.json()["token"]
    kept, ended = push_service.url(), push_service.url()
    await subscribe(omid, kept)
    await subscribe(laptop, ended)
    response = await omid.post(
        "/api/me/password", json={"current_password": "correct horse battery", "new_password": "another horse"}
    )
    assert response.status_code == 200
    await sara.send(omid.username, "only the phone")
    await push_service.wait_for(kept, 1)
    await nothing_more(push_service, ended, 0, seconds=0.5)
    await close_all(sara, omid, laptop)


@pytest.mark.parametrize("status", [404, 410])
async def test_a_subscription_the_push_service_calls_gone_is_removed(push_server, push_service, status):
    sara, omid = await register_many(push_server, 2)
    endpoint = push_service.url()
    push_service.statuses[endpoint.split(str(push_service.port), 1)[1]] = status
    await subscribe(omid, endpoint)
    await sara.send(omid.username, "first")
    await push_service.wait_for(endpoint, 1)
    await asyncio.sleep(0.3)
    await sara.send(omid.username, "second")
    await nothing_more(push_service, endpoint, 1)
    assert_error(await omid.delete("/api/push/subscriptions", json={"endpoint": endpoint}), 404, "not_found")
    await close_all(sara, omid)


async def test_an_unreachable_push_service_does_not_delay_messages(push_server, push_service):
    sara, omid = await register_many(push_server, 2)
    await subscribe(omid, "https://127.0.0.1:9/push/nobody-listens")
    socket = await Socket.open(push_server, omid.token)
    for n in range(3):
        await sara.send(omid.username, f"m{n}")
        frame = await socket.expect("message", timeout=2)
        assert frame["message"]["text"] == f"m{n}"
    await socket.close()
    await close_all(sara, omid)


async def test_unsubscribing_is_for_your_own_subscription_only(push_server, push_service):
    sara, omid, stranger = await register_many(push_server, 3)
    endpoint = push_service.url()
    await subscribe(omid, endpoint)
    response = await stranger.delete("/api/push/subscriptions", json={"endpoint": endpoint})
    assert_error(response, 404, "not_found")
    await sara.send(omid.username, "still subscribed")
    await push_service.wait_for(endpoint, 1)
    assert (await omid.delete("/api/push/subscriptions", json={"endpoint": endpoint})).status_code == 204
    assert_error(await omid.delete("/api/push/subscriptions", json={"endpoint": endpoint}), 404, "not_found")
    await sara.send(omid.username, "unsubscribed")
    await nothing_more(push_service, endpoint, 1)
    await close_all(sara, omid, stranger)


async def test_an_endpoint_subscribed_again_by_someone_else_moves_to_them(push_server, push_service):
    sara, omid, leila = await register_many(push_server, 3)
    endpoint = push_service.url()
    await subscribe(omid, endpoint)
    browser = await subscribe(leila, endpoint)  # the same browser, another account
    await sara.send(omid.username, "for omid")
    await sara.send(leila.username, "for leila")
    [push] = await push_service.wait_for(endpoint, 1)
    assert browser.decrypt(push.body)["text"] == "for leila"
    await nothing_more(push_service, endpoint, 1, seconds=0.5)
    await close_all(sara, omid, leila)


# ---- input checks, on the default server (private addresses not allowed) ------------------------


@pytest.fixture(scope="module")
async def user(live_server):
    api = await register(live_server)
    yield api
    await api.close()


@pytest.fixture(scope="module")
async def other_user(live_server):
    api = await register(live_server)  # a bucket of its own: the checks above used up most of user's
    yield api
    await api.close()


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",
        "https://127.0.0.1/push/x",
        "https://127.1/push/x",
        "https://10.1.2.3/push/x",
        "https://192.168.1.1/push/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/push/x",
        "https://[::ffff:127.0.0.1]/push/x",
        "https://[fd00::1]/push/x",
        "https://224.0.0.1/push/x",
        "https://0.0.0.0/push/x",
        "https://localhost/push/x",
        "https://8.8.8.8:8443/push/x",
        "https://user:pw@8.8.8.8/push/x",
        "ftp://8.8.8.8/x",
        "not a url",
        "https://8.8.8.8/" + "x" * 2048,
    ],
)
async def test_endpoints_off_the_public_internet_are_refused_with_422(user, endpoint):
    response = await user.post("/api/push/subscriptions", json={"endpoint": endpoint, "keys": Browser().keys})
    assert_error(response, 422, "invalid_input", "endpoint")


async def test_a_public_https_endpoint_is_accepted(live_server):
    api = await register(live_server)
    endpoint = f"https://8.8.8.8/push/{uuid.uuid4().hex}"
    response = await api.post("/api/push/subscriptions", json={"endpoint": endpoint, "keys": Browser().keys})
    assert response.status_code == 201
    assert response.json() == {"endpoint": endpoint}
    assert (await api.delete("/api/push/subscriptions", json={"endpoint": endpoint})).status_code == 204
    await api.close()


def _keys(**changes):
    keys = Browser().keys
    keys.update(changes)
    return {key: value for key, value in keys.items() if value is not None}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"endpoint": "https://8.8.8.8/p"}, "keys"),
        ({"endpoint": "https://8.8.8.8/p", "keys": "x"}, "keys"),
        ({"endpoint": "https://8.8.8.8/p", "keys": _keys(p256dh=None)}, "keys.p256dh"),
        ({"endpoint": "https://8.8.8.8/p", "keys": _keys(p256dh="AAAA")}, "keys.p256dh"),
        ({"endpoint": "https://8.8.8.8/p", "keys": _keys(p256dh="B" + "A" * 86)}, "keys.p256dh"),  # not a point
        ({"endpoint": "https://8.8.8.8/p", "keys": _keys(p256dh="x" * 300)}, "keys.p256dh"),
        ({"endpoint": "https://8.8.8.8/p", "keys": _keys(auth="AAAA")}, "keys.auth"),
        ({"endpoint": "https://8.8.8.8/p", "keys": _keys(auth=7)}, "keys.auth"),
        ({"keys": _keys()}, "endpoint"),
        ({"endpoint": 5, "keys": _keys()}, "endpoint"),
    ],
)
async def test_bad_subscriptions_are_422(other_user, body, field):
    assert_error(await other_user.post("/api/push/subscriptions", json=body), 422, "invalid_input", field)


async def test_a_huge_subscription_body_is_413(other_user):
    body = {"endpoint": "https://8.8.8.8/p", "keys": _keys(), "padding": "x" * 70_000}
    assert_error(await other_user.post("/api/push/subscriptions", json=body), 413, "payload_too_large")


async def test_push_routes_need_a_token_but_the_key_is_public(live_server):
    anonymous = Api(live_server)
    body = {"endpoint": "https://8.8.8.8/p", "keys": _keys()}
    assert_error(await anonymous.post("/api/push/subscriptions", json=body), 401, "unauthorized")
    assert_error(await anonymous.delete("/api/push/subscriptions", json=body), 401, "unauthorized")
    assert (await anonymous.get("/api/push/key")).status_code == 200
    await anonymous.close()


async def test_a_user_keeps_at_most_20_subscriptions_the_oldest_going_first(live_server):
    api = await register(live_server)
    endpoints = [f"https://8.8.8.8/push/{n}-{uuid.uuid4().hex}" for n in range(21)]
    for endpoint in endpoints:
        response = await api.post("/api/push/subscriptions", json={"endpoint": endpoint, "keys": _keys()})
        assert response.status_code == 201, response.text
    assert_error(await api.delete("/api/push/subscriptions", json={"endpoint": endpoints[0]}), 404)
    assert (await api.delete("/api/push/subscriptions", json={"endpoint": endpoints[1]})).status_code == 204
    await api.close()


async def test_subscribing_too_fast_is_429(live_server):
    api = await register(live_server)
    body = {"endpoint": "https://8.8.8.8/push/same", "keys": _keys()}
    answers = await asyncio.gather(*(api.post("/api/push/subscriptions", json=body) for _ in range(40)))
    statuses = [answer.status_code for answer in answers]
    assert 201 in statuses and 429 in statuses, statuses
    limited = next(answer for answer in answers if answer.status_code == 429)
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1
    await api.close()


async def test_a_viewing_frame_with_a_bad_peer_is_answered_with_an_error(live_server, user):
    socket = await Socket.open(live_server, user.token)
    await socket.send_frame({"type": "viewing", "peer": "not a name", "ref": "v1"})
    error = await socket.expect("error")
    assert error["ref"] == "v1" and error["field"] == "peer"
    await socket.close()


def test_the_test_push_service_is_not_trusted_without_the_setting(push_service):
    with pytest.raises(httpx.ConnectError):
        httpx.post(push_service.url(), content=b"")


async def test_viewing_a_chat_holds_back_only_your_own_pushes(push_server, push_service):
    sara, omid, leila = await register_many(push_server, 3)
    endpoint = push_service.url()
    await subscribe(omid, endpoint)
    stranger_socket = await Socket.open(push_server, leila.token)
    await stranger_socket.send_frame({"type": "viewing", "peer": sara.username})
    await stranger_socket.send_frame({"type": "ping"})
    await stranger_socket.expect("pong")
    await sara.send(omid.username, "leila viewing a chat with sara changes nothing for omid")
    assert len(await push_service.wait_for(endpoint, 1)) == 1
    await stranger_socket.close()
    await close_all(sara, omid, leila)


async def test_a_subscription_made_after_messages_went_unpushed_gets_the_next_one(push_server, push_service):
    sara, omid = await register_many(push_server, 2)
    await sara.send(omid.username, "before omid allowed notifications")
    await asyncio.sleep(0.3)  # the push for it found no subscription
    endpoint = push_service.url()
    await subscribe(omid, endpoint)
    await sara.send(omid.username, "after")
    assert len(await push_service.wait_for(endpoint, 1)) == 1
    await close_all(sara, omid)


async def test_a_push_shows_the_senders_profile_photo(push_server, push_service):
    sara, omid = await register_many(push_server, 2)
    photo = await tus_upload(sara, jpeg_with_gps(200, 200), "me.jpg")
    avatar = (await sara.request("PUT", "/api/me/avatar", json={"file_id": photo["id"]})).json()["avatar"]
    endpoint = push_service.url()
    browser = await subscribe(omid, endpoint)
    await sara.send(omid.username, "with a face")
    [push] = await push_service.wait_for(endpoint, 1)
    assert browser.decrypt(push.body)["sender"]["avatar"] == avatar
    await close_all(sara, omid)


async def test_a_push_for_an_encrypted_message_carries_ids_only(push_server, push_service, tmp_path):
    sara, omid = await person(push_server, tmp_path, 1), await person(push_server, tmp_path, 1)
    omid_api = Api(push_server, omid[0].token, omid[0].user)
    endpoint = push_service.url()
    browser = await subscribe(omid_api, endpoint)
    secret = "the secret words " + uuid.uuid4().hex
    sent = await sara[0].send_text(omid[0].username, secret)
    [push] = await push_service.wait_for(endpoint, 1)
    payload = browser.decrypt(push.body)
    assert payload == {
        "type": "message",
        "chat": sara[0].username,
        "message_id": sent["id"],
        "sender": {"username": sara[0].username},
        "encrypted": True,
    }
    assert sent["envelope"] and sent["envelope"][:40] not in push.body.decode("latin-1")
    assert secret.encode() not in push.body
    await omid_api.close()
    await close(sara, omid)
