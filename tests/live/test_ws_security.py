"""Attacks on /ws: a socket outliving its token, a page of another site opening it, frames of
every JSON shape, send and typing floods, and strangers learning presence or pushing typing."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets
from checks import assert_error
from helpers import Socket, register
from jose import jwt

from auth import passwords

KEY = "a-test-signing-key-of-enough-length"
pytestmark = pytest.mark.timeout(120)


def _short_token(token: str, seconds: float) -> str:
    claims = jwt.get_unverified_claims(token)
    return passwords.make_token(KEY, int(claims["sub"]), claims["sid"], int((time.time() + seconds) * 1000))


async def _closed_code(socket: Socket, within: float) -> int | None:
    try:
        while True:
            await socket.receive(timeout=within)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None


async def test_a_socket_is_closed_4001_when_its_token_expires(server_factory):
    server = server_factory(SECRET_KEY=KEY)
    sara = await register(server)
    socket = await Socket.open(server, _short_token(sara.token, 3))
    started = time.monotonic()
    assert await _closed_code(socket, 8) == 4001
    print(f"\nclosed {time.monotonic() - started:.1f} s after opening with a 3 s token")
    await sara.close()


async def test_an_auth_frame_with_a_fresh_token_keeps_the_socket_open(server_factory):
    server = server_factory(SECRET_KEY=KEY)
    sara, omid = await register(server), await register(server)
    socket = await Socket.open(server, _short_token(sara.token, 3))
    await socket.send_frame({"type": "auth", "ref": "a1", "token": omid.token})
    refused = await socket.expect("error")
    assert refused["code"] == "unauthorized", "another user's token renews nothing"
    await socket.send_frame({"type": "auth", "ref": "a2", "token": _short_token(sara.token, 60)})
    renewed = await socket.expect("renewed")
    assert renewed["ref"] == "a2" and renewed["expires_at"].endswith("Z")
    await asyncio.sleep(4)
    await socket.send_message(omid.username, "still here after the first token expired")
    ack = await socket.expect("ack", skip=("presence", "typing", "message"))
    assert ack["message"]["text"] == "still here after the first token expired"
    await socket.close()
    await asyncio.gather(sara.close(), omid.close())


async def test_a_socket_from_another_sites_page_is_refused(server_factory):
    server = server_factory(CORS_ORIGINS="https://friend.example")
    sara = await register(server)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(server.ws_url, origin="https://evil.example")
    assert refused.value.response.status_code == 403
    for origin in (server.url, "https://friend.example", None):
        connection = await websockets.connect(server.ws_url, origin=origin)
        await connection.send(json.dumps({"type": "auth", "token": sara.token}))
        assert json.loads(await asyncio.wait_for(connection.recv(), 5))["type"] == "ready", origin
        await connection.close()
    await sara.close()


ODD_FRAMES = [
    {"type": {"a": 1}},
    {"type": ["send"]},
    {"type": 5},
    {"type": None},
    {"type": True},
    {"type": 1.5},
    {},
    {"type": "send", "to": {"x": 1}, "text": "hi", "client_id": "1"},
    {"type": "send", "to": ["a"], "text": ["hi"], "client_id": {"c": 1}},
    {"type": "send", "to": "someone_ok", "text": "hi", "client_id": "1", "reply_to": {"id": 1}},
    {"type": "send", "to": "someone_ok", "text": "hi", "client_id": "1", "reply_to": 1e308},
    {"type": "send", "to": None, "text": None, "client_id": None},
    {"type": "delivered", "ids": [{"a": 1}, [1], "x", None, 1.5]},
    {"type": "delivered", "ids": {"0": 1}},
    {"type": "delivered", "ids": list(range(5000))},
    {"type": "read", "peer": {"a": 1}, "up_to": [1]},
    {"type": "read", "peer": "someone_ok", "up_to": 2**70},
    {"type": "typing", "to": {"a": 1}},
    {"type": "typing", "to": 5},
    {"type": "resume", "after": {"a": 1}},
    {"type": "resume", "after": "0"},
    {"type": "resume", "after": -1},
    {"type": "auth", "token": {"a": 1}},
    {"type": "auth", "token": None},
    {"type": "auth", "token": "x" * 50_000},
    {"type": "send", "ref": ["r"], "to": "someone_ok", "text": "\u200b", "client_id": "1"},
]


async def test_frames_of_any_json_shape_get_an_error_frame_and_the_socket_stays_open(live_server):
    sara = await register(live_server)
    socket = await Socket.open(live_server, sara.token)
    deep = "[" * 500 + "]" * 500
    raw = [json.dumps(frame) for frame in ODD_FRAMES] + ["[]", "null", "5", '"text"', deep, '{"type":"send"', "\x00"]
    answered = 0
    for text in raw:
        await socket.connection.send(text)
        frame = await socket.expect("error", skip=("presence", "typing"))
        assert frame["code"] in {"bad_json", "bad_request", "invalid_input", "unauthorized", "user_not_found"}, frame
        answered += 1
    await socket.connection.send(b"\x00binary")
    assert (await socket.expect("error"))["code"] == "bad_request"
    await socket.send_frame({"type": "ping", "ref": {"deep": [[[[[]]]]]}})
    assert await socket.expect("pong") == {"type": "pong", "ref": {"deep": [[[[[]]]]]}}
    print(f"\n{answered + 1} odd frames, each answered with an error frame")
    assert "TypeError" not in live_server.log() and "frame failed" not in live_server.log()
    await socket.close()
    await sara.close()


async def test_sends_are_limited_per_user_over_http_and_websocket_together(server_factory):
    server = server_factory(SENDS_PER_MINUTE="20")
    sara, omid = await register(server), await register(server)
    socket = await Socket.open(server, sara.token)
    for n in range(30):
        await socket.send_message(omid.username, f"flood {n}")
    frames = await socket.collect(30, skip=("presence", "typing", "message"))
    acks = [f for f in frames if f["type"] == "ack"]
    limited = [f for f in frames if f["type"] == "error"]
    assert len(acks) == 20 and len(limited) == 10
    assert all(f["code"] == "rate_limited" for f in limited)
    over_http = await sara.post("/api/messages", json={"to": omid.username, "text": "one more", "client_id": "h1"})
    assert_error(over_http, 429, "rate_limited")
    assert int(over_http.headers["retry-after"]) > 0
    stored = (await omid.get(f"/api/conversations/{sara.username}/messages", params={"limit": 100})).json()
    assert len(stored["messages"]) == 20
    assert (
        await omid.post("/api/messages", json={"to": sara.username, "text": "hi", "client_id": "o1"})
    ).status_code == 201
    await socket.close()
    await asyncio.gather(sara.close(), omid.close())


async def _contacts(server):
    sara, omid = await register(server), await register(server)
    await sara.send(omid.username, "hi")
    await omid.send(sara.username, "hi")
    return sara, omid


async def test_a_typing_flood_is_dropped_and_never_disconnects_the_victim(live_server):
    sara, omid = await _contacts(live_server)
    victim = await Socket.open(live_server, omid.token)
    flooder = await Socket.open(live_server, sara.token)
    frame = json.dumps({"type": "typing", "to": omid.username})
    for _ in range(20_000):
        await flooder.connection.send(frame)
    await flooder.send_frame({"type": "ping", "ref": "done"})
    await flooder.expect("pong", timeout=60)
    received = [f for f in await victim.quiet(1.0, skip=()) if f["type"] == "typing"]
    print(f"\n20000 typing frames sent, {len(received)} forwarded")
    assert 1 <= len(received) <= 10
    await victim.send_frame({"type": "ping", "ref": "alive"})
    assert (await victim.expect("pong"))["ref"] == "alive"
    await asyncio.gather(victim.close(), flooder.close(), sara.close(), omid.close())


async def test_a_stranger_gets_no_presence_and_pushes_no_typing_until_both_have_written(live_server):
    target, stranger = await register(live_server), await register(live_server)
    await stranger.send(target.username, "unsolicited")
    stranger_socket = await Socket.open(live_server, stranger.token)
    target_socket = await Socket.open(live_server, target.token)
    assert [f for f in await stranger_socket.quiet(1.0, skip=()) if f["type"] == "presence"] == []
    await stranger_socket.send_frame({"type": "typing", "to": target.username})
    assert [f for f in await target_socket.quiet(1.0, skip=()) if f["type"] == "typing"] == []
    chat = (await stranger.get("/api/conversations")).json()["conversations"][0]
    assert chat["peer"]["online"] is True, "the chat list follows last_seen_visibility (everyone by default)"

    await target.send(stranger.username, "oh hello")  # now both have written
    await stranger_socket.send_frame({"type": "typing", "to": target.username})
    typing = await target_socket.expect("typing", skip=("presence", "message"))
    assert typing["from"] == stranger.username
    await target_socket.close()
    offline = await stranger_socket.expect("presence", timeout=8, skip=("message",))
    assert offline["user"] == target.username and offline["online"] is False
    await asyncio.gather(stranger_socket.close(), target.close(), stranger.close())


async def test_a_blocked_contact_gets_no_presence_or_typing_and_sends_none(live_server):
    sara, omid = await _contacts(live_server)
    assert (await sara.post(f"/api/users/{omid.username}/block")).status_code == 204
    omid_socket = await Socket.open(live_server, omid.token)
    sara_socket = await Socket.open(live_server, sara.token)
    await sara_socket.send_frame({"type": "typing", "to": omid.username})
    await omid_socket.send_frame({"type": "typing", "to": sara.username})
    assert [f for f in await omid_socket.quiet(1.0, skip=()) if f["type"] in ("presence", "typing")] == []
    assert [f for f in await sara_socket.quiet(0.5, skip=()) if f["type"] in ("presence", "typing")] == []
    await asyncio.gather(omid_socket.close(), sara_socket.close(), sara.close(), omid.close())


async def test_nobody_visibility_hides_presence_even_from_contacts(live_server):
    sara, omid = await _contacts(live_server)
    await sara.patch("/api/me", json={"last_seen_visibility": "nobody"})
    omid_socket = await Socket.open(live_server, omid.token)
    sara_socket = await Socket.open(live_server, sara.token)
    assert [f for f in await omid_socket.quiet(1.0, skip=()) if f["type"] == "presence"] == []
    await asyncio.gather(omid_socket.close(), sara_socket.close(), sara.close(), omid.close())


async def _login_token(server, username: str) -> str:
    from helpers import PASSWORD, Api

    api = Api(server)
    response = await api.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    await api.close()
    return response.json()["token"]


async def test_past_the_limits_per_device_and_per_person_the_oldest_socket_closes_4009(server_factory):
    server = server_factory(WS_PER_USER="6", WS_PER_SESSION="4")
    sara, peer = await register(server), await register(server)
    phone = [await Socket.open(server, sara.token) for _ in range(5)]
    assert await _closed_code(phone[0], 3) == 4009  # the device's oldest went, not the new one
    laptop_token = await _login_token(server, sara.username)
    laptop = [await Socket.open(server, laptop_token) for _ in range(3)]
    assert await _closed_code(phone[1], 3) == 4009  # seven of the person's: the oldest of all went
    live = phone[2:] + laptop
    await peer.send(sara.username, "still here")
    for socket in live:
        assert (await socket.expect("message"))["message"]["text"] == "still here"
    await asyncio.gather(*(socket.close() for socket in phone + laptop), sara.close(), peer.close())


async def test_one_token_cannot_hold_more_than_20_sockets(live_server):
    script = await register(live_server)
    sockets = [await Socket.open(live_server, script.token) for _ in range(25)]
    closed = [await _closed_code(socket, 0.5) for socket in sockets[:6]]
    assert closed == [4009] * 5 + [None]
    await asyncio.gather(*(socket.close() for socket in sockets), script.close())
