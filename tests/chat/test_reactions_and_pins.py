"""Reactions (one per person per message, an emoji in a plaintext chat, an envelope in an encrypted
one) and pinned messages (for both people): the routes, the `reaction` and `pin` updates on every
device, history and the long-poll, and the refusals — a stranger, the wrong kind for the chat,
bad emoji, a block, a deleted message, the limits."""

from __future__ import annotations

import uuid

import pytest
from checks import assert_error, close_all, register_many
from helpers import Socket

from payambar.e2ee.primitives import b64
from tests.e2ee_people import close, person


def reaction_path(message_id: int) -> str:
    return f"/api/messages/{message_id}/reaction"


def pin_path(message_id: int) -> str:
    return f"/api/messages/{message_id}/pin"


async def history(api, peer: str) -> list[dict]:
    response = await api.get(f"/api/conversations/{peer}/messages")
    assert response.status_code == 200
    return response.json()["messages"]


async def test_each_person_has_one_reaction_told_live_to_every_device_and_kept_in_history(live_server):
    sara, omid = await register_many(live_server, 2)
    sent = await sara.send(omid.username, "شام امشب؟")
    omid_phone = await Socket.open(live_server, omid.token)
    sara_laptop = await Socket.open(live_server, sara.token)
    try:
        answer = await omid.request("PUT", reaction_path(sent["id"]), json={"emoji": "👍"})
        assert answer.status_code == 200, answer.text
        assert [(r["user"], r["emoji"]) for r in answer.json()["reactions"]] == [(omid.username, "👍")]
        for socket in (omid_phone, sara_laptop):
            frame = await socket.expect("reaction")
            assert frame["message"]["id"] == sent["id"]
            assert [r["emoji"] for r in frame["message"]["reactions"]] == ["👍"]
        # a second reaction by the same person replaces the first; the other person adds theirs
        await omid.request("PUT", reaction_path(sent["id"]), json={"emoji": "❤️"})
        await sara.request("PUT", reaction_path(sent["id"]), json={"emoji": "👨‍👩‍👧"})
        [message] = await history(sara, omid.username)
        assert sorted((r["user"], r["emoji"]) for r in message["reactions"]) == sorted(
            [(omid.username, "❤️"), (sara.username, "👨‍👩‍👧")]
        )
        taken = await omid.request("DELETE", reaction_path(sent["id"]))
        assert [r["user"] for r in taken.json()["reactions"]] == [sara.username]
        updates = (await omid.get("/api/updates", params={"after": 0, "timeout": 0})).json()["updates"]
        assert [u["type"] for u in updates if u["type"] == "reaction"] == ["reaction"] * 4
        assert updates[-1]["message"]["reactions"] == taken.json()["reactions"]
        [message] = await history(omid, sara.username)
        assert [r["user"] for r in message["reactions"]] == [sara.username]
    finally:
        await omid_phone.close(), await sara_laptop.close(), await close_all(sara, omid)


@pytest.mark.parametrize(
    "emoji", ["", "a", "ok", "1", "👍 ", "\u202e👍", "\u200d", "👍" * 17, 5, None, ["👍"]], ids=repr
)
async def test_what_is_not_one_emoji_is_refused_and_changes_nothing(pair, emoji):
    sara, omid = pair
    sent = await sara.send(omid.username, "hi")
    assert_error(await omid.request("PUT", reaction_path(sent["id"]), json={"emoji": emoji}), 422)
    [message] = [m for m in await history(omid, sara.username) if m["id"] == sent["id"]]
    assert message["reactions"] == []


async def test_a_stranger_and_a_bad_id_get_404_and_a_deleted_message_409(live_server):
    sara, omid, stranger = await register_many(live_server, 3)
    try:
        sent = await sara.send(omid.username, "ours")
        for path in (reaction_path(sent["id"]), pin_path(sent["id"])):
            assert_error(await stranger.request("PUT", path, json={"emoji": "👍"}), 404)
            assert_error(await stranger.request("DELETE", path), 404)
        for bad in ("0", "abc", str(2**62), "-1", "99999999999"):
            assert_error(await omid.request("PUT", f"/api/messages/{bad}/reaction", json={"emoji": "👍"}), 404)
        assert (await stranger.get(f"/api/conversations/{sara.username}/pins")).json() == {"messages": []}
        anonymous = await stranger.client.put(reaction_path(sent["id"]), json={"emoji": "👍"})
        assert anonymous.status_code == 401
        await omid.request("PUT", reaction_path(sent["id"]), json={"emoji": "👍"})
        await sara.request("PUT", pin_path(sent["id"]))
        assert (await sara.delete(f"/api/messages/{sent['id']}")).status_code == 200
        [message] = await history(omid, sara.username)
        assert message["deleted"] and message["reactions"] == [] and message["pinned_at"] is None
        assert_error(await omid.request("PUT", reaction_path(sent["id"]), json={"emoji": "👍"}), 409)
        assert_error(await omid.request("PUT", pin_path(sent["id"])), 409)
    finally:
        await close_all(sara, omid, stranger)


