"""Forwarding a message (it says whom it came from) and deleting a message for yourself only."""

from __future__ import annotations

import uuid

import pytest
from checks import assert_error, close_all, register_many
from helpers import Socket


@pytest.fixture
async def trio(live_server):
    sara, omid, leila = await register_many(live_server, 3)
    yield sara, omid, leila
    await close_all(sara, omid, leila)


async def history(api, peer: str) -> list[dict]:
    response = await api.get(f"/api/conversations/{peer}/messages")
    assert response.status_code == 200, response.text
    return response.json()["messages"]


async def forward(api, to: str, message_id: int, **extra):
    body = {"to": to, "client_id": uuid.uuid4().hex, "forward_of": message_id, **extra}
    return await api.post("/api/messages", json=body)


# ---- forwarding ------------------------------------------------------------------------------


async def test_a_message_is_not_forwarded_unless_it_says_so(trio):
    sara, omid, _ = trio
    message = await sara.send(omid.username, "plain")
    assert message["forwarded_from"] is None
    assert (await history(omid, sara.username))[-1]["forwarded_from"] is None


async def test_a_forwarded_message_names_the_original_sender_and_copies_the_text(trio):
    sara, omid, leila = trio
    original = await sara.send(omid.username, "خبر خوب")
    response = await forward(omid, leila.username, original["id"])
    assert response.status_code == 201, response.text
    forwarded = response.json()
    assert forwarded["forwarded_from"] == sara.username
    assert forwarded["text"] == "خبر خوب"
    assert forwarded["sender"] == omid.username and forwarded["recipient"] == leila.username
    assert (await history(leila, omid.username))[-1] == forwarded | {"status": "sent"}


async def test_forwarding_your_own_message_names_you(trio):
    sara, omid, leila = trio
    mine = await sara.send(omid.username, "mine")
    response = await forward(sara, leila.username, mine["id"])
    assert response.status_code == 201
    assert response.json()["forwarded_from"] == sara.username


async def test_a_forward_of_a_forward_keeps_the_first_author(trio):
    sara, omid, leila = trio
    original = await sara.send(omid.username, "passed along")
    first = (await forward(omid, leila.username, original["id"])).json()
    second = await forward(leila, sara.username, first["id"])
    assert second.status_code == 201
    assert second.json()["forwarded_from"] == sara.username


async def test_a_forward_may_repeat_the_text_but_not_change_it(trio):
    sara, omid, leila = trio
    original = await sara.send(omid.username, "exact words")
    same = await forward(omid, leila.username, original["id"], text="exact words")
    assert same.status_code == 201
    changed = await forward(omid, leila.username, original["id"], text="words sara never wrote")
    assert_error(changed, 422, "invalid_input", "text")


async def test_forwarding_over_the_websocket(live_server, trio):
    sara, omid, leila = trio
    original = await sara.send(omid.username, "via socket")
    socket = await Socket.open(live_server, omid.token)
    ref = await socket.send_message(leila.username, None, forward_of=original["id"])
    ack = await socket.expect("ack")
    assert ack["ref"] == ref
    assert ack["message"]["forwarded_from"] == sara.username and ack["message"]["text"] == "via socket"
    await socket.close()


async def test_a_stranger_cannot_forward_a_message_of_a_chat_not_theirs(trio):
    sara, omid, stranger = trio
    private = await sara.send(omid.username, "between us")
    assert_error(await forward(stranger, sara.username, private["id"]), 404, "message_not_found")
    assert_error(await forward(stranger, sara.username, 2**40), 404, "message_not_found")


async def test_a_stranger_cannot_forward_over_the_websocket_either(live_server, trio):
    sara, omid, stranger = trio
    private = await sara.send(omid.username, "between us")
    socket = await Socket.open(live_server, stranger.token)
    ref = await socket.send_message(sara.username, None, forward_of=private["id"])
    error = await socket.expect("error")
    assert error["ref"] == ref and error["code"] == "message_not_found"
    await socket.close()


async def test_a_deleted_message_cannot_be_forwarded(trio):
    sara, omid, leila = trio
    gone = await sara.send(omid.username, "regretted")
    assert (await sara.delete(f"/api/messages/{gone['id']}")).status_code == 200
    assert_error(await forward(omid, leila.username, gone["id"]), 409, "message_deleted")


@pytest.mark.parametrize("value", [0, -1, "12", 1.5, True])
async def test_forward_of_must_be_a_message_id(trio, value):
    _, omid, leila = trio
    assert_error(await forward(omid, leila.username, value), 422, "invalid_input", "forward_of")


# ---- delete for me ---------------------------------------------------------------------------


async def test_delete_for_me_hides_the_message_from_you_only(trio):
    sara, omid, _ = trio
    kept = await sara.send(omid.username, "kept")
    hidden = await sara.send(omid.username, f"hidden {uuid.uuid4().hex[:8]}")
    response = await omid.delete(f"/api/messages/{hidden['id']}", params={"for": "me"})
    assert response.status_code == 204 and response.content == b""
    assert [m["id"] for m in await history(omid, sara.username)] == [kept["id"]]
    assert [m["id"] for m in await history(sara, omid.username)] == [kept["id"], hidden["id"]]
    assert not (await history(sara, omid.username))[-1]["deleted"]


