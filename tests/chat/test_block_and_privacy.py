"""Blocking and last-seen privacy. A blocked person's sends are accepted as if nothing happened
but never reach the blocker; who sees your online state and last seen is yours to choose."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from checks import assert_error
from helpers import Api, Socket, register


@pytest.fixture
async def trio(live_server):
    people = [await register(live_server) for _ in range(3)]
    yield people
    await asyncio.gather(*(person.close() for person in people))


async def _peer(conversations: list[dict], username: str) -> dict:
    return next(chat["peer"] for chat in conversations if chat["peer"]["username"] == username)


async def test_a_blocked_persons_sends_look_accepted_but_never_reach_the_blocker(live_server, trio):
    sara, pest, _ = trio
    await pest.send(sara.username, "before the block")
    assert (await sara.post(f"/api/users/{pest.username}/block")).status_code == 204
    assert (await sara.post(f"/api/users/{pest.username}/block")).status_code == 204, "blocking twice is fine"
    sara_socket = await Socket.open(live_server, sara.token)
    pest_socket = await Socket.open(live_server, pest.token)

    over_http = await pest.post(
        "/api/messages", json={"to": sara.username, "text": "hello?", "client_id": uuid.uuid4().hex}
    )
    assert over_http.status_code == 201 and over_http.json()["status"] == "sent"
    ref = await pest_socket.send_message(sara.username, "over the socket")
    ack = await pest_socket.expect("ack", skip=("presence", "typing", "message"))
    assert ack["ref"] == ref and ack["message"]["text"] == "over the socket"
    edited = await pest.patch(f"/api/messages/{over_http.json()['id']}", json={"text": "hello!!"})
    assert edited.status_code == 200 and edited.json()["text"] == "hello!!"
    deleted = await pest.delete(f"/api/messages/{ack['message']['id']}")
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True

    assert await sara_socket.quiet(1.0) == [], "nothing reached the blocker live"
    updates = (await sara.get("/api/updates", params={"after": 0, "timeout": 0})).json()["updates"]
    assert [u["message"]["text"] for u in updates if u["type"] == "message"] == ["before the block"]
    history = (await sara.get(f"/api/conversations/{pest.username}/messages")).json()["messages"]
    assert [m["text"] for m in history] == ["before the block"]
    chat = next(c for c in (await sara.get("/api/conversations")).json()["conversations"])
    assert chat["last_message"]["text"] == "before the block"
    last_id = history[-1]["id"]
    await sara.post(f"/api/conversations/{pest.username}/read", json={"up_to": last_id + 100})
    own = (await pest.get(f"/api/conversations/{sara.username}/messages")).json()["messages"]
    assert [m["text"] for m in own] == ["before the block", "hello!!", ""]
    assert [m["status"] for m in own[1:]] == ["sent", "sent"], "no delivered or read tells of the block"
    await asyncio.gather(sara_socket.close(), pest_socket.close())


async def test_lifting_a_block_lets_new_messages_through_and_keeps_the_withheld_hidden(live_server, trio):
    sara, pest, _ = trio
    await sara.post(f"/api/users/{pest.username}/block")
    await pest.send(sara.username, "while blocked")
    listed = (await sara.get("/api/me/blocked")).json()["users"]
    assert [u["username"] for u in listed] == [pest.username]
    assert set(listed[0]) == {"username", "display_name", "bio", "created_at", "avatar"}
    assert (await sara.delete(f"/api/users/{pest.username}/block")).status_code == 204
    assert (await sara.get("/api/me/blocked")).json()["users"] == []
    await pest.send(sara.username, "after the block")
    history = (await sara.get(f"/api/conversations/{pest.username}/messages")).json()["messages"]
    assert [m["text"] for m in history] == ["after the block"]


async def test_block_needs_a_token_a_real_user_and_not_yourself(live_server, trio):
    sara, _, _ = trio
    assert_error(await Api(live_server).post(f"/api/users/{sara.username}/block"), 401, "unauthorized")
    assert_error(await Api(live_server).get("/api/me/blocked"), 401, "unauthorized")
    assert_error(await sara.post("/api/users/no_such_person_x/block"), 404, "user_not_found")
    assert_error(await sara.delete("/api/users/bad-name!/block"), 404, "user_not_found")
    assert_error(await sara.post(f"/api/users/{sara.username}/block"), 409, "cannot_block_yourself")


async def _online_pair(live_server, viewer: Api, subject: Api) -> Socket:
    await viewer.send(subject.username, "hi")
    await subject.send(viewer.username, "hi back")
    return await Socket.open(live_server, subject.token)


@pytest.mark.parametrize("visibility", ["everyone", "contacts", "nobody"])
async def test_last_seen_visibility_is_honoured_in_the_chat_list(live_server, trio, visibility):
    viewer, subject, stranger = trio
    socket = await _online_pair(live_server, viewer, subject)
    await stranger.send(subject.username, "a message out of the blue")
    changed = await subject.patch("/api/me", json={"last_seen_visibility": visibility})
    assert changed.status_code == 200 and changed.json()["last_seen_visibility"] == visibility
    assert (await subject.get("/api/me")).json()["last_seen_visibility"] == visibility
    contact_view = await _peer((await viewer.get("/api/conversations")).json()["conversations"], subject.username)
    stranger_view = await _peer((await stranger.get("/api/conversations")).json()["conversations"], subject.username)
    assert contact_view["online"] is (visibility != "nobody")
    assert stranger_view["online"] is (visibility == "everyone")
    assert stranger_view["last_seen"] is None
    await socket.close()


async def test_a_blocked_person_never_sees_your_online_state(live_server, trio):
    viewer, subject, _ = trio
    socket = await _online_pair(live_server, viewer, subject)
    assert (await _peer((await viewer.get("/api/conversations")).json()["conversations"], subject.username))["online"]
    await subject.post(f"/api/users/{viewer.username}/block")
    peer = await _peer((await viewer.get("/api/conversations")).json()["conversations"], subject.username)
    assert peer["online"] is False and peer["last_seen"] is None
    await socket.close()


@pytest.mark.parametrize("value", ["friends", "", None, 3, ["nobody"]], ids=repr)
async def test_last_seen_visibility_takes_only_its_three_values(trio, value):
    assert_error(await trio[0].patch("/api/me", json={"last_seen_visibility": value}), 422, "invalid_input")


async def test_a_blocked_person_gets_no_profile_changes(live_server, trio):
    sara, pest, friend = trio
    for other in (pest, friend):
        await sara.send(other.username, "hi")
        await other.send(sara.username, "hi")
    await sara.post(f"/api/users/{pest.username}/block")
    pest_socket = await Socket.open(live_server, pest.token)
    friend_socket = await Socket.open(live_server, friend.token)
    assert (await sara.patch("/api/me", json={"display_name": "Sara N."})).status_code == 200
    profile = await friend_socket.expect("profile", skip=("presence", "typing"))
    assert profile["user"]["display_name"] == "Sara N."
    assert [f for f in await pest_socket.quiet(1.0, skip=()) if f["type"] == "profile"] == []
    await asyncio.gather(pest_socket.close(), friend_socket.close())


async def test_a_withheld_message_is_found_by_its_sender_and_never_by_the_blocker(live_server, trio):
    sara, pest, _ = trio
    await pest.send(sara.username, "visible pomegranate")
    await sara.post(f"/api/users/{pest.username}/block")
    sent = await pest.send(sara.username, "withheld pomegranate quince")

    def texts(response) -> list[str]:
        assert response.status_code == 200, response.text
        return [m["text"] for m in response.json()["messages"]]

    for peer in (None, sara.username):
        params = {"q": "pomegranate", **({"peer": peer} if peer else {})}
        assert texts(await pest.get("/api/search", params=params)) == [
            "withheld pomegranate quince",
            "visible pomegranate",
        ]
    for peer in (None, pest.username):
        params = {"q": "pomegranate", **({"peer": peer} if peer else {})}
        assert texts(await sara.get("/api/search", params=params)) == ["visible pomegranate"]
    assert texts(await sara.get("/api/search", params={"q": "quince"})) == []
    edited = await pest.patch(f"/api/messages/{sent['id']}", json={"text": "withheld apricot"})
    assert edited.status_code == 200
    assert texts(await pest.get("/api/search", params={"q": "apricot"})) == ["withheld apricot"]
    assert texts(await pest.get("/api/search", params={"q": "quince"})) == [], "the edit reindexed it"
    assert texts(await sara.get("/api/search", params={"q": "apricot"})) == []


async def test_no_read_receipt_crosses_a_block_either_way(live_server, trio):
    sara, pest, _ = trio
    from_pest = await pest.send(sara.username, "before the block")
    from_sara = await sara.send(pest.username, "a reply")
    await sara.post(f"/api/users/{pest.username}/block")
    sara_socket = await Socket.open(live_server, sara.token)
    pest_socket = await Socket.open(live_server, pest.token)
    await sara_socket.send_frame({"type": "read", "peer": pest.username, "up_to": from_pest["id"]})
    own = await sara_socket.expect("read", skip=("presence", "typing"))  # the blocker's own devices know
    assert own["up_to"] == from_pest["id"]
    await pest_socket.send_frame({"type": "read", "peer": sara.username, "up_to": from_sara["id"]})
    await pest_socket.send_frame({"type": "typing", "to": sara.username})
    assert (
        await sara.post(f"/api/conversations/{pest.username}/read", json={"up_to": from_pest["id"]})
    ).status_code == 200
    pest_frames = await pest_socket.quiet(1.0, skip=())
    assert [f for f in pest_frames if f["type"] == "read" and f["reader"] == sara.username] == []
    sara_frames = await sara_socket.quiet(1.0, skip=())
    crossing = [f for f in sara_frames if f["type"] == "typing" or f["type"] == "read" and f["reader"] == pest.username]
    assert crossing == [], "the blocked person's receipt and typing stay away too"
    await asyncio.gather(sara_socket.close(), pest_socket.close())


async def test_a_message_read_across_a_block_stays_delivered_to_its_sender(live_server, trio):
    sara, pest, _ = trio
    before = await pest.send(sara.username, "read before the block")
    assert (
        await sara.post(f"/api/conversations/{pest.username}/read", json={"up_to": before["id"]})
    ).status_code == 200
    during = await pest.send(sara.username, "read during the block")
    await sara.post(f"/api/users/{pest.username}/block")
    assert (
        await sara.post(f"/api/conversations/{pest.username}/read", json={"up_to": during["id"]})
    ).status_code == 200

    async def statuses(person, peer) -> dict[str, str]:
        answer = await person.get(f"/api/conversations/{peer}/messages")
        return {message["text"]: message["status"] for message in answer.json()["messages"]}

    assert await statuses(pest, sara.username) == {
        "read before the block": "read",
        "read during the block": "delivered",
    }
    assert await statuses(sara, pest.username) == {"read before the block": "read", "read during the block": "read"}
    chats = (await pest.get("/api/conversations")).json()["conversations"]
    assert [chat["last_message"]["status"] for chat in chats if chat["peer"]["username"] == sara.username] == [
        "delivered"
    ]
    ours = (await sara.get("/api/conversations")).json()["conversations"]
    assert [chat["unread_count"] for chat in ours if chat["peer"]["username"] == pest.username] == [0]
    # Lifting the block later does not tell: what was read quietly stays "delivered" to the sender.
    await sara.delete(f"/api/users/{pest.username}/block")
    assert (
        await sara.post(f"/api/conversations/{pest.username}/read", json={"up_to": during["id"]})
    ).status_code == 200
    assert (await statuses(pest, sara.username))["read during the block"] == "delivered"
    sockets = await asyncio.gather(Socket.open(live_server, pest.token), Socket.open(live_server, sara.token))
    edited = await pest.request("PATCH", f"/api/messages/{during['id']}", json={"text": "edited after"})
    assert edited.json()["status"] == "delivered"
    live = [await socket.expect("edit", skip=("presence", "typing", "ready")) for socket in sockets]
    assert [frame["message"]["status"] for frame in live] == ["delivered", "read"]
    await asyncio.gather(*(socket.close() for socket in sockets))
    assert (await statuses(sara, pest.username))["edited after"] == "read"