async def test_a_reaction_across_a_block_is_kept_from_the_other_person(live_server):
    sara, pest = await register_many(live_server, 2)
    try:
        sent = await sara.send(pest.username, "before the block")
        assert (await sara.post(f"/api/users/{pest.username}/block")).status_code == 204
        sara_socket = await Socket.open(live_server, sara.token)
        answer = await pest.request("PUT", reaction_path(sent["id"]), json={"emoji": "😡"})
        assert answer.status_code == 200 and [r["emoji"] for r in answer.json()["reactions"]] == ["😡"]
        assert await sara_socket.quiet(0.5) == []
        [mine] = await history(sara, pest.username)
        assert mine["reactions"] == []
        [theirs] = await history(pest, sara.username)
        assert [r["emoji"] for r in theirs["reactions"]] == ["😡"]  # as if it went through
        await sara_socket.close()
    finally:
        await close_all(sara, pest)


async def test_pins_are_for_both_people_newest_first_and_told_live(live_server):
    sara, omid = await register_many(live_server, 2)
    first = await sara.send(omid.username, "the address")
    second = await omid.send(sara.username, "the time")
    socket = await Socket.open(live_server, omid.token)
    try:
        answer = await omid.request("PUT", pin_path(first["id"]))
        assert answer.status_code == 200 and answer.json()["pinned_at"]
        assert (await socket.expect("pin"))["message"]["id"] == first["id"]
        await sara.request("PUT", pin_path(second["id"]))
        assert (await socket.expect("pin"))["message"]["pinned_at"]
        for api, peer in ((sara, omid.username), (omid, sara.username)):
            pins = (await api.get(f"/api/conversations/{peer}/pins")).json()["messages"]
            assert [m["id"] for m in pins] == [second["id"], first["id"]]
        again = await sara.request("PUT", pin_path(second["id"]))  # pinning twice changes nothing
        assert again.json()["pinned_at"] == (await history(sara, omid.username))[-1]["pinned_at"]
        await sara.request("DELETE", pin_path(first["id"]))
        assert (await socket.expect("pin"))["message"]["pinned_at"] is None
        pins = (await omid.get(f"/api/conversations/{sara.username}/pins")).json()["messages"]
        assert [m["id"] for m in pins] == [second["id"]]
    finally:
        await socket.close(), await close_all(sara, omid)


async def test_an_encrypted_chat_takes_only_sealed_reactions_and_a_plaintext_one_only_emoji(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path, 1), await person(live_server, tmp_path, 1)
    plain, other = await register_many(live_server, 2)
    try:
        sent = await sara[0].send_text(omid[0].username, "sealed")
        inner = {"v": 1, "kind": "reaction", "target": sent["id"], "emoji": "🔥", "sent_at": 1}
        client_id = f"reaction-{uuid.uuid4().hex}"
        peer = await omid[0].keys_of(sara[0].username)
        envelope = await omid[0]._seal(sara[0].username, peer, inner, client_id)
        headers = {"authorization": f"Bearer {omid[0].token}"}
        path = reaction_path(sent["id"])
        clear = await omid[0].http.put(path, json={"emoji": "🔥"}, headers=headers)
        assert clear.status_code == 409 and clear.json()["error"]["code"] == "encryption_required"
        missing = await omid[0].http.put(path, json={"envelope": envelope}, headers=headers)
        assert missing.status_code == 422 and missing.json()["error"]["field"] == "client_id"
        broken = await omid[0].http.put(path, json={"envelope": "AAAA", "client_id": client_id}, headers=headers)
        assert broken.status_code == 422 and broken.json()["error"]["field"] == "envelope"
        huge = await omid[0].http.put(path, json={"envelope": "A" * 50_000, "client_id": client_id}, headers=headers)
        assert huge.status_code == 413
        answer = await omid[0].http.put(path, json={"envelope": envelope, "client_id": client_id}, headers=headers)
        assert answer.status_code == 200, answer.text
        [reaction] = answer.json()["reactions"]
        assert reaction["envelope"] == envelope and reaction["client_id"] == client_id and "emoji" not in reaction
        # what the server keeps is the envelope: the reacting device's peer opens it from history
        [message] = (await sara[0]._call("GET", f"/api/conversations/{omid[0].username}/messages"))["messages"]
        stored = message["reactions"][0]
        opened = await sara[0].open(
            {"id": 0, "sender": omid[0].username, "recipient": sara[0].username, "client_id": stored["client_id"],
             "envelope": stored["envelope"], "deleted": False}
        )  # fmt: skip
        assert opened.inner["kind"] == "reaction" and opened.inner["emoji"] == "🔥"
        sent_plain = await plain.send(other.username, "plaintext")
        sealed = await other.request(
            "PUT", reaction_path(sent_plain["id"]), json={"envelope": b64(b"\x01" * 80), "client_id": client_id}
        )
        assert_error(sealed, 409)
    finally:
        await close(sara, omid), await close_all(plain, other)


async def test_reactions_are_rate_limited_beyond_what_a_person_taps(live_server):
    sara, omid = await register_many(live_server, 2)
    try:
        sent = await sara.send(omid.username, "tap tap")
        statuses = []
        for index in range(130):
            emoji = "👍" if index % 2 else "👎"
            statuses.append((await omid.request("PUT", reaction_path(sent["id"]), json={"emoji": emoji})).status_code)
        assert statuses[:100] == [200] * 100 and statuses[-1] == 429
        assert_error(await omid.request("DELETE", reaction_path(sent["id"])), 429)
    finally:
        await close_all(sara, omid)
