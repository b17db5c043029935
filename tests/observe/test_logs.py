"""Logs: one structured line per request and per WebSocket session, JSON when asked; never a
password, token or message text; a client that leaves mid-request is no traceback."""

from __future__ import annotations

import asyncio
import socket

import httpx
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


async def test_a_newline_in_a_path_cannot_forge_a_plain_log_line(server_factory):
    server = server_factory(LOG_LEVEL="info")
    forged = "INFO payambar.access: POST /api/auth/login 200 FORGED"
    async with httpx.AsyncClient(base_url=server.url) as client:
        await client.get("/api/users/zz%0a" + forged.replace(" ", "%20"))
        await client.get("/api/users/a%0d%1b[2J%e2%80%ae%20status=200")
    await asyncio.sleep(0.2)
    lines = server.log().splitlines()
    assert not any(
        line.startswith(forged) or "FORGED" in line and not line.startswith("INFO payambar.access: GET")
        for line in lines
    )
    line = next(line for line in lines if "FORGED" in line)
    assert "/api/users/zz\\nINFO" in line
    trick = next(line for line in lines if "/api/users/a" in line)
    assert "\\r" in trick and "\\x1b" in trick and "\\u202e" in trick
    assert 'path="/api/users/a\\r\\u001b[2J\\u202e status=200"' in trick  # a value with a space is quoted
    assert '" status=404 ' in trick  # the real field follows the quoted path


async def test_a_forwarded_for_text_is_stored_as_a_session_address_only_cleaned_and_capped(server_factory):
    server = server_factory()  # the test client is 127.0.0.1: a trusted proxy
    api = await register(server)
    forwarded = {"x-forwarded-for": "<script>alert(1)</script>" + "A" * 5000}
    response = await api.post(
        "/api/auth/login", json={"username": api.username, "password": PASSWORD}, headers=forwarded
    )
    assert response.status_code == 200
    addresses = [s["address"] for s in (await api.get("/api/me/sessions")).json()["sessions"]]
    assert "127.0.0.1" in addresses
    odd = next(address for address in addresses if address != "127.0.0.1")
    assert len(odd) <= 64 and "<" not in odd and ">" not in odd and "(" not in odd
    await api.close()
