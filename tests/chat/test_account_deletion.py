"""Deleting an account: only with the password; afterwards nothing of it works or shows, its
messages are gone for both sides, peers see a deleted account, and its username stays taken for
30 days."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from checks import assert_error
from helpers import PASSWORD, Api, Socket, register


async def test_deleting_needs_the_password(live_server):
    owner = await register(live_server)
    assert_error(await Api(live_server).request("DELETE", "/api/me", json={"password": PASSWORD}), 401)
    assert_error(await owner.request("DELETE", "/api/me", json={}), 422, "invalid_input", "password")
    assert_error(await owner.request("DELETE", "/api/me", json={"password": "not it at all"}), 403, "wrong_password")
    assert (await owner.get("/api/me")).status_code == 200
    await owner.close()


async def test_a_deleted_account_is_gone_everywhere_and_peers_see_it_deleted(live_server):
    leaver, peer = await register(live_server), await register(live_server)
    sent = await leaver.send(peer.username, "soon gone")
    await peer.send(leaver.username, "a reply that stays")
    token = (await leaver.post("/api/me/tokens", json={"name": "script", "password": PASSWORD})).json()["token"]
    leaver_socket = await Socket.open(live_server, leaver.token)
    peer_socket = await Socket.open(live_server, peer.token)

    response = await leaver.request("DELETE", "/api/me", json={"password": PASSWORD})
    assert response.status_code == 204

    deleted = await peer_socket.expect("delete")
    assert deleted["message"]["id"] == sent["id"] and deleted["message"]["text"] == ""
    with pytest.raises(Exception) as closed:
        while True:
            await leaver_socket.receive(timeout=5)
    assert closed.value.rcvd.code == 4003
    assert_error(await leaver.get("/api/me"), 401, "unauthorized")
    assert_error(await Api(live_server, token).get("/api/me"), 401, "unauthorized")
    assert_error(await Api(live_server).get(f"/api/users/{leaver.username}"), 404, "user_not_found")
    login = {"username": leaver.username, "password": PASSWORD}
    assert_error(await Api(live_server).post("/api/auth/login", json=login), 401, "invalid_credentials")
    found = (await peer.get("/api/users", params={"q": leaver.username})).json()["users"]
    assert found == []
    body = {"to": leaver.username, "text": "hello?", "client_id": "after-deletion"}
    assert_error(await peer.post("/api/messages", json=body), 404, "user_not_found")

    history = (await peer.get(f"/api/conversations/{leaver.username}/messages")).json()["messages"]
    assert [(m["sender"], m["text"], m["deleted"]) for m in history] == [
        (leaver.username, "", True),
        (peer.username, "a reply that stays", False),
    ]
    chat = next(c for c in (await peer.get("/api/conversations")).json()["conversations"])
    assert chat["peer"]["username"] == leaver.username and chat["peer"]["deleted"] is True
    assert chat["peer"]["display_name"] == "" and chat["peer"]["bio"] == ""

    taken = await Api(live_server).post("/api/auth/register", json={"username": leaver.username, "password": PASSWORD})
    assert_error(taken, 409, "username_taken")
    await asyncio.gather(peer_socket.close(), peer.close(), leaver.close())


async def test_the_username_is_free_again_after_30_days(server_factory, tmp_path):
    data = tmp_path / "data"
    database_url = f"sqlite:///{data}/payambar.db"
    server = server_factory(data, DATABASE_URL=database_url)
    leaver = await register(server)
    assert (await leaver.request("DELETE", "/api/me", json={"password": PASSWORD})).status_code == 204
    server.stop()
    with sqlite3.connect(data / "payambar.db") as db:
        db.execute("UPDATE users SET deleted_at = ?", (int(time.time() * 1000) - 31 * 86400 * 1000,))
    server = server_factory(data, DATABASE_URL=database_url)
    newcomer = await register(server, username=leaver.username)
    assert newcomer.user["username"] == leaver.username and newcomer.user["id"] != leaver.user["id"]
    profile = await Api(server).get(f"/api/users/{leaver.username}")
    assert profile.status_code == 200 and profile.json()["display_name"] == leaver.username
    await asyncio.gather(newcomer.close(), leaver.close())
