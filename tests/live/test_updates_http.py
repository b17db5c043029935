"""GET /api/updates: the user's ordered update stream by long-poll."""

from __future__ import annotations

import asyncio
import time

import pytest
from checks import assert_error, close_all, register_many
from helpers import Api


async def poll(api: Api, **params) -> dict:
    params.setdefault("timeout", 0)
    response = await api.get("/api/updates", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"updates", "cursor"}
    return body


async def test_after_zero_returns_every_update_in_order_with_the_cursor(live_server):
    sara, omid = await register_many(live_server, 2)
    first = await sara.send(omid.username, "one")
    second = await sara.send(omid.username, "two")
    third = await omid.send(sara.username, "three")
    body = await poll(omid, after=0)
    updates = body["updates"]
    assert [u["type"] for u in updates] == ["message"] * 3
    assert [u["seq"] for u in updates] == [1, 2, 3]
    assert [u["message"]["id"] for u in updates] == [first["id"], second["id"], third["id"]]
    assert body["cursor"] == 3
    assert set(updates[0]) == {"type", "seq", "message"}
    await close_all(sara, omid)


async def test_without_after_the_poll_starts_at_the_current_end(pair):
    sara, omid = pair
    await sara.send(omid.username, "old news")
    end = (await poll(omid, after=0, limit=1000))["cursor"]
    body = await poll(omid)
    assert body == {"updates": [], "cursor": end}


async def test_a_cursor_gives_only_what_came_after_it(pair):
    sara, omid = pair
    await sara.send(omid.username, "seen")
    cursor = (await poll(omid, after=0, limit=1000))["cursor"]
    new = await sara.send(omid.username, "new")
    body = await poll(omid, after=cursor)
    assert [u["message"]["id"] for u in body["updates"]] == [new["id"]]
    assert body["cursor"] == cursor + 1
    assert await poll(omid, after=body["cursor"]) == {"updates": [], "cursor": body["cursor"]}


async def test_limit_caps_the_updates_and_the_cursor_follows_the_last_given(pair):
    sara, omid = pair
    start = (await poll(omid))["cursor"]
    for text in ("a", "b", "c"):
        await sara.send(omid.username, text)
    body = await poll(omid, after=start, limit=2)
    assert [u["seq"] for u in body["updates"]] == [start + 1, start + 2] and body["cursor"] == start + 2
    body = await poll(omid, after=start + 2, limit=2)
    assert [u["seq"] for u in body["updates"]] == [start + 3] and body["cursor"] == start + 3


async def test_a_waiting_poll_answers_as_soon_as_a_message_arrives(pair):
    sara, omid = pair
    cursor = (await poll(omid))["cursor"]
    started = time.monotonic()
    waiting = asyncio.create_task(omid.get("/api/updates", params={"after": cursor, "timeout": 20}))
    await asyncio.sleep(0.5)
    assert not waiting.done(), "nothing to answer yet"
    message = await sara.send(omid.username, "wake up")
    response = await asyncio.wait_for(waiting, 10)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed < 5, f"answered after {elapsed:.1f}s, not at once"
    updates = response.json()["updates"]
    assert [u["message"]["id"] for u in updates] == [message["id"]]
    assert response.json()["cursor"] == updates[-1]["seq"]


async def test_a_poll_that_times_out_answers_empty_with_the_same_cursor(pair):
    _, omid = pair
    cursor = (await poll(omid))["cursor"]
    started = time.monotonic()
    body = await poll(omid, after=cursor, timeout=1)
    elapsed = time.monotonic() - started
    assert body == {"updates": [], "cursor": cursor}
    assert 0.8 <= elapsed < 5


async def test_messages_received_by_poll_become_delivered_for_the_sender(pair):
    sara, omid = pair
    omid_cursor = (await poll(omid))["cursor"]
    message = await sara.send(omid.username, "did you get it?")
    assert message["status"] == "sent"
    sender_cursor = (await poll(sara))["cursor"]
    received = (await poll(omid, after=omid_cursor))["updates"]
    assert received[0]["message"]["status"] == "delivered"
    history = (await sara.get(f"/api/conversations/{omid.username}/messages")).json()["messages"]
    assert history[0]["status"] == "delivered"
    status_updates = (await poll(sara, after=sender_cursor))["updates"]
    assert [(u["type"], u["message"]["id"], u["message"]["status"]) for u in status_updates] == [
        ("status", message["id"], "delivered")
    ]


