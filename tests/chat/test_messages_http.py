"""Conversations and messages over HTTP: send, history pages, the chat list, edit, delete, read."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from checks import assert_error, close_all, register_many
from helpers import Api, Socket

MESSAGE_FIELDS = {
    "id", "client_id", "sender", "recipient", "text", "reply_to", "created_at", "edited_at", "deleted", "status",
    "forwarded_from",
    "attachment",
    "envelope",
    "call",
    "reactions",
    "pinned_at",
}  # fmt: skip


async def history(api: Api, peer: str, **params) -> dict:
    response = await api.get(f"/api/conversations/{peer}/messages", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def conversation_with(api: Api, peer: str) -> dict:
    response = await api.get("/api/conversations")
    assert response.status_code == 200, response.text
    return next(chat for chat in response.json()["conversations"] if chat["peer"]["username"] == peer)


@pytest.fixture(scope="module")
async def quiet_pair(live_server):
    """Two users for the tests whose requests are all refused."""
    users = await register_many(live_server, 2)
    yield users
    await close_all(*users)


# ---- sending ----------------------------------------------------------------------------------


async def test_send_answers_201_with_the_stored_message(pair):
    sara, omid = pair
    client_id = uuid.uuid4().hex
    response = await sara.post("/api/messages", json={"to": omid.username, "text": "سلام", "client_id": client_id})
    assert response.status_code == 201
    message = response.json()
    assert set(message) == MESSAGE_FIELDS
    assert isinstance(message["id"], int) and message["id"] > 0
    assert message["client_id"] == client_id
    assert (message["sender"], message["recipient"]) == (sara.username, omid.username)
    assert message["text"] == "سلام"
    assert message["reply_to"] is None and message["edited_at"] is None
    assert message["deleted"] is False and message["status"] == "sent"
    assert message["envelope"] is None  # a plaintext chat: neither side has keys
    assert message["created_at"].endswith("Z")
    assert (await history(omid, sara.username))["messages"] == [message]


async def test_send_accepts_the_recipient_in_any_case(pair):
    sara, omid = pair
    message = await sara.send(omid.username.swapcase(), "hi")
    assert message["recipient"] == omid.username


async def test_retry_with_same_client_id_returns_the_same_message(pair):
    sara, omid = pair
    body = {"to": omid.username, "text": "once", "client_id": "retry-" + uuid.uuid4().hex}
    first = await sara.post("/api/messages", json=body)
    second = await sara.post("/api/messages", json=body)
    third = await sara.post("/api/messages", json={**body, "text": "changed on retry"})
    assert first.status_code == 201
    assert second.status_code == 200 and third.status_code == 200
    assert second.json() == first.json() and third.json() == first.json()
    assert [m["id"] for m in (await history(sara, omid.username))["messages"]] == [first.json()["id"]]
    assert [m["id"] for m in (await history(omid, sara.username))["messages"]] == [first.json()["id"]]


async def test_concurrent_retries_with_same_client_id_store_one_message(pair):
    sara, omid = pair
    body = {"to": omid.username, "text": "racing", "client_id": uuid.uuid4().hex}
    responses = await asyncio.gather(*(sara.post("/api/messages", json=body) for _ in range(8)))
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len((await history(omid, sara.username))["messages"]) == 1


async def test_the_same_client_id_from_two_senders_makes_two_messages(pair):
    sara, omid = pair
    client_id = uuid.uuid4().hex
    from_sara = await sara.send(omid.username, "a", client_id)
    from_omid = await omid.send(sara.username, "b", client_id)
    assert from_sara["id"] != from_omid["id"]
    assert len((await history(sara, omid.username))["messages"]) == 2


async def test_send_to_an_unknown_user_is_404_user_not_found(quiet_pair):
    sara, _ = quiet_pair
    body = {"to": "nobody_" + uuid.uuid4().hex[:20], "text": "hi", "client_id": "x"}
    assert_error(await sara.post("/api/messages", json=body), 404, "user_not_found")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"to": "not valid!"}, "to"),
        ({"to": None}, "to"),
        ({"to": 5}, "to"),
        ({"text": ""}, "text"),
        ({"text": "   \n\t "}, "text"),
        ({"text": None}, "text"),
        ({"text": 12}, "text"),
        ({"client_id": ""}, "client_id"),
        ({"client_id": "c" * 65}, "client_id"),
        ({"client_id": None}, "client_id"),
        ({"client_id": 7}, "client_id"),
        ({"reply_to": "1"}, "reply_to"),
        ({"reply_to": 0}, "reply_to"),
        ({"reply_to": -3}, "reply_to"),
        ({"reply_to": True}, "reply_to"),
        ({"reply_to": 2**63}, "reply_to"),
    ],
    ids=lambda value: repr(value)[:30],
)
async def test_send_refuses_invalid_input_with_422_naming_the_field(quiet_pair, change, field):
    sara, omid = quiet_pair
    body = {"to": omid.username, "text": "hello", "client_id": uuid.uuid4().hex, **change}
    assert_error(await sara.post("/api/messages", json=body), 422, "invalid_input", field)
    assert (await history(sara, omid.username))["messages"] == []


async def test_send_needs_a_token(live_server, quiet_pair):
    _, omid = quiet_pair
    body = {"to": omid.username, "text": "hi", "client_id": "x"}
    assert_error(await Api(live_server).post("/api/messages", json=body), 401, "unauthorized")


async def test_reply_to_a_message_of_the_conversation_is_kept(pair):
    sara, omid = pair
    first = await sara.send(omid.username, "question?")
    reply = await omid.send(sara.username, "answer", reply_to=first["id"])
    assert reply["reply_to"] == first["id"]
    assert (await history(sara, omid.username))["messages"][-1]["reply_to"] == first["id"]


async def test_message_ids_grow_but_reveal_nothing_of_how_many_messages_there_are(pair):
    sara, omid = pair
    sent = []
    for n in range(12):
        sent.append((await sara.send(omid.username, f"count {n}"))["id"])
        await asyncio.sleep(0.003)
    assert sent == sorted(sent) and len(set(sent)) == len(sent)
    # Ids are made of the time (milliseconds) and random or instance-dependent low bits: a few
    # milliseconds apart they jump by thousands, never by one, and JavaScript reads them exactly.
    assert all(later - earlier > 1000 for earlier, later in zip(sent, sent[1:], strict=False)), sent
    assert all(10**12 < i < 2**53 for i in sent), sent
    history = await omid.get(f"/api/conversations/{sara.username}/messages")
    assert [m["id"] for m in history.json()["messages"]][-12:] == sent


async def test_reply_to_a_message_of_another_conversation_is_404(pair, stranger):
    sara, omid = pair
    elsewhere = await sara.send(stranger.username, "private")
    body = {"to": omid.username, "text": "re", "client_id": uuid.uuid4().hex, "reply_to": elsewhere["id"]}
    assert_error(await sara.post("/api/messages", json=body), 404, "message_not_found", "reply_to")
    body["reply_to"] = elsewhere["id"] + 10**6
    assert_error(await sara.post("/api/messages", json=body), 404, "message_not_found", "reply_to")


async def test_text_longer_than_max_message_length_is_422(server_factory):
    server = server_factory(MAX_MESSAGE_LENGTH="10")
    sara, omid = await register_many(server, 2)
    fits = await sara.post("/api/messages", json={"to": omid.username, "text": "۱۲۳۴۵۶۷۸۹۰", "client_id": "a"})
    assert fits.status_code == 201, f"ten characters (twenty UTF-8 bytes) fit: {fits.text}\n{server.log()[-4000:]}"
    too_long = await sara.post("/api/messages", json={"to": omid.username, "text": "x" * 11, "client_id": "b"})
    assert_error(too_long, 422, "invalid_input", "text")
    edit = await sara.patch(f"/api/messages/{fits.json()['id']}", json={"text": "y" * 11})
    assert_error(edit, 422, "invalid_input", "text")
    await asyncio.gather(sara.close(), omid.close())


# ---- history ----------------------------------------------------------------------------------


async def test_history_pages_go_newest_first_each_page_oldest_first_without_gaps(pair):
    sara, omid = pair
    sent = []
    for number in range(7):
        sender, recipient = (sara, omid) if number % 2 == 0 else (omid, sara)
        sent.append((await sender.send(recipient.username, f"m{number}"))["id"])
    assert sent == sorted(sent)

    first = await history(sara, omid.username, limit=3)
    assert [m["id"] for m in first["messages"]] == sent[4:7]
    assert first["has_more"] is True
    second = await history(sara, omid.username, limit=3, before=first["messages"][0]["id"])
    assert [m["id"] for m in second["messages"]] == sent[1:4]
    assert second["has_more"] is True
    third = await history(sara, omid.username, limit=3, before=second["messages"][0]["id"])
    assert [m["id"] for m in third["messages"]] == sent[0:1]
    assert third["has_more"] is False
    assert [m["text"] for m in third["messages"] + second["messages"] + first["messages"]] == [
        f"m{n}" for n in range(7)
    ]
    assert [m["id"] for m in (await history(omid, sara.username))["messages"]] == sent


async def test_history_after_pages_go_oldest_first_towards_the_newest(pair):
    sara, omid = pair
    sent = [(await (sara if n % 2 else omid).send((omid if n % 2 else sara).username, f"m{n}"))["id"] for n in range(7)]
    first = await history(sara, omid.username, limit=3, after=sent[0])
    assert [m["id"] for m in first["messages"]] == sent[1:4] and first["has_more"] is True
    second = await history(sara, omid.username, limit=3, after=first["messages"][-1]["id"])
    assert [m["id"] for m in second["messages"]] == sent[4:7] and second["has_more"] is False
    everything = await history(omid, sara.username, after=0)
    assert [m["id"] for m in everything["messages"]] == sent and everything["has_more"] is False


async def test_history_with_before_and_after_is_the_page_between_them(pair):
    sara, omid = pair
    sent = [(await sara.send(omid.username, f"m{n}"))["id"] for n in range(5)]
    page = await history(omid, sara.username, after=sent[0], before=sent[4], limit=2)
    assert [m["id"] for m in page["messages"]] == sent[1:3] and page["has_more"] is True
    rest = await history(omid, sara.username, after=sent[2], before=sent[4])
    assert [m["id"] for m in rest["messages"]] == sent[3:4] and rest["has_more"] is False


async def test_history_after_shows_a_stranger_none_of_the_chat(pair, stranger):
    sara, omid = pair
    await sara.send(omid.username, "ours alone")
    page = await history(stranger, omid.username, after=0)
    assert page == {"messages": [], "has_more": False}


async def test_the_chat_list_names_the_first_unread_message(pair):
    sara, omid = pair
    read = await omid.send(sara.username, "read one")
    await sara.post(f"/api/conversations/{omid.username}/read", json={"up_to": read["id"]})
    first_unread = await omid.send(sara.username, "unread one")
    await omid.send(sara.username, "unread two")
    chat = await conversation_with(sara, omid.username)
    assert chat["unread_count"] == 2 and chat["first_unread_id"] == first_unread["id"]
    assert (await conversation_with(omid, sara.username))["first_unread_id"] is None


async def test_history_of_exactly_one_full_page_has_no_more(pair):
    sara, omid = pair
    for number in range(3):
        await sara.send(omid.username, str(number))
    page = await history(sara, omid.username, limit=3)
    assert len(page["messages"]) == 3 and page["has_more"] is False


async def test_history_without_messages_is_empty(pair):
    sara, omid = pair
    assert await history(sara, omid.username) == {"messages": [], "has_more": False}


async def test_history_shows_only_the_two_peoples_messages(pair, stranger):
    sara, omid = pair
    await sara.send(stranger.username, "not for omid")
    await omid.send(stranger.username, "not for sara")
    mine = await sara.send(omid.username, "ours")
    assert [m["id"] for m in (await history(sara, omid.username))["messages"]] == [mine["id"]]


@pytest.mark.parametrize(
    "params, field",
    [({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "x"}, "limit"), ({"before": "0"}, "before"),
     ({"before": "-5"}, "before"), ({"before": "1.5"}, "before")],
    ids=["limit 0", "limit 101", "limit x", "before 0", "before -5", "before 1.5"],
)  # fmt: skip
async def test_history_refuses_an_invalid_limit_or_before_with_422(quiet_pair, params, field):
    sara, omid = quiet_pair
    response = await sara.get(f"/api/conversations/{omid.username}/messages", params=params)
    assert_error(response, 422, "invalid_input", field)


async def test_history_with_an_unknown_user_is_404(quiet_pair):
    sara, _ = quiet_pair
    response = await sara.get("/api/conversations/nobody_" + uuid.uuid4().hex[:20] + "/messages")
    assert_error(response, 404, "user_not_found")


# ---- the chat list ----------------------------------------------------------------------------


async def test_conversations_list_the_most_recent_chat_first_with_its_last_message(live_server, stranger):
    sara, omid = await register_many(live_server, 2)
    await sara.send(omid.username, "first")
    await sara.send(stranger.username, "to the stranger")
    latest = await omid.send(sara.username, "latest")
    response = await sara.get("/api/conversations")
    assert response.status_code == 200
    chats = response.json()["conversations"]
    assert [chat["peer"]["username"] for chat in chats] == [omid.username, stranger.username]
    assert set(chats[0]) == {
        "peer", "last_message", "unread_count", "first_unread_id", "updated_at",
        "pinned", "pinned_at", "muted_until", "archived", "marked_unread",
    }  # fmt: skip
    assert (chats[0]["pinned"], chats[0]["muted_until"], chats[0]["archived"], chats[0]["marked_unread"]) == (
        False, None, False, False,
    )  # fmt: skip
    assert chats[0]["last_message"] == latest
    assert chats[0]["updated_at"] == latest["created_at"]
    assert chats[1]["last_message"]["text"] == "to the stranger"
    assert {"username", "display_name", "bio", "created_at", "online", "last_seen"} <= set(chats[0]["peer"])
    assert "id" not in chats[0]["peer"]


async def test_conversations_of_a_new_user_are_empty(quiet_pair):
    sara, _ = quiet_pair
    assert (await sara.get("/api/conversations")).json() == {"conversations": []}


async def test_unread_count_drops_after_marking_read(pair):
    sara, omid = pair
    ids = [(await omid.send(sara.username, f"n{n}"))["id"] for n in range(3)]
    assert (await conversation_with(sara, omid.username))["unread_count"] == 3
    assert (await conversation_with(omid, sara.username))["unread_count"] == 0, "your own messages are not unread"

    response = await sara.post(f"/api/conversations/{omid.username}/read", json={"up_to": ids[1]})
    assert response.status_code == 200
    assert response.json() == {"read_up_to": ids[1]}
    assert (await conversation_with(sara, omid.username))["unread_count"] == 1
    await sara.post(f"/api/conversations/{omid.username}/read", json={"up_to": ids[2]})
    assert (await conversation_with(sara, omid.username))["unread_count"] == 0
    statuses = [m["status"] for m in (await history(omid, sara.username))["messages"]]
    assert statuses == ["read", "read", "read"]


async def test_peer_shows_online_while_connected(live_server, pair):
    sara, omid = pair
    await sara.send(omid.username, "are you there?")
    assert (await conversation_with(sara, omid.username))["peer"]["online"] is False
    socket = await Socket.open(live_server, omid.token)
    try:
        assert (await conversation_with(sara, omid.username))["peer"]["online"] is True
    finally:
        await socket.close()


# ---- marking read ------------------------------------------------------------------------------


async def test_marking_read_only_affects_messages_sent_to_you(pair):
    sara, omid = pair
    to_omid = await sara.send(omid.username, "for omid")
    to_sara = await omid.send(sara.username, "for sara")
    await sara.post(f"/api/conversations/{omid.username}/read", json={"up_to": to_sara["id"]})
    # Sara marking the chat read must not mark her own message as read by Omid.
    messages = {m["id"]: m for m in (await history(omid, sara.username))["messages"]}
    assert messages[to_sara["id"]]["status"] == "read"
    assert messages[to_omid["id"]]["status"] == "sent"
    assert (await conversation_with(omid, sara.username))["unread_count"] == 1


async def test_a_stranger_cannot_mark_others_messages_read(pair, stranger):
    sara, omid = pair
    message = await sara.send(omid.username, "between us")
    response = await stranger.post(f"/api/conversations/{sara.username}/read", json={"up_to": message["id"]})
    assert response.status_code in (200, 403, 404)
    assert (await history(omid, sara.username))["messages"][0]["status"] == "sent"
    assert (await conversation_with(omid, sara.username))["unread_count"] == 1


@pytest.mark.parametrize("body", [{}, {"up_to": None}, {"up_to": "5"}, {"up_to": 0}, {"up_to": -1}, {"up_to": 1.5}])
async def test_mark_read_refuses_an_invalid_up_to_with_422(quiet_pair, body):
    sara, omid = quiet_pair
    response = await sara.post(f"/api/conversations/{omid.username}/read", json=body)
    assert_error(response, 422, "invalid_input", "up_to")


async def test_mark_read_with_an_unknown_user_is_404(quiet_pair):
    sara, _ = quiet_pair
    response = await sara.post("/api/conversations/nobody_" + uuid.uuid4().hex[:20] + "/read", json={"up_to": 1})
    assert_error(response, 404, "user_not_found")


# ---- edit and delete ---------------------------------------------------------------------------


async def test_the_sender_edits_a_message_for_both_sides(pair):
    sara, omid = pair
    message = await sara.send(omid.username, "typo")
    response = await sara.patch(f"/api/messages/{message['id']}", json={"text": "fixed"})
    assert response.status_code == 200
    edited = response.json()
    assert edited["id"] == message["id"] and edited["text"] == "fixed"
    assert edited["edited_at"] is not None and edited["created_at"] == message["created_at"]
    assert (await history(omid, sara.username))["messages"] == [edited]


async def test_only_the_sender_may_edit_or_delete(pair, stranger):
    sara, omid = pair
    message = await sara.send(omid.username, "mine")
    path = f"/api/messages/{message['id']}"
    assert_error(await omid.patch(path, json={"text": "hijack"}), 403, "forbidden")
    assert_error(await omid.delete(path), 403, "forbidden")
    assert_error(await stranger.patch(path, json={"text": "hijack"}), 404, "message_not_found")
    assert_error(await stranger.delete(path), 404, "message_not_found")
    assert (await history(omid, sara.username))["messages"] == [message]


async def test_edit_or_delete_of_an_unknown_message_is_404(quiet_pair):
    sara, _ = quiet_pair
    for path in ("/api/messages/999999999", "/api/messages/0", "/api/messages/abc", "/api/messages/-1"):
        assert_error(await sara.patch(path, json={"text": "x"}), 404, "message_not_found")
        assert_error(await sara.delete(path), 404, "message_not_found")


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "  "}, {"text": None}, {"text": 3}])
async def test_edit_refuses_empty_or_missing_text_with_422(edited_pair, body):
    sara, message = edited_pair
    assert_error(await sara.patch(f"/api/messages/{message['id']}", json=body), 422, "invalid_input", "text")
    assert (await history(sara, message["recipient"]))["messages"] == [message]


@pytest.fixture(scope="module")
async def edited_pair(pool):
    sara, omid = next(pool)
    return sara, await sara.send(omid.username, "keep me")


async def test_deleted_message_shows_deleted_and_empty_text_for_both_sides(pair):
    sara, omid = pair
    before = await sara.send(omid.username, "before")
    secret = await sara.send(omid.username, "oops, secret")
    after = await omid.send(sara.username, "after")
    response = await sara.delete(f"/api/messages/{secret['id']}")
    assert response.status_code == 200
    deleted = response.json()
    assert deleted["id"] == secret["id"] and deleted["deleted"] is True and deleted["text"] == ""
    for api, peer in ((sara, omid.username), (omid, sara.username)):
        messages = (await history(api, peer))["messages"]
        assert [m["id"] for m in messages] == [before["id"], secret["id"], after["id"]], "it keeps its place"
        assert messages[1]["deleted"] is True and messages[1]["text"] == ""
        assert "secret" not in str(messages)


async def test_a_deleted_message_cannot_be_edited_or_deleted_again(pair):
    sara, omid = pair
    message = await sara.send(omid.username, "gone soon")
    assert (await sara.delete(f"/api/messages/{message['id']}")).status_code == 200
    assert_error(await sara.patch(f"/api/messages/{message['id']}", json={"text": "back"}), 409)
    assert_error(await sara.delete(f"/api/messages/{message['id']}"), 409)
    assert (await history(omid, sara.username))["messages"][0]["text"] == ""


async def test_a_deleted_message_does_not_count_as_unread(pair):
    sara, omid = pair
    message = await sara.send(omid.username, "never mind")
    assert (await conversation_with(omid, sara.username))["unread_count"] == 1
    await sara.delete(f"/api/messages/{message['id']}")
    chat = await conversation_with(omid, sara.username)
    assert chat["unread_count"] == 0
    assert chat["last_message"]["deleted"] is True and chat["last_message"]["text"] == ""
