"""Scale-out under faults and settings: Redis restarted mid-conversation, several workers in
one process tree, a database newer than the code."""

from __future__ import annotations

import asyncio
import sqlite3

import psutil
import pytest

from tests.conftest import make_server
from tests.helpers import Api, Socket, register
from tests.services import instance, postgres_url, redis_server


@pytest.fixture
def redis(tmp_path):
    server = redis_server(tmp_path / "redis")
    yield server
    server.stop()


async def test_a_redis_restart_loses_nothing_and_clients_catch_up(tmp_path, redis):
    database_url = postgres_url()
    first = instance(tmp_path / "a", database_url, redis.url).start()
    second = instance(tmp_path / "b", database_url, redis.url).start()
    try:
        sara = await register(first)
        omid_http = await register(first)
        omid = await Socket.open(second, omid_http.token)
        sara_socket = await Socket.open(first, sara.token)
        await sara.send(omid_http.username, "before")
        assert (await omid.expect("message"))["message"]["text"] == "before"

        redis.stop()
        down = await Api(first).get("/health")
        assert down.status_code == 503 and down.json()["redis"] == "down"
        for number in range(5):
            await sara.send(omid_http.username, f"during {number}")  # stored; Redis cannot carry it
        login = await Api(first).post("/api/auth/login", json={"username": sara.username, "password": "x" * 10})
        assert login.status_code == 503 and login.json()["error"]["code"] == "unavailable"
        redis.start()

        frames = await omid.collect(5, timeout=20)
        assert [f["message"]["text"] for f in frames] == [f"during {n}" for n in range(5)]
        await sara.send(omid_http.username, "after")
        assert (await omid.expect("message", timeout=10))["message"]["text"] == "after"
        assert [f["seq"] for f in frames] == [2, 3, 4, 5, 6]
        assert await omid.quiet(0.5) == []
        # The sender's own device on the first instance caught up as well, each update once.
        own = await sara_socket.collect(7, timeout=20)
        assert [f["seq"] for f in own] == list(range(1, 8))
        for _ in range(50):
            if (await Api(second).get("/health")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert (await Api(second).get("/health")).json()["redis"] == "ok"
        await omid.close()
        await sara_socket.close()
    finally:
        first.stop()
        second.stop()


async def test_two_workers_in_one_process_tree_serve_as_one(tmp_path, redis):
    server = instance(tmp_path / "w", postgres_url(), redis.url, WEB_CONCURRENCY="2").start()
    try:
        workers = psutil.Process(server.process.pid).children(recursive=True)
        assert len([w for w in workers if "spawn_main" in " ".join(w.cmdline())]) == 2
        sara, omid = await register(server), await register(server)
        devices = [await Socket.open(server, omid.token) for _ in range(6)]  # spread over both workers
        for number in range(10):
            await sara.send(omid.username, f"m{number}")
        for device in devices:
            frames = await device.collect(10, timeout=10)
            assert [f["message"]["text"] for f in frames] == [f"m{n}" for n in range(10)]
            await device.close()
    finally:
        server.stop()


def test_a_database_newer_than_the_code_stops_the_server_with_one_line(tmp_path):
    first = make_server(tmp_path / "new").start()
    first.stop()
    with sqlite3.connect(first.database_file) as database:
        database.execute("INSERT INTO schema_version (version) VALUES (999)")
    server = make_server(tmp_path / "new")
    with pytest.raises(RuntimeError) as refused:
        server.start()
    assert "newer than this release knows" in str(refused.value)
    assert "Traceback" not in server.log()


async def test_postgres_urls_in_the_platform_spelling_work(tmp_path):
    url = postgres_url().replace("postgresql://", "postgres://", 1)
    server = make_server(tmp_path / "pg", DATABASE_URL=url).start()
    try:
        api = await register(server)
        assert (await Api(server, api.token).get("/api/me")).status_code == 200
    finally:
        server.stop()