async def test_the_senders_own_poll_does_not_mark_a_message_delivered(pair):
    sara, omid = pair
    cursor = (await poll(sara))["cursor"]
    message = await sara.send(omid.username, "still in flight")
    own = (await poll(sara, after=cursor))["updates"]
    assert [(u["type"], u["message"]["status"]) for u in own] == [("message", "sent")]
    history = (await sara.get(f"/api/conversations/{omid.username}/messages")).json()["messages"]
    assert [m["status"] for m in history] == ["sent"] and history[0]["id"] == message["id"]


async def test_edits_deletes_and_reads_reach_both_streams(pair):
    sara, omid = pair
    first = await sara.send(omid.username, "first")
    second = await sara.send(omid.username, "second")
    sara_cursor, omid_cursor = (await poll(sara))["cursor"], (await poll(omid))["cursor"]
    await sara.patch(f"/api/messages/{first['id']}", json={"text": "first, edited"})
    await sara.delete(f"/api/messages/{second['id']}")
    await omid.post(f"/api/conversations/{sara.username}/read", json={"up_to": first["id"]})
    for api, cursor in ((sara, sara_cursor), (omid, omid_cursor)):
        updates = (await poll(api, after=cursor))["updates"]
        assert [u["type"] for u in updates] == ["edit", "delete", "read"], api.username
        assert [u["seq"] for u in updates] == [cursor + 1, cursor + 2, cursor + 3]
        assert updates[0]["message"]["id"] == first["id"]
        assert updates[1]["message"]["id"] == second["id"]
        assert updates[1]["message"]["deleted"] is True and updates[1]["message"]["text"] == ""
        assert {k: updates[2][k] for k in ("reader", "up_to")} == {"reader": omid.username, "up_to": first["id"]}
    sara_read = (await poll(sara, after=sara_cursor + 2))["updates"][0]
    omid_read = (await poll(omid, after=omid_cursor + 2))["updates"][0]
    assert sara_read["peer"] == omid.username and omid_read["peer"] == sara.username


async def test_an_old_message_update_shows_the_message_as_it_is_now(pair):
    sara, omid = pair
    cursor = (await poll(omid))["cursor"]
    message = await sara.send(omid.username, "regret")
    await sara.delete(f"/api/messages/{message['id']}")
    first = (await poll(omid, after=cursor))["updates"][0]
    assert first["type"] == "message" and first["message"]["deleted"] is True and first["message"]["text"] == ""


async def test_strangers_never_see_others_updates(pair, stranger):
    sara, omid = pair
    leila = stranger
    cursor = (await poll(leila))["cursor"]
    message = await sara.send(omid.username, "between us")
    await sara.patch(f"/api/messages/{message['id']}", json={"text": "still between us"})
    await omid.post(f"/api/conversations/{sara.username}/read", json={"up_to": message["id"]})
    assert await poll(leila, after=0) == {"updates": [], "cursor": cursor}
    assert cursor == 0


@pytest.mark.parametrize(
    "params, field",
    [
        ({"after": "-1"}, "after"),
        ({"after": "abc"}, "after"),
        ({"after": "1.5"}, "after"),
        ({"timeout": "61"}, "timeout"),
        ({"timeout": "-1"}, "timeout"),
        ({"timeout": "soon"}, "timeout"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
    ],
    ids=lambda value: repr(value),
)
async def test_invalid_poll_parameters_are_422_naming_the_parameter(live_server, poller, params, field):
    assert_error(await poller.get("/api/updates", params=params), 422, "invalid_input", field)


async def test_polling_needs_a_token(live_server):
    assert_error(await Api(live_server).get("/api/updates", params={"timeout": 0}), 401, "unauthorized")


@pytest.fixture(scope="module")
async def poller(live_server):
    (api,) = await register_many(live_server, 1)
    yield api
    await api.close()
