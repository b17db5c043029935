"""Clearing a chat for yourself: every message so far is hidden from you on all your devices
(one `clear` update), the other person keeps them, and a new message brings the chat back."""

from __future__ import annotations

import httpx
import test_forward_and_hide
from checks import assert_error
from helpers import Socket

# The same three people and history helper as forwarding and hiding (the fixture is shared by name).
trio = test_forward_and_hide.trio
history = test_forward_and_hide.history


async def test_clearing_hides_every_message_from_you_and_leaves_the_other_side_alone(trio):
    sara, omid, _ = trio
    await sara.send(omid.username, "one")
    newest = await sara.send(omid.username, "two")
    response = await omid.post(f"/api/conversations/{sara.username}/clear")
    assert response.status_code == 200, response.text
    assert response.json() == {"up_to": newest["id"]}
    assert await history(omid, sara.username) == []
    assert [m["text"] for m in await history(sara, omid.username)] == ["one", "two"]
    chats = (await omid.get("/api/conversations")).json()["conversations"]
    assert sara.username not in [chat["peer"]["username"] for chat in chats]

    await sara.send(omid.username, "three")
    assert [m["text"] for m in await history(omid, sara.username)] == ["three"]


async def test_every_device_of_yours_gets_one_clear_update(live_server, trio):
    sara, omid, _ = trio
    for text in ("a", "b", "c"):
        newest = await sara.send(omid.username, text)
    phone = await Socket.open(live_server, omid.token)
    sara_socket = await Socket.open(live_server, sara.token)
    cursor = phone.ready["cursor"]
    assert (await omid.post(f"/api/conversations/{sara.username}/clear")).status_code == 200
    update = await phone.expect("clear")
    assert update == {"type": "clear", "seq": cursor + 1, "peer": sara.username, "up_to": newest["id"]}
    assert await sara_socket.quiet() == []
    response = await omid.get("/api/updates", params={"after": cursor, "timeout": 0})
    assert response.json()["updates"] == [update]
    await phone.close()
    await sara_socket.close()


async def test_clearing_a_chat_without_messages_changes_nothing(trio):
    sara, _, leila = trio
    response = await leila.post(f"/api/conversations/{sara.username}/clear")
    assert response.json() == {"up_to": None}


async def test_clearing_touches_only_your_own_chats(trio):
    sara, omid, leila = trio
    await sara.send(omid.username, "ours")
    # leila is not of this chat: clearing "her chat with omid" hides nothing of sara's and omid's
    assert (await leila.post(f"/api/conversations/{omid.username}/clear")).json() == {"up_to": None}
    assert [m["text"] for m in await history(omid, sara.username)] == ["ours"]
    assert [m["text"] for m in await history(sara, omid.username)] == ["ours"]


async def test_clearing_needs_a_token_and_a_known_user(live_server, trio):
    sara, omid, _ = trio
    async with httpx.AsyncClient(base_url=live_server.url) as stranger:
        assert_error(await stranger.post(f"/api/conversations/{sara.username}/clear"), 401)
    assert_error(await omid.post("/api/conversations/nobody_here_123/clear"), 404, "user_not_found")
