"""Logs: one structured line per request and per WebSocket session, JSON when asked; never a
password, token or message text; a client that leaves mid-request is no traceback."""

from __future__ import annotations

import asyncio
import socket

import orjson
from checks import close_all
from helpers import PASSWORD, Socket, fresh_username, register


def _abort_mid_body(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(
            b"POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 4000\r\n\r\n" + b'{"username": "half'
        )


async def test_clients_leaving_mid_body_write_no_tracebacks(server_factory):
    server = server_factory(LOG_LEVEL="info")
    port = int(server.url.rsplit(":", 1)[1])
    for _ in range(50):
        await asyncio.to_thread(_abort_mid_body, port)
    api = await register(server)  # the server is fine, and has logged the 50 by now
    await api.close()
    await asyncio.sleep(0.2)
    log = server.log()
    assert "Traceback" not in log
    assert "Exception in ASGI application" not in log
    aborted = [line for line in log.splitlines() if "POST /api/auth/register 499" in line]
    assert len(aborted) == 50, log[-2000:]
    assert len(log.splitlines()) < 100, "one line per request, nothing more"


async def test_json_logs_have_one_line_per_request_and_session_and_no_secrets(server_factory):
    server = server_factory(LOG_LEVEL="info", LOG_FORMAT="json")
    name = fresh_username()
    sara = await register(server, name)
    omid = await register(server)
    login = await sara.post("/api/auth/login", json={"username": name, "password": PASSWORD})
    token = login.json()["token"]
    secret_text = "a message nobody may read in a log 7f3a"
    await sara.send(omid.username, secret_text)
    await sara.get("/api/conversations", params={"limit": 5})
    socket_ = await Socket.open(server, omid.token)
    await socket_.send_message(sara.username, secret_text + " over the socket")
    await socket_.expect("ack")
    await socket_.close()
    await close_all(sara, omid)
    await asyncio.sleep(0.3)

    lines = [orjson.loads(line) for line in server.log().splitlines() if line.strip()]  # all JSON
    access = [line for line in lines if line["logger"] == "payambar.access"]
    requests = [(line["method"], line["path"], line["status"]) for line in access if "method" in line]
    assert requests.count(("POST", "/api/auth/register", 201)) == 2
    assert requests.count(("POST", "/api/auth/login", 200)) == 1
    assert requests.count(("POST", "/api/messages", 201)) == 1
    assert requests.count(("GET", "/api/conversations", 200)) == 1
    for line in access:
        assert {"time", "level", "message", "client"} <= set(line)
        if "method" in line:
            assert isinstance(line["ms"], float) and line["bytes"] > 0 or line["status"] == 204
    sessions = [line for line in access if line["message"].startswith("WebSocket")]
    assert len(sessions) == 1
    assert sessions[0]["close_code"] == 1000 and sessions[0]["closed_by"] == "client"
    assert sessions[0]["frames_in"] == 2 and sessions[0]["frames_out"] >= 2
    text = server.log()
    for secret in (PASSWORD, token, sara.token, omid.token, secret_text):
        assert secret not in text
    assert "limit=5" not in text, "no query strings"


async def test_plain_logs_carry_the_same_fields_as_key_value_pairs(server_factory):
    server = server_factory(LOG_LEVEL="info")
    api = await register(server)
    await api.close()
    await asyncio.sleep(0.2)
    line = next(line for line in server.log().splitlines() if "POST /api/auth/register 201" in line)
    assert line.startswith("INFO payambar.access: ")
    assert "method=POST" in line and "status=201" in line and "ms=" in line and "client=127.0.0.1" in line


async def test_reconnecting_within_the_offline_grace_leaves_no_warning_in_the_log(server_factory):
    server = server_factory(LOG_LEVEL="info")
    api = await register(server)
    for _ in range(3):  # each reconnect cancels the pending "went offline"
        socket_ = await Socket.open(server, api.token)
        await socket_.close()
        await asyncio.sleep(0.1)
    await api.close()
    server.stop()  # pending timers and tasks are dropped at shutdown: still no warning
    log = server.log()
    assert "never awaited" not in log
    assert "RuntimeWarning" not in log
    assert log.count("WebSocket /ws closed 1000") == 3
