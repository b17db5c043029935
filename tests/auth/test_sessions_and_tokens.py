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
    ended = await laptop.request("DELETE", f"/api/me/sessions/{phone_session['id']}", json={"password": PASSWORD})
    assert ended.status_code == 204
    assert_error(await phone.get("/api/me"), 401, "unauthorized")
    with pytest.raises(Exception) as closed:
        await socket.receive(timeout=5)
    assert getattr(closed.value, "rcvd", None) is not None and closed.value.rcvd.code == 4003
    assert [s["current"] for s in (await laptop.get("/api/me/sessions")).json()["sessions"]] == [True]
    await asyncio.gather(phone.close(), laptop.close())


async def test_a_stranger_cannot_end_or_see_someone_elses_session(live_server):
    owner, stranger = await register(live_server), await register(live_server)
    owner_session = (await owner.get("/api/me/sessions")).json()["sessions"][0]["id"]
    own_password = {"json": {"password": PASSWORD}}
    assert_error(
        await stranger.request("DELETE", f"/api/me/sessions/{owner_session}", **own_password), 404, "not_found"
    )
    assert_error(await stranger.request("DELETE", "/api/me/sessions/" + "x" * 500, **own_password), 404, "not_found")
    assert owner_session not in str((await stranger.get("/api/me/sessions")).json())
    assert (await owner.get("/api/me")).status_code == 200
    assert_error(await Api(live_server).get("/api/me/sessions"), 401, "unauthorized")
    assert_error(await Api(live_server).delete(f"/api/me/sessions/{owner_session}"), 401, "unauthorized")
    await asyncio.gather(owner.close(), stranger.close())


async def test_an_api_token_is_shown_once_works_like_a_session_and_is_revocable(live_server):
    owner, peer = await register(live_server), await register(live_server)
    created = await owner.post("/api/me/tokens", json={"name": "backup script", "password": PASSWORD})
    assert created.status_code == 201
    token = created.json()
    assert set(token) == {"id", "name", "scopes", "token", "created_at", "expires_at"}
    assert token["name"] == "backup script" and token["scopes"] == ["read", "send"]  # the default
    assert token["expires_at"] > "2030"
    listed = (await owner.get("/api/me/tokens")).json()["tokens"]
    assert [(t["name"], t["scopes"]) for t in listed] == [("backup script", ["read", "send"])]
    assert "token" not in listed[0]
    assert token["id"] not in str((await owner.get("/api/me/sessions")).json()), "tokens are not sessions"
    script = Api(live_server, token["token"])
    assert (await script.get("/api/me")).json()["username"] == owner.username
    sent = await script.send(peer.username, "from the script")
    assert sent["sender"] == owner.username
    socket = await Socket.open(live_server, token["token"])
    assert socket.ready["user"]["username"] == owner.username
    assert_error(await script.post("/api/auth/refresh"), 403, "forbidden")
    assert_error(await peer.delete(f"/api/me/tokens/{token['id']}"), 404, "not_found")
    not_a_session = await owner.request("DELETE", f"/api/me/sessions/{token['id']}", json={"password": PASSWORD})
    assert_error(not_a_session, 404, "not_found")
    assert (await owner.delete(f"/api/me/tokens/{token['id']}")).status_code == 204
    assert_error(await script.get("/api/me"), 401, "unauthorized")
    assert_error(await owner.delete(f"/api/me/tokens/{token['id']}"), 404, "not_found")
    assert (await owner.get("/api/me/tokens")).json()["tokens"] == []
    await asyncio.gather(owner.close(), peer.close(), script.close(), socket.close())


@pytest.mark.parametrize("name", ["", "   ", "\u202e", "n" * 65, None, 5], ids=repr)
async def test_a_token_needs_a_visible_name_of_at_most_64_characters(live_server, name):
    owner = await register(live_server)
    body = {"name": name, "password": PASSWORD}
    assert_error(await owner.post("/api/me/tokens", json=body), 422, "invalid_input", "name")
    await owner.close()


async def test_an_account_keeps_at_most_20_tokens(live_server):
    owner = await register(live_server)
    for n in range(20):
        made = await owner.post("/api/me/tokens", json={"name": f"t{n}", "password": PASSWORD})
        assert made.status_code == 201
    one_more = {"name": "one more", "password": PASSWORD}
    assert_error(await owner.post("/api/me/tokens", json=one_more), 409, "too_many_tokens")
    await owner.close()


async def _token(owner: Api, *scopes: str) -> Api:
    body = {"name": "script", "password": PASSWORD} | ({"scopes": list(scopes)} if scopes else {})
    created = await owner.post("/api/me/tokens", json=body)
    assert created.status_code == 201, created.text
    return Api(owner.server, created.json()["token"], owner.user)


