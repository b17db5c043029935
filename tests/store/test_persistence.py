"""A restart on the same data folder keeps users, messages, the update stream and its cursors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from checks import close_all, register_many
from helpers import PASSWORD, Api


def _server_like(live_server, data_dir: Path):
    """A server of the same kind as the shared one, on its own data folder and port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**live_server.env, "DATABASE_URL": f"sqlite:///{data_dir}/payambar.db", "PORT": str(port)}
    env["DATA_DIR"] = str(data_dir)
    url = f"http://127.0.0.1:{port}"
    return type(live_server)(url=url, ws_url=f"ws://127.0.0.1:{port}/ws", data_dir=data_dir, env=env)


@pytest.fixture(scope="module")
async def restarted(live_server, tmp_path_factory):
    """A server with a short chat in it, stopped and started again on the same data folder.

    Shared by the module (two server starts are slow); the test that adds to it runs last.
    """
    data_dir = tmp_path_factory.mktemp("restart")
    server = _server_like(live_server, data_dir).start()
    sara, omid = await register_many(server, 2)
    await sara.patch("/api/me", json={"bio": "kept"})
    first = await sara.send(omid.username, "سلام")
    reply = await omid.send(sara.username, "hi", reply_to=first["id"])
    gone = await sara.send(omid.username, "deleted before the restart")
    await sara.delete(f"/api/messages/{gone['id']}")
    await omid.post(f"/api/conversations/{sara.username}/read", json={"up_to": first["id"]})
    poll = await omid.get("/api/updates", params={"after": 0, "timeout": 0})
    state = {
        "omid_cursor": poll.json()["cursor"],
        "omid_updates": poll.json()["updates"],
        "history": (await sara.get(f"/api/conversations/{omid.username}/messages")).json(),
        "chats": (await sara.get("/api/conversations")).json(),
        "messages": [first, reply, gone],
        "secret_key": (data_dir / "secret_key").read_text(),
    }
    await close_all(sara, omid)
    server.stop()
    again = _server_like(live_server, data_dir).start()
    sara, omid = Api(again, sara.token, sara.user), Api(again, omid.token, omid.user)
    yield again, sara, omid, state
    await close_all(sara, omid)
    again.stop()


async def test_restart_without_secret_key_keeps_the_key_file_and_old_tokens_working(restarted):
    server, sara, omid, state = restarted
    assert "SECRET_KEY" not in server.env
    assert (server.data_dir / "secret_key").read_text() == state["secret_key"]
    for api in (sara, omid):
        me = await api.get("/api/me")
        assert me.status_code == 200
        assert (me.json()["id"], me.json()["username"]) == (api.user["id"], api.username)


async def test_restart_keeps_users_their_profiles_and_passwords(restarted):
    server, sara, omid, _ = restarted
    login = await Api(server).post("/api/auth/login", json={"username": sara.username, "password": PASSWORD})
    assert login.status_code == 200
    assert login.json()["user"]["id"] == sara.user["id"]
    profile = (await Api(server).get(f"/api/users/{sara.username}")).json()
    assert profile["bio"] == "kept"
    found = (await omid.get("/api/users", params={"q": sara.username})).json()["users"]
    assert [user["username"] for user in found] == [sara.username]


async def test_restart_keeps_messages_statuses_and_the_chat_list(restarted):
    _, sara, _, state = restarted
    history = (await sara.get(f"/api/conversations/{state['messages'][1]['sender']}/messages")).json()
    assert history == state["history"]
    assert [m["status"] for m in history["messages"]][:1] == ["read"]
    assert history["messages"][1]["reply_to"] == state["messages"][0]["id"]
    assert history["messages"][2]["deleted"] is True
    chats = (await sara.get("/api/conversations")).json()
    for chat, before in zip(chats["conversations"], state["chats"]["conversations"], strict=True):
        assert chat["last_message"] == before["last_message"]
        assert chat["unread_count"] == before["unread_count"]


async def test_restart_keeps_the_update_stream(restarted):
    _, _, omid, state = restarted
    cursor = state["omid_cursor"]
    again = await omid.get("/api/updates", params={"after": 0, "timeout": 0})
    kept = [(u["seq"], u["type"]) for u in again.json()["updates"] if u["seq"] <= cursor]
    assert kept == [(u["seq"], u["type"]) for u in state["omid_updates"]]
    assert kept[-1][0] == cursor


async def test_a_retry_after_restart_still_returns_the_same_message(restarted):
    _, sara, omid, state = restarted
    first = state["messages"][0]
    retry = await sara.post(
        "/api/messages", json={"to": omid.username, "text": "سلام", "client_id": first["client_id"]}
    )
    assert retry.status_code == 200
    assert retry.json()["id"] == first["id"]


async def test_an_old_cursor_after_restart_gives_only_what_is_new(restarted):
    _, sara, omid, state = restarted
    cursor = state["omid_cursor"]
    assert (await omid.get("/api/updates", params={"after": cursor, "timeout": 0})).json() == {
        "updates": [],
        "cursor": cursor,
    }
    new = await sara.send(omid.username, "after the restart")
    assert new["id"] > max(m["id"] for m in state["messages"]), "message ids are never reused"
    body = (await omid.get("/api/updates", params={"after": cursor, "timeout": 5})).json()
    assert [(u["seq"], u["type"], u["message"]["id"]) for u in body["updates"]] == [(cursor + 1, "message", new["id"])]
    assert body["cursor"] == cursor + 1
