"""The device link relay (/api/keys/links, docs/e2ee.md §9) as a route: the person's own
logged-in devices only, each slot once and in order, sizes, rates, waiting, the link frame and
the ten minutes a link lives."""

from __future__ import annotations

import asyncio
import base64
import os
import time

from helpers import PASSWORD, Api, Socket, register

from payambar.e2ee import link as e2ee_link
from tests import e2ee_database as db

URL = "/api/keys/links"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    assert response.json()["error"]["code"] == code, response.text


async def login(server, username: str) -> Api:
    api = Api(server)
    response = await api.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    api.token, api.user = response.json()["token"], response.json()["user"]
    return api


async def two_devices(server) -> tuple[Api, Api]:
    """A person's new device (just logged in) and the existing one that approves it."""
    new = await register(server)
    return new, await login(server, new.username)


def link_values() -> tuple[str, str]:
    """(revealed, commitment) as base64url."""
    revealed = os.urandom(e2ee_link.REVEALED_BYTES)
    return b64(revealed), b64(e2ee_link.commitment(revealed))


async def start(new: Api) -> tuple[dict, str]:
    revealed, commitment = link_values()
    response = await new.post(URL, json={"commitment": commitment})
    assert response.status_code == 201, response.text
    return response.json(), revealed


async def test_a_link_fills_its_slots_once_each_in_order(live_server):
    new, existing = await two_devices(live_server)
    link, revealed = await start(new)
    assert link["state"] == "requested" and link["from_this_device"] is True
    assert len(link["id"]) == 32 and link["existing_key"] is link["revealed"] is link["sealed"] is None
    listed = (await existing.get(URL)).json()["links"]
    assert [(item["id"], item["from_this_device"]) for item in listed] == [(link["id"], False)]
    one = f"{URL}/{link['id']}"
    refused(await new.post(f"{one}/reveal", json={"revealed": revealed}), 409, "not_answered")
    refused(await existing.post(f"{one}/seal", json={"sealed": b64(os.urandom(64))}), 409, "not_answered")
    existing_key = b64(os.urandom(32))
    answered = await existing.post(f"{one}/answer", json={"existing_key": existing_key})
    assert answered.status_code == 200 and answered.json()["state"] == "answered", answered.text
    refused(await existing.post(f"{one}/answer", json={"existing_key": b64(os.urandom(32))}), 409, "already_written")
    other, _ = link_values()
    refused(await new.post(f"{one}/reveal", json={"revealed": other}), 422, "commitment_mismatch")
    revealed_answer = await new.post(f"{one}/reveal", json={"revealed": revealed})
    assert revealed_answer.json()["state"] == "revealed"
    refused(await new.post(f"{one}/reveal", json={"revealed": revealed}), 409, "already_written")
    sealed = b64(os.urandom(500))
    assert (await existing.post(f"{one}/seal", json={"sealed": sealed})).json()["state"] == "sealed"
    refused(await existing.post(f"{one}/seal", json={"sealed": sealed}), 409, "already_written")
    seen = (await new.get(one)).json()
    assert (seen["existing_key"], seen["revealed"], seen["sealed"]) == (existing_key, revealed, sealed)
    assert (await new.delete(one)).status_code == 204
    refused(await existing.get(one), 404, "link_not_found")
    refused(await new.delete(one), 404, "link_not_found")


