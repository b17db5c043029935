"""The /ws protocol: authentication, live delivery, receipts, typing, presence, bad frames."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import websockets

from tests.helpers import Socket, register


@pytest.fixture
async def pair(live_server):
    sara, omid = await register(live_server), await register(live_server)
    yield sara, omid
    await sara.close()
    await omid.close()


async def test_connection_without_auth_frame_is_closed_with_4001(live_server):
    async with websockets.connect(live_server.ws_url) as connection:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(connection.recv(), 8)
    assert closed.value.rcvd.code == 4001


async def test_bad_token_is_closed_with_4001(live_server):
    async with websockets.connect(live_server.ws_url) as connection:
        await connection.send(orjson.dumps({"type": "auth", "token": "not-a-token"}).decode())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(connection.recv(), 5)
    assert closed.value.rcvd.code == 4001


async def test_first_frame_other_than_auth_is_refused(live_server, pair):
    sara, _ = pair
    async with websockets.connect(live_server.ws_url) as connection:
        await connection.send(orjson.dumps({"type": "send", "token": sara.token}).decode())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(connection.recv(), 5)
    assert closed.value.rcvd.code == 4001


async def test_ready_frame_carries_user_and_cursor(live_server, pair):
    sara, omid = pair
    await sara.send(omid.username, "before connecting")
    socket = await Socket.open(live_server, omid.token)
    assert socket.ready["user"]["username"] == omid.username
    assert socket.ready["cursor"] == 1
    await socket.close()


async def test_send_is_acked_with_stored_message_and_delivered_live(live_server, pair):
    sara, omid = pair
    sara_socket = await Socket.open(live_server, sara.token)
    omid_socket = await Socket.open(live_server, omid.token)
    ref = await sara_socket.send_message(omid.username, "سلام omid", client_id="c1")
    ack = await sara_socket.expect("ack")
    assert ack["ref"] == ref
    assert ack["message"]["text"] == "سلام omid"
    assert ack["message"]["status"] == "sent"
    assert ack["seq"] == 1
    update = await omid_socket.expect("message")
    assert update["message"] == ack["message"]
    assert update["seq"] == 1
    history = (await sara.get(f"/api/conversations/{omid.username}/messages")).json()["messages"]
    assert [m["id"] for m in history] == [ack["message"]["id"]]
    await sara_socket.close()
    await omid_socket.close()


async def test_resent_client_id_is_acked_with_the_same_message_once_stored(live_server, pair):
    sara, omid = pair
    socket = await Socket.open(live_server, sara.token)
    await socket.send_message(omid.username, "once", client_id="same")
    await socket.send_message(omid.username, "once", client_id="same")
    first, second = await socket.collect(2)
    assert first["type"] == second["type"] == "ack"
    assert first["message"]["id"] == second["message"]["id"]
    history = (await sara.get(f"/api/conversations/{omid.username}/messages")).json()["messages"]
    assert len(history) == 1
    await socket.close()


async def test_delivered_and_read_reach_every_device_of_the_sender(live_server, pair):
    sara, omid = pair
    phone = await Socket.open(live_server, sara.token)
    laptop = await Socket.open(live_server, sara.token)
    omid_socket = await Socket.open(live_server, omid.token)
    await phone.send_message(omid.username, "hi")
    ack = await phone.expect("ack")
    on_laptop = await laptop.expect("message")
    assert on_laptop["message"]["id"] == ack["message"]["id"]
    assert on_laptop["seq"] == ack["seq"]
    received = await omid_socket.expect("message")
    await omid_socket.send_frame({"type": "delivered", "ids": [received["message"]["id"]]})
    for device in (phone, laptop):
        status = await device.expect("status")
        assert status["message"]["status"] == "delivered"
    await omid_socket.send_frame({"type": "read", "peer": sara.username, "up_to": received["message"]["id"]})
    for device in (phone, laptop):
        read = await device.expect("read")
        assert read == {
            "type": "read",
            "seq": read["seq"],
            "peer": omid.username,
            "reader": omid.username,
            "up_to": received["message"]["id"],
        }
    own_read = await omid_socket.expect("read")
    assert own_read["reader"] == omid.username and own_read["peer"] == sara.username
    message = (await sara.get(f"/api/conversations/{omid.username}/messages")).json()["messages"][0]
    assert message["status"] == "read"
    for socket in (phone, laptop, omid_socket):
        await socket.close()


async def test_delivered_ack_for_someone_elses_message_changes_nothing(live_server, pair):
    sara, omid = pair
    eve = await register(live_server)
    message = await sara.send(omid.username, "private")
    eve_socket = await Socket.open(live_server, eve.token)
    await eve_socket.send_frame({"type": "delivered", "ids": [message["id"]]})
    await eve_socket.send_frame({"type": "read", "peer": sara.username, "up_to": message["id"]})
    assert await eve_socket.quiet(0.5) == []
    stored = (await sara.get(f"/api/conversations/{omid.username}/messages")).json()["messages"][0]
    assert stored["status"] == "sent"
    await eve_socket.close()
    await eve.close()


async def test_typing_reaches_the_peer_and_is_not_stored(live_server, pair):
    sara, omid = pair
    await sara.send(omid.username, "hi")
    await omid.send(sara.username, "hi")  # typing goes to people both sides have written to
    sara_socket = await Socket.open(live_server, sara.token)
    omid_socket = await Socket.open(live_server, omid.token)
    after = omid_socket.ready["cursor"]
    await sara_socket.send_frame({"type": "typing", "to": omid.username})
    typing = await omid_socket.expect("typing", skip=("presence",))
    assert typing == {"type": "typing", "from": sara.username}
    updates = (await omid.get("/api/updates", params={"after": after, "timeout": 0})).json()
    assert updates["updates"] == []
    await sara_socket.close()
    await omid_socket.close()


async def test_presence_tells_chat_partners_online_and_last_seen(live_server, pair):
    sara, omid = pair
    await sara.send(omid.username, "so we have a chat")
    await omid.send(sara.username, "in which both wrote")
    omid_socket = await Socket.open(live_server, omid.token)
    sara_socket = await Socket.open(live_server, sara.token)
    online = await omid_socket.expect("presence", skip=())
    assert online["user"] == sara.username and online["online"] is True
    await sara_socket.close()
    offline = await omid_socket.expect("presence", timeout=8, skip=())
    assert offline["user"] == sara.username and offline["online"] is False
    assert offline["last_seen"].endswith("Z")
    conversations = (await omid.get("/api/conversations")).json()["conversations"]
    assert conversations[0]["peer"]["last_seen"] == offline["last_seen"]
    await omid_socket.close()


async def test_a_new_connection_is_told_which_partners_are_online(live_server, pair):
    sara, omid = pair
    await sara.send(omid.username, "hello")
    await omid.send(sara.username, "hello back")
    sara_socket = await Socket.open(live_server, sara.token)
    omid_socket = await Socket.open(live_server, omid.token)
    presence = await omid_socket.expect("presence", skip=())
    assert presence["user"] == sara.username and presence["online"] is True
    await sara_socket.close()
    await omid_socket.close()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_json"),
        ('{"type": "fly"}', "bad_request"),
        ('{"type": "send", "ref": "x", "to": "nobody_here_at_all", "text": "hi", "client_id": "1"}', "user_not_found"),
        ('{"type": "send", "ref": "x", "to": "ok_name", "text": "", "client_id": "1"}', "invalid_input"),
        ('{"type": "send", "ref": "x", "to": "ok_name", "text": "hi"}', "invalid_input"),
        ('{"type": "delivered", "ids": "all"}', "invalid_input"),
        ('{"type": "delivered", "ids": [-1]}', "invalid_input"),
        ('{"type": "read", "peer": "ok_name", "up_to": "x"}', "invalid_input"),
        ('{"type": "resume", "after": -5}', "invalid_input"),
        ('{"type": "auth", "token": "again"}', "unauthorized"),
    ],
)
async def test_bad_frame_gets_an_error_frame_and_the_connection_stays_open(live_server, pair, raw, code):
    sara, _ = pair
    socket = await Socket.open(live_server, sara.token)
    await socket.connection.send(raw)
    error = await socket.expect("error")
    assert error["code"] == code
    await socket.send_frame({"type": "ping", "ref": "p"})
    assert await socket.expect("pong") == {"type": "pong", "ref": "p"}
    await socket.close()


async def test_binary_frame_gets_an_error_frame(live_server, pair):
    sara, _ = pair
    socket = await Socket.open(live_server, sara.token)
    await socket.connection.send(b"\x00\x01")
    assert (await socket.expect("error"))["code"] == "bad_request"
    await socket.close()


async def test_logout_closes_that_sessions_sockets_with_4003(live_server, pair):
    sara, _ = pair
    socket = await Socket.open(live_server, sara.token)
    response = await sara.post("/api/auth/logout")
    assert response.status_code == 204
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await socket.receive(5)
    assert closed.value.rcvd.code == 4003


async def test_reply_to_is_kept_and_checked(live_server, pair):
    sara, omid = pair
    first = await sara.send(omid.username, "question?")
    socket = await Socket.open(live_server, omid.token)
    await socket.send_message(sara.username, "answer", reply_to=first["id"])
    ack = await socket.expect("ack")
    assert ack["message"]["reply_to"] == first["id"]
    eve = await register(live_server)
    foreign = await eve.send(sara.username, "elsewhere")
    await socket.send_message(sara.username, "bad reply", reply_to=foreign["id"])
    error = await socket.expect("error")
    assert error["code"] == "message_not_found" and error["field"] == "reply_to"
    await socket.close()
    await eve.close()