async def test_no_api_token_can_end_sessions_make_tokens_change_the_password_or_delete_the_account(live_server):
    owner = await register(live_server)
    script = await _token(owner, "read", "send", "account")
    phone_session = (await owner.get("/api/me/sessions")).json()["sessions"][0]["id"]
    with_password = {"json": {"password": PASSWORD}}
    tries = [
        await script.request("DELETE", f"/api/me/sessions/{phone_session}", **with_password),
        await script.post("/api/me/tokens", json={"name": "survivor", "password": PASSWORD}),
        await script.post("/api/me/password", json={"current_password": PASSWORD, "new_password": "taken over!"}),
        await script.request("DELETE", "/api/me", **with_password),
    ]
    for answer in tries:
        assert_error(answer, 403, "session_required")
    assert (await owner.get("/api/me")).status_code == 200, "the owner's session lives"
    assert len((await owner.get("/api/me/tokens")).json()["tokens"]) == 1
    login = await Api(live_server).post("/api/auth/login", json={"username": owner.username, "password": PASSWORD})
    assert login.status_code == 200, "the password is unchanged"
    await asyncio.gather(owner.close(), script.close())


async def test_a_device_needs_the_password_to_end_a_session_or_make_a_token(live_server):
    phone = await register(live_server)
    laptop = await _login(live_server, phone.username, "Laptop")
    phone_session = next(s for s in (await laptop.get("/api/me/sessions")).json()["sessions"] if not s["current"])
    path = f"/api/me/sessions/{phone_session['id']}"
    assert_error(await laptop.delete(path), 422, "invalid_input", "password")
    assert_error(await laptop.request("DELETE", path, json={"password": "not the password"}), 403, "wrong_password")
    assert_error(await laptop.post("/api/me/tokens", json={"name": "x"}), 422, "invalid_input", "password")
    refused = await laptop.post("/api/me/tokens", json={"name": "x", "password": "not the password"})
    assert_error(refused, 403, "wrong_password", "password")
    assert (await phone.get("/api/me")).status_code == 200
    assert (await laptop.get("/api/me/tokens")).json()["tokens"] == []
    await asyncio.gather(phone.close(), laptop.close())


@pytest.mark.parametrize("scopes", [[], ["admin"], ["read", "read", "send", "account", "x"], "read", [1]], ids=repr)
async def test_scopes_are_some_of_read_send_and_account(live_server, scopes):
    owner = await register(live_server)
    body = {"name": "x", "password": PASSWORD, "scopes": scopes}
    assert_error(await owner.post("/api/me/tokens", json=body), 422, "invalid_input", "scopes")
    await owner.close()


async def test_a_token_does_only_what_its_scopes_allow_over_http_and_websocket(live_server):
    owner, peer = await register(live_server), await register(live_server)
    await peer.send(owner.username, "hello")
    reader, sender, manager = (
        await _token(owner, "read"),
        await _token(owner, "read", "send"),
        await _token(owner, "read", "account"),
    )
    message = {"to": peer.username, "text": "from a script", "client_id": "c1"}
    assert (await reader.get("/api/conversations")).status_code == 200
    assert_error(await reader.post("/api/messages", json=message), 403, "insufficient_scope")
    assert_error(
        await reader.post(f"/api/conversations/{peer.username}/read", json={"up_to": 1}), 403, "insufficient_scope"
    )
    assert (await sender.post("/api/messages", json=message)).status_code == 201
    for script in (reader, sender):
        assert_error(await script.patch("/api/me", json={"bio": "owned"}), 403, "insufficient_scope")
        assert_error(await script.post(f"/api/users/{peer.username}/block"), 403, "insufficient_scope")
        assert_error(await script.get("/api/me/sessions"), 403, "insufficient_scope")
    assert (await manager.patch("/api/me", json={"bio": "managed"})).status_code == 200
    assert len((await manager.get("/api/me/tokens")).json()["tokens"]) == 3
    assert_error(await manager.post("/api/messages", json=message | {"client_id": "c2"}), 403, "insufficient_scope")
    assert (await reader.post("/api/auth/logout")).status_code == 204, "any token may end itself"
    assert_error(await reader.get("/api/me"), 401, "unauthorized")

    socket = await Socket.open(live_server, manager.token)  # reading: the stream arrives
    await socket.send_frame({"type": "send", "ref": 7, "to": peer.username, "text": "no", "client_id": "c3"})
    refused = await socket.expect("error")
    assert (refused["ref"], refused["code"]) == (7, "insufficient_scope")
    await socket.close()
    send_only = await _token(owner, "send")
    assert_error(await send_only.get("/api/me"), 403, "insufficient_scope")
    with pytest.raises(Exception) as closed:
        await Socket.open(live_server, send_only.token)
    assert closed.value.rcvd.code == 4001
    await asyncio.gather(owner.close(), peer.close(), sender.close(), manager.close(), send_only.close())