async def test_a_stranger_and_a_token_never_reach_a_link(live_server):
    new, existing = await two_devices(live_server)
    stranger = await register(live_server)
    link, revealed = await start(new)
    one = f"{URL}/{link['id']}"
    assert (await stranger.get(URL)).json() == {"links": []}
    refused(await stranger.get(one), 404, "link_not_found")
    refused(await stranger.post(f"{one}/answer", json={"existing_key": b64(os.urandom(32))}), 404, "link_not_found")
    refused(await stranger.post(f"{one}/reveal", json={"revealed": revealed}), 404, "link_not_found")
    refused(await stranger.post(f"{one}/seal", json={"sealed": b64(os.urandom(64))}), 404, "link_not_found")
    refused(await stranger.delete(one), 404, "link_not_found")
    refused(await stranger.get(f"{URL}/{'A' * 32}"), 404, "link_not_found")
    refused(await stranger.get(f"{URL}/not-a-link"), 404, "link_not_found")
    refused(await Api(live_server).get(one), 401, "unauthorized")
    made = await existing.post(
        "/api/me/tokens", json={"name": "bot", "scopes": ["read", "send", "account"], "password": PASSWORD}
    )
    assert made.status_code == 201, made.text
    token = Api(live_server, made.json()["token"])
    refused(await token.get(one), 403, "session_required")
    refused(await token.post(f"{one}/answer", json={"existing_key": b64(os.urandom(32))}), 403, "session_required")
    assert (await existing.get(one)).json()["state"] == "requested", "nothing the others tried was written"
    await asyncio.gather(*(api.close() for api in (new, existing, stranger, token)))


async def test_each_side_writes_only_its_own_slots(live_server):
    new, existing = await two_devices(live_server)
    third = await login(live_server, new.username)
    link, revealed = await start(new)
    one = f"{URL}/{link['id']}"
    refused(await new.post(f"{one}/answer", json={"existing_key": b64(os.urandom(32))}), 403, "wrong_device")
    assert (await existing.post(f"{one}/answer", json={"existing_key": b64(os.urandom(32))})).status_code == 200
    refused(await existing.post(f"{one}/reveal", json={"revealed": revealed}), 403, "wrong_device")
    refused(await third.post(f"{one}/reveal", json={"revealed": revealed}), 403, "wrong_device")
    refused(await third.post(f"{one}/seal", json={"sealed": b64(os.urandom(64))}), 403, "wrong_device")
    refused(await new.post(f"{one}/seal", json={"sealed": b64(os.urandom(64))}), 403, "wrong_device")
    assert (await third.get(one)).json()["state"] == "answered"
    await asyncio.gather(*(api.close() for api in (new, existing, third)))


async def test_bad_and_oversized_bodies_are_clear_errors(live_server):
    new, existing = await two_devices(live_server)
    refused(await new.post(URL, json={"commitment": b64(os.urandom(31))}), 422, "invalid_input")
    refused(await new.post(URL, json={"commitment": "not base64 at all!"}), 422, "invalid_input")
    refused(await new.post(URL, json={"commitment": b64(os.urandom(32)) + "="}), 422, "invalid_input")
    refused(await new.post(URL, content=b"[1, 2]", headers={"content-type": "application/json"}), 400, "bad_json")
    refused(await new.post(URL, json={"commitment": b64(os.urandom(32)), "pad": "x" * 4000}), 413, "payload_too_large")
    link, _ = await start(new)
    one = f"{URL}/{link['id']}"
    refused(await existing.post(f"{one}/answer", json={"existing_key": 5}), 422, "invalid_input")
    refused(await new.get(one, params={"after": "later", "wait": 1}), 422, "invalid_input")
    refused(await new.get(one, params={"after": "requested", "wait": 26}), 422, "invalid_input")
    assert (await existing.post(f"{one}/answer", json={"existing_key": b64(os.urandom(32))})).status_code == 200
    refused(await existing.post(f"{one}/seal", json={"sealed": "A" * (128 * 1024 + 1)}), 413, "link_payload_too_large")
    refused(await existing.post(f"{one}/seal", json={"sealed": "A" * 300_000}), 413, "payload_too_large")
    refused(await existing.post(f"{one}/seal", json={"sealed": b64(os.urandom(8))}), 422, "invalid_input")
    refused(await existing.post(f"{one}/seal", json={"sealed": "a+b/"}), 422, "invalid_input")
    largest = await existing.post(f"{one}/seal", json={"sealed": "A" * (128 * 1024)})
    assert largest.status_code == 200, largest.text
    await asyncio.gather(new.close(), existing.close())


