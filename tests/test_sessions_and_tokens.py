"""Sessions (one per device that logged in) and API tokens for scripts: listed, ended and revoked
by their owner only; a script uses a token exactly as a device uses its session token."""

from __future__ import annotations

import asyncio

import pytest
from checks import assert_error
from helpers import PASSWORD, Api, Socket, register


async def _login(server, username: str, user_agent: str) -> Api:
    api = Api(server)
    body = {"username": username, "password": PASSWORD}
    response = await api.post("/api/auth/login", json=body, headers={"user-agent": user_agent})
    assert response.status_code == 200, response.text
    api.token, api.user = response.json()["token"], response.json()["user"]
    return api


async def test_sessions_list_each_device_with_agent_address_and_times(live_server):
    phone = await register(live_server)
    laptop = await _login(live_server, phone.username, "Laptop Firefox/140")
    response = await laptop.get("/api/me/sessions")
    assert response.status_code == 200
    listed = response.json()["sessions"]
    assert len(listed) == 2
    assert set(listed[0]) == {"id", "user_agent", "address", "created_at", "last_active", "current"}
    current = [s for s in listed if s["current"]]
    assert len(current) == 1 and current[0]["user_agent"] == "Laptop Firefox/140"
    assert current[0]["address"] == "127.0.0.1"
    assert all(s["created_at"].endswith("Z") and s["last_active"].endswith("Z") for s in listed)
    await asyncio.gather(phone.close(), laptop.close())


async def _session(api: Api, session_id: str) -> dict:
    return next(s for s in (await api.get("/api/me/sessions")).json()["sessions"] if s["id"] == session_id)


async def test_last_active_follows_use_over_http_and_over_the_websocket(live_server):
    first = await register(live_server)
    phone = await _login(live_server, first.username, "Phone")
    laptop = await _login(live_server, first.username, "Laptop")
    listed = (await first.get("/api/me/sessions")).json()["sessions"]
    phone_id = next(s["id"] for s in listed if s["user_agent"] == "Phone")
    laptop_id = next(s["id"] for s in listed if s["user_agent"] == "Laptop")
    assert all(s["last_active"] == s["created_at"] for s in listed if s["id"] in (phone_id, laptop_id))
    await asyncio.sleep(1.1)
    socket = await Socket.open(live_server, phone.token)  # the phone is used over its socket only
    assert (await laptop.get("/api/me")).status_code == 200  # the laptop over HTTP
    for _ in range(50):
        phone_session, laptop_session = await _session(first, phone_id), await _session(first, laptop_id)
        if all(s["last_active"] > s["created_at"] for s in (phone_session, laptop_session)):
            break
        await asyncio.sleep(0.05)
    assert phone_session["last_active"] > phone_session["created_at"], phone_session
    assert laptop_session["last_active"] > laptop_session["created_at"], laptop_session
    await socket.close()
    await asyncio.gather(first.close(), phone.close(), laptop.close())


async def test_ending_a_session_logs_that_device_out_and_closes_its_sockets(live_server):
    phone = await register(live_server)
    laptop = await _login(live_server, phone.username, "Laptop")
    socket = await Socket.open(live_server, phone.token)
    phone_session = next(s for s in (await laptop.get("/api/me/sessions")).json()["sessions"] if not s["current"])
    assert (await laptop.delete(f"/api/me/sessions/{phone_session['id']}")).status_code == 204
    assert_error(await phone.get("/api/me"), 401, "unauthorized")
    with pytest.raises(Exception) as closed:
        await socket.receive(timeout=5)
    assert getattr(closed.value, "rcvd", None) is not None and closed.value.rcvd.code == 4003
    assert [s["current"] for s in (await laptop.get("/api/me/sessions")).json()["sessions"]] == [True]
    await asyncio.gather(phone.close(), laptop.close())


async def test_a_stranger_cannot_end_or_see_someone_elses_session(live_server):
    owner, stranger = await register(live_server), await register(live_server)
    owner_session = (await owner.get("/api/me/sessions")).json()["sessions"][0]["id"]
    assert_error(await stranger.delete(f"/api/me/sessions/{owner_session}"), 404, "not_found")
    assert_error(await stranger.delete("/api/me/sessions/" + "x" * 500), 404, "not_found")
    assert owner_session not in str((await stranger.get("/api/me/sessions")).json())
    assert (await owner.get("/api/me")).status_code == 200
    assert_error(await Api(live_server).get("/api/me/sessions"), 401, "unauthorized")
    assert_error(await Api(live_server).delete(f"/api/me/sessions/{owner_session}"), 401, "unauthorized")
    await asyncio.gather(owner.close(), stranger.close())


async def test_an_api_token_is_shown_once_works_like_a_session_and_is_revocable(live_server):
    owner, peer = await register(live_server), await register(live_server)
    created = await owner.post("/api/me/tokens", json={"name": "backup script"})
    assert created.status_code == 201
    token = created.json()
    assert set(token) == {"id", "name", "token", "created_at", "expires_at"} and token["name"] == "backup script"
    assert token["expires_at"] > "2030"
    listed = (await owner.get("/api/me/tokens")).json()["tokens"]
    assert [t["name"] for t in listed] == ["backup script"] and "token" not in listed[0]
    assert token["id"] not in str((await owner.get("/api/me/sessions")).json()), "tokens are not sessions"
    script = Api(live_server, token["token"])
    assert (await script.get("/api/me")).json()["username"] == owner.username
    sent = await script.send(peer.username, "from the script")
    assert sent["sender"] == owner.username
    socket = await Socket.open(live_server, token["token"])
    assert socket.ready["user"]["username"] == owner.username
    assert_error(await script.post("/api/auth/refresh"), 403, "forbidden")
    assert_error(await peer.delete(f"/api/me/tokens/{token['id']}"), 404, "not_found")
    assert_error(await owner.delete(f"/api/me/sessions/{token['id']}"), 404, "not_found")
    assert (await owner.delete(f"/api/me/tokens/{token['id']}")).status_code == 204
    assert_error(await script.get("/api/me"), 401, "unauthorized")
    assert_error(await owner.delete(f"/api/me/tokens/{token['id']}"), 404, "not_found")
    assert (await owner.get("/api/me/tokens")).json()["tokens"] == []
    await asyncio.gather(owner.close(), peer.close(), script.close(), socket.close())


@pytest.mark.parametrize("name", ["", "   ", "\u202e", "n" * 65, None, 5], ids=repr)
async def test_a_token_needs_a_visible_name_of_at_most_64_characters(live_server, name):
    owner = await register(live_server)
    assert_error(await owner.post("/api/me/tokens", json={"name": name}), 422, "invalid_input", "name")
    await owner.close()


async def test_an_account_keeps_at_most_20_tokens(live_server):
    owner = await register(live_server)
    for n in range(20):
        assert (await owner.post("/api/me/tokens", json={"name": f"t{n}"})).status_code == 201
    assert_error(await owner.post("/api/me/tokens", json={"name": "one more"}), 409, "too_many_tokens")
    await owner.close()
