"""A person's own settings of a chat: PATCH /api/conversations/{username} (pin, mute, archive,
mark unread), the chat list's fields, the chat_settings update on their other devices, and
Saved Messages (a chat with yourself)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

from checks import assert_error, close_all, register_many
from helpers import PASSWORD, Api, Socket, register

from store import MAX_PINNED


def settings_path(username: str) -> str:
    return f"/api/conversations/{username}"


async def chat_with(api: Api, username: str) -> dict:
    response = await api.get("/api/conversations")
    assert response.status_code == 200
    [chat] = [chat for chat in response.json()["conversations"] if chat["peer"]["username"] == username]
    return chat


async def test_a_new_chat_has_no_settings(pair):
    sara, omid = pair
    await sara.send(omid.username, "سلام")
    chat = await chat_with(sara, omid.username)
    assert (chat["pinned"], chat["pinned_at"], chat["muted_until"], chat["archived"], chat["marked_unread"]) == (
        False, None, None, False, False,
    )  # fmt: skip


async def test_pin_mute_archive_and_mark_unread_show_in_the_owners_chat_list_only(pair):
    sara, omid = pair
    await sara.send(omid.username, "سلام")
    response = await sara.patch(
        settings_path(omid.username), json={"pinned": True, "mute": "8h", "archived": True, "marked_unread": True}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pinned"] and body["archived"] and body["marked_unread"]
    muted_until = datetime.fromisoformat(body["muted_until"])
    hours = (muted_until - datetime.now(UTC)).total_seconds() / 3600
    assert 7.9 < hours <= 8
    chat = await chat_with(sara, omid.username)
    assert chat["pinned"] and chat["archived"] and chat["marked_unread"] and chat["muted_until"] == body["muted_until"]
    theirs = await chat_with(omid, sara.username)
    assert not theirs["pinned"] and not theirs["archived"] and theirs["muted_until"] is None
    response = await sara.patch(settings_path(omid.username), json={"mute": "off", "pinned": False})
    assert response.json()["muted_until"] is None and response.json()["pinned"] is False
    assert response.json()["archived"] is True  # what the body left out stays
    always = await sara.patch(settings_path(omid.username), json={"mute": "always"})
    assert always.json()["muted_until"].startswith("9999-")


async def test_pinned_chats_come_first_the_newest_pin_on_top(live_server):
    sara, omid, leila, reza = await register_many(live_server, 4)
    for peer in (omid, leila, reza):
        await sara.send(peer.username, "سلام")  # reza the most recent
    await sara.patch(settings_path(omid.username), json={"pinned": True})
    await asyncio.sleep(0.01)
    await sara.patch(settings_path(leila.username), json={"pinned": True})
    chats = (await sara.get("/api/conversations")).json()["conversations"]
    assert [chat["peer"]["username"] for chat in chats] == [leila.username, omid.username, reza.username]
    await close_all(sara, omid, leila, reza)


async def test_at_most_ten_chats_are_pinned(live_server):
    sara = await register(live_server)
    peers = [await register(live_server) for _ in range(MAX_PINNED + 1)]  # one at a time: bcrypt is slow
    for peer in peers[:MAX_PINNED]:
        assert (await sara.patch(settings_path(peer.username), json={"pinned": True})).status_code == 200
    assert_error(await sara.patch(settings_path(peers[-1].username), json={"pinned": True}), 409, "too_many_pinned")
    await sara.patch(settings_path(peers[0].username), json={"pinned": False})
    assert (await sara.patch(settings_path(peers[-1].username), json={"pinned": True})).status_code == 200
    await close_all(sara, *peers)


async def test_bad_settings_are_refused_with_the_field_named(pair):
    sara, omid = pair
    path = settings_path(omid.username)
    assert_error(await sara.patch(path, json={"mute": "2h"}), 422, "invalid_input", "mute")
    assert_error(await sara.patch(path, json={"pinned": "yes"}), 422, "invalid_input", "pinned")
    assert_error(await sara.patch(path, json={"archived": 1}), 422, "invalid_input", "archived")
    assert_error(await sara.patch(path, content=b"[1]"), 400, "bad_json")
    assert_error(await sara.patch(path, content=b"x" * 70_000), 413)


async def test_a_stranger_and_an_unknown_peer_are_refused(live_server, pair):
    sara, omid = pair
    assert_error(await Api(live_server).patch(settings_path(omid.username), json={"pinned": True}), 401)
    assert_error(await sara.patch(settings_path("nobody_by_this_name"), json={"pinned": True}), 404, "user_not_found")
    assert_error(await sara.patch(settings_path("no!"), json={"pinned": True}), 404, "user_not_found")


async def test_a_change_reaches_the_owners_other_device_and_nobody_else(pair):
    sara, omid = pair
    await sara.send(omid.username, "سلام")
    laptop = await Socket.open(sara.server, sara.token)
    peer_socket = await Socket.open(omid.server, omid.token)
    await sara.patch(settings_path(omid.username), json={"archived": True})
    frame = await laptop.expect("chat_settings")
    assert frame["peer"] == omid.username and isinstance(frame["seq"], int)
    assert await peer_socket.quiet() == []
    resumed = await Socket.open(sara.server, sara.token, after=frame["seq"] - 1)  # replay gives it again
    assert (await resumed.expect("chat_settings"))["seq"] == frame["seq"]
    for socket in (laptop, peer_socket, resumed):
        await socket.close()


async def test_changing_nothing_sends_no_update(pair):
    sara, omid = pair
    await sara.patch(settings_path(omid.username), json={"archived": True})
    laptop = await Socket.open(sara.server, sara.token)
    await sara.patch(settings_path(omid.username), json={"archived": True})
    empty = await sara.patch(settings_path(omid.username), json={})
    assert empty.status_code == 200 and empty.json()["archived"] is True
    assert await laptop.quiet() == []
    await laptop.close()


async def test_the_rate_limit_holds_a_script(live_server):
    sara, omid = await register_many(live_server, 2)
    statuses = [
        (await sara.patch(settings_path(omid.username), json={"archived": n % 2 == 0})).status_code for n in range(125)
    ]
    assert statuses[:120] == [200] * 120
    assert_error(await sara.patch(settings_path(omid.username), json={"archived": True}), 429, "rate_limited")
    await close_all(sara, omid)


async def test_saved_messages_a_chat_with_yourself_reaches_your_other_device(pair):
    sara, _ = pair
    laptop = await Socket.open(sara.server, sara.token)
    note = await sara.send(sara.username, "یادداشت")
    assert note["sender"] == note["recipient"] == sara.username
    frame = await laptop.expect("message")
    assert frame["message"]["id"] == note["id"]
    assert await laptop.quiet() == []  # once, not twice
    chat = await chat_with(sara, sara.username)
    assert chat["last_message"]["id"] == note["id"] and chat["unread_count"] == 0
    history = (await sara.get(f"/api/conversations/{sara.username}/messages")).json()["messages"]
    assert [message["id"] for message in history] == [note["id"]]
    await laptop.close()


async def test_a_deleted_account_leaves_no_chat_settings_behind(server_factory, tmp_path):
    data = tmp_path / "data"
    server = server_factory(data, DATABASE_URL=f"sqlite:///{data}/payambar.db")
    leaver, omid = await register_many(server, 2)
    await leaver.patch(settings_path(omid.username), json={"pinned": True, "mute": "always"})
    await omid.patch(settings_path(leaver.username), json={"archived": True})
    assert (await leaver.request("DELETE", "/api/me", json={"password": PASSWORD})).status_code == 204
    server.stop()
    with sqlite3.connect(data / "payambar.db") as db:
        owners = [row[0] for row in db.execute("SELECT user_id FROM chat_settings")]
    assert owners == [omid.user["id"]]  # the other person's own settings stay theirs
    await close_all(leaver, omid)


async def test_a_pinned_chat_is_listed_however_old_it_is(live_server):
    sara, omid, leila, reza = await register_many(live_server, 4)
    for peer in (omid, leila, reza):
        await sara.send(peer.username, "سلام")  # omid's chat the oldest
    await sara.patch(settings_path(omid.username), json={"pinned": True})
    chats = (await sara.get("/api/conversations", params={"limit": 2})).json()["conversations"]
    assert [chat["peer"]["username"] for chat in chats] == [omid.username, reza.username, leila.username]
    chats = (await sara.get("/api/conversations", params={"limit": 1})).json()["conversations"]
    assert [chat["peer"]["username"] for chat in chats] == [omid.username, reza.username]
    await close_all(sara, omid, leila, reza)