async def test_starting_links_and_calling_the_relay_are_rate_limited(live_server):
    new, existing = await two_devices(live_server)
    answers = [(await new.post(URL, json={"commitment": link_values()[1]})).status_code for _ in range(21)]
    assert answers == [201] * 20 + [429]
    links = (await existing.get(URL)).json()["links"]
    assert len(links) == 20, "every one started is listed"
    polls = await asyncio.gather(*(existing.get(f"{URL}/{links[0]['id']}") for _ in range(300)))
    statuses = [response.status_code for response in polls]
    # 300 calls a minute in all: the 21 starts and the listing counted too
    assert sorted(statuses) == [200] * (300 - 22) + [429] * 22, statuses
    limited = next(response for response in polls if response.status_code == 429)
    refused(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0
    await asyncio.gather(new.close(), existing.close())


async def test_a_wait_ends_when_the_other_side_writes_and_the_frame_tells_the_other_devices(live_server):
    new, existing = await two_devices(live_server)
    socket = await Socket.open(live_server, existing.token)
    link, _ = await start(new)
    assert await socket.expect("link") == {"type": "link", "id": link["id"], "state": "requested"}
    one = f"{URL}/{link['id']}"
    began = time.monotonic()
    quiet = await new.get(one, params={"after": "requested", "wait": 1})
    assert quiet.json()["state"] == "requested" and 0.9 <= time.monotonic() - began < 5
    waiting = asyncio.create_task(new.get(one, params={"after": "requested", "wait": 20}))
    await asyncio.sleep(0.5)
    assert not waiting.done()
    began = time.monotonic()
    assert (await existing.post(f"{one}/answer", json={"existing_key": b64(os.urandom(32))})).status_code == 200
    woken = await waiting
    assert woken.json()["state"] == "answered" and time.monotonic() - began < 2.5
    assert await socket.expect("link") == {"type": "link", "id": link["id"], "state": "answered"}
    assert (await new.delete(one)).status_code == 204
    assert await socket.expect("link") == {"type": "link", "id": link["id"], "state": "closed"}
    await socket.close()
    await asyncio.gather(new.close(), existing.close())


async def test_a_link_past_its_ten_minutes_is_410_and_no_longer_listed(live_server):
    new, existing = await two_devices(live_server)
    link, _ = await start(new)
    one = f"{URL}/{link['id']}"
    lifetime = (await db.fetch(live_server, "SELECT expires_at - created_at FROM key_links WHERE id = ?",
                               (link["id"],)))[0][0]  # fmt: skip
    assert lifetime == 10 * 60 * 1000
    await db.execute(live_server, "UPDATE key_links SET expires_at = 1 WHERE id = ?", (link["id"],))
    refused(await existing.get(one), 410, "link_expired")
    refused(await new.get(one, params={"after": "requested", "wait": 5}), 410, "link_expired")
    refused(await existing.post(f"{one}/answer", json={"existing_key": b64(os.urandom(32))}), 410, "link_expired")
    assert (await existing.get(URL)).json() == {"links": []}
    await asyncio.gather(new.close(), existing.close())


async def test_an_expired_link_row_is_swept_away(server_factory):
    server = server_factory(UPLOAD_SWEEP_SECONDS="1")
    new, existing = await two_devices(server)
    link, _ = await start(new)
    await db.execute(server, "UPDATE key_links SET expires_at = 1 WHERE id = ?", (link["id"],))
    deadline = time.monotonic() + 15
    while await db.fetch(server, "SELECT id FROM key_links WHERE id = ?", (link["id"],)):
        assert time.monotonic() < deadline, "the expired link's row is still there"
        await asyncio.sleep(0.2)
    refused(await new.get(f"{URL}/{link['id']}"), 404, "link_not_found")
    await asyncio.gather(new.close(), existing.close())
