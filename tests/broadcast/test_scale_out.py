"""Two instances started from the Procfile, sharing one PostgreSQL database and one Redis:
people on different instances chat as if there were one server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import procfile_command
from tests.helpers import Api, Socket, register
from tests.services import instance, postgres_url, redis_server


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale")
    redis = redis_server(folder / "redis")
    database_url = postgres_url()
    first = instance(folder / "a", database_url, redis.url)
    second = instance(folder / "b", database_url, redis.url)
    started = []
    try:
        for server in (first, second):
            started.append(server.start())
        yield first, second
    finally:
        for server in started:
            server.stop()
        redis.stop()


async def two_people(stack) -> tuple[Api, Api]:
    first, second = stack
    sara = await register(first)
    omid = await register(first)
    return sara, Api(second, omid.token, omid.user)


async def test_people_on_different_instances_chat_live_with_receipts_both_ways(stack):
    first, second = stack
    sara, omid = await two_people(stack)
    sara_socket = await Socket.open(first, sara.token)
    omid_socket = await Socket.open(second, omid.token)
    try:
        ref = await sara_socket.send_message(omid.username, "salaam from A")
        ack = await sara_socket.expect("ack")
        assert ack["ref"] == ref
        arrived = await omid_socket.expect("message")
        assert arrived["message"]["text"] == "salaam from A"
        await omid_socket.send_frame({"type": "delivered", "ids": [arrived["message"]["id"]]})
        status = await sara_socket.expect("status")
        assert status["message"]["status"] == "delivered"
        await omid_socket.send_frame({"type": "read", "peer": sara.username, "up_to": arrived["message"]["id"]})
        read = await sara_socket.expect("read")
        assert read["reader"] == omid.username
        assert (await omid_socket.expect("read"))["reader"] == omid.username  # his other devices learn it too
        await omid_socket.send_message(sara.username, "and back from B")
        await omid_socket.expect("ack")
        assert (await sara_socket.expect("message"))["message"]["text"] == "and back from B"
    finally:
        await sara_socket.close()
        await omid_socket.close()


async def test_a_device_on_each_instance_gets_every_update_once_and_in_order(stack):
    first, second = stack
    sara, omid = await two_people(stack)
    on_first = await Socket.open(first, omid.token)
    on_second = await Socket.open(second, omid.token)
    sender = await Socket.open(second, sara.token)
    try:
        for number in range(30):
            await sender.send_message(omid.username, f"m{number}")
        for device in (on_first, on_second):
            frames = await device.collect(30)
            assert [f["message"]["text"] for f in frames] == [f"m{n}" for n in range(30)]
            assert [f["seq"] for f in frames] == list(range(1, 31))
            assert await device.quiet(0.5) == []
    finally:
        for socket in (on_first, on_second, sender):
            await socket.close()


async def test_a_device_resumes_on_the_other_instance_from_its_cursor(stack):
    first, second = stack
    sara, omid = await two_people(stack)
    device = await Socket.open(first, omid.token)
    for number in range(5):
        await sara.send(omid.username, f"early {number}")
    early = await device.collect(5)
    await device.close()
    for number in range(5):
        await sara.send(omid.username, f"late {number}")
    again = await Socket.open(second, omid.token, after=early[-1]["seq"])
    try:
        late = await again.collect(5)
        assert [f["message"]["text"] for f in late] == [f"late {n}" for n in range(5)]
        assert await again.quiet(0.5) == []
    finally:
        await again.close()


async def test_presence_and_typing_cross_instances(stack):
    first, second = stack
    sara, omid = await two_people(stack)
    await sara.send(omid.username, "hi")
    await omid.send(sara.username, "hi")  # presence and typing go between people who both wrote
    watcher = await Socket.open(first, sara.token)
    try:
        omid_socket = await Socket.open(second, omid.token)
        presence = await watcher.expect("presence", skip=())
        assert (presence["user"], presence["online"]) == (omid.username, True)
        await omid_socket.send_frame({"type": "typing", "to": sara.username})
        typing = await watcher.expect("typing", skip=("presence",))
        assert typing["from"] == omid.username
        await omid_socket.close()
        offline = await watcher.expect("presence", timeout=10, skip=())
        assert (offline["user"], offline["online"]) == (omid.username, False)
        assert offline["last_seen"] is not None
        chats = (await Api(first, sara.token).get("/api/conversations")).json()["conversations"]
        assert chats[0]["peer"]["online"] is False
    finally:
        await watcher.close()


async def test_a_logout_on_one_instance_closes_the_session_on_the_other_at_once(stack):
    first, second = stack
    sara, _ = await two_people(stack)
    on_second = await Socket.open(second, sara.token)
    assert (await Api(second, sara.token).get("/api/me")).status_code == 200
    assert (await Api(first, sara.token).post("/api/auth/logout")).status_code == 204
    with pytest.raises(Exception) as closed:
        await on_second.receive(timeout=5)
    assert getattr(closed.value, "rcvd", None) is not None and closed.value.rcvd.code == 4003
    assert (await Api(second, sara.token).get("/api/me")).status_code == 401


async def test_four_writers_on_two_instances_make_one_gapless_stream(stack):
    first, second = stack
    recipient = await register(first)
    writers = [await register(server) for server in (first, first, second, second)]
    devices = [await Socket.open(server, recipient.token) for server in (first, second)]
    per_writer = 200

    async def write(api: Api, server) -> list[int]:
        socket = await Socket.open(server, api.token)
        ids = []
        try:
            window = []
            for number in range(per_writer):
                window.append(await socket.send_message(recipient.username, f"{api.username} {number}"))
                if len(window) == 8 or number == per_writer - 1:
                    for _ in window:
                        ids.append((await socket.expect("ack", timeout=20))["message"]["id"])
                    window = []
        finally:
            await socket.close()
        return ids

    servers = [first, first, second, second]
    acknowledged = await asyncio.gather(*(write(api, server) for api, server in zip(writers, servers, strict=True)))
    expected = sorted(i for ids in acknowledged for i in ids)
    total = per_writer * len(writers)
    assert len(set(expected)) == total

    updates, cursor = [], 0
    while len(updates) < total:
        page = (await Api(second, recipient.token).get(f"/api/updates?after={cursor}&timeout=0&limit=1000")).json()
        assert page["updates"], "the stream ended early"
        updates += page["updates"]
        cursor = page["cursor"]
    assert [u["seq"] for u in updates] == list(range(1, total + 1))
    assert sorted(u["message"]["id"] for u in updates) == expected

    for device in devices:
        frames = await device.collect(total, timeout=20, skip=("presence", "typing", "status"))
        assert [f["seq"] for f in frames] == list(range(1, total + 1))
        assert await device.quiet(0.5, skip=("presence", "typing", "status")) == []
        await device.close()


def test_health_reports_redis(stack):
    first, _ = stack
    body = httpx.get(f"{first.url}/health").json()
    assert body["redis"] == "ok" and body["database"] == "ok"


def test_several_workers_need_postgresql_and_redis(tmp_path):
    base = {"PORT": "0", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    cases = {
        "sqlite": ({"WEB_CONCURRENCY": "2", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, "needs DATABASE_URL"),
        "no redis": (
            {"WEB_CONCURRENCY": "2", "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"},
            "needs REDIS_URL",
        ),
    }
    for env, expected in cases.values():
        result = subprocess.run(
            procfile_command(),
            env={**base, "DATA_DIR": str(tmp_path), **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        # The worker refuses with exit code 3 and uvicorn's supervisor then stops instead of
        # restarting it: the process ends (this run returned) after the one line that says why.
        assert expected in result.stderr
        assert "Traceback" not in result.stderr


async def test_failed_logins_are_counted_across_instances(stack):
    first, second = stack
    target = await register(first)
    for number in range(10):
        server = first if number % 2 else second
        wrong = await Api(server).post("/api/auth/login", json={"username": target.username, "password": "wrong pass"})
        assert wrong.status_code == 401
    refused = await Api(first).post("/api/auth/login", json={"username": target.username, "password": "wrong pass"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