async def test_a_hidden_message_is_left_out_of_search_and_the_chat_list(trio):
    sara, omid, _ = trio
    word = "h" + uuid.uuid4().hex[:10]
    earlier = await sara.send(omid.username, f"earlier {word}")
    latest = await sara.send(omid.username, f"latest {word}")
    assert (await omid.delete(f"/api/messages/{latest['id']}", params={"for": "me"})).status_code == 204
    found = (await omid.get("/api/search", params={"q": word})).json()["messages"]
    assert [m["id"] for m in found] == [earlier["id"]]
    found = (await sara.get("/api/search", params={"q": word})).json()["messages"]
    assert [m["id"] for m in found] == [latest["id"], earlier["id"]]
    chats = (await omid.get("/api/conversations")).json()["conversations"]
    [chat] = [c for c in chats if c["peer"]["username"] == sara.username]
    assert chat["last_message"]["id"] == earlier["id"]
    assert chat["unread_count"] == 1  # the hidden one does not wait to be read


async def test_a_chat_whose_messages_are_all_hidden_leaves_the_list_until_the_next_message(trio):
    sara, omid, _ = trio
    only = await sara.send(omid.username, "only one")
    assert (await omid.delete(f"/api/messages/{only['id']}", params={"for": "me"})).status_code == 204
    chats = (await omid.get("/api/conversations")).json()["conversations"]
    assert sara.username not in [c["peer"]["username"] for c in chats]
    again = await sara.send(omid.username, "hello again")
    chats = (await omid.get("/api/conversations")).json()["conversations"]
    assert [c["last_message"]["id"] for c in chats if c["peer"]["username"] == sara.username] == [again["id"]]


async def test_every_device_of_yours_gets_a_hide_update_and_the_other_side_none(live_server, trio):
    sara, omid, _ = trio
    message = await sara.send(omid.username, "hide me")
    phone = await Socket.open(live_server, omid.token)
    sara_socket = await Socket.open(live_server, sara.token)
    cursor = phone.ready["cursor"]
    assert (await omid.delete(f"/api/messages/{message['id']}", params={"for": "me"})).status_code == 204
    update = await phone.expect("hide")
    assert update == {"type": "hide", "seq": cursor + 1, "message_id": message["id"]}
    assert await sara_socket.quiet() == []
    # The same update is in the stream for a device that was away.
    response = await omid.get("/api/updates", params={"after": cursor, "timeout": 0})
    assert response.json()["updates"] == [update]
    await phone.close()
    await sara_socket.close()


async def test_hiding_twice_is_one_hide(live_server, trio):
    sara, omid, _ = trio
    message = await sara.send(omid.username, "twice")
    cursor = (await omid.get("/api/updates", params={"timeout": 0})).json()["cursor"]
    for _ in range(2):
        assert (await omid.delete(f"/api/messages/{message['id']}", params={"for": "me"})).status_code == 204
    updates = (await omid.get("/api/updates", params={"after": cursor, "timeout": 0})).json()["updates"]
    assert [u["type"] for u in updates] == ["hide"]


async def test_you_can_hide_your_own_and_deleted_messages(trio):
    sara, omid, _ = trio
    own = await sara.send(omid.username, "my own")
    deleted = await sara.send(omid.username, "deleted for both")
    assert (await sara.delete(f"/api/messages/{deleted['id']}")).status_code == 200
    for message in (own, deleted):
        assert (await sara.delete(f"/api/messages/{message['id']}", params={"for": "me"})).status_code == 204
    assert await history(sara, omid.username) == []
    assert [m["id"] for m in await history(omid, sara.username)] == [own["id"], deleted["id"]]


async def test_a_stranger_cannot_hide_a_message_of_a_chat_not_theirs(trio):
    sara, omid, stranger = trio
    message = await sara.send(omid.username, "not yours")
    response = await stranger.delete(f"/api/messages/{message['id']}", params={"for": "me"})
    assert_error(response, 404, "message_not_found")
    assert_error(await stranger.delete(f"/api/messages/{2**40}", params={"for": "me"}), 404, "message_not_found")
    assert [m["id"] for m in await history(omid, sara.username)] == [message["id"]]


async def test_deleting_for_both_is_still_the_senders_only(trio):
    sara, omid, _ = trio
    message = await sara.send(omid.username, "only sara may")
    assert_error(await omid.delete(f"/api/messages/{message['id']}", params={"for": "both"}), 403, "forbidden")
    response = await sara.delete(f"/api/messages/{message['id']}", params={"for": "both"})
    assert response.status_code == 200 and response.json()["deleted"] is True


async def test_an_unknown_for_is_422(trio):
    sara, omid, _ = trio
    message = await sara.send(omid.username, "x")
    response = await omid.delete(f"/api/messages/{message['id']}", params={"for": "everyone"})
    assert_error(response, 422, "invalid_input", "for")
