"""PostgreSQL restarted under load, on a PostgreSQL server of the test's own: requests fail fast
with 503 and the JSON error, the server recovers by itself, nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import time

import orjson
import websockets
from checks import assert_error, close_all, register_many
from devices import Device, wait_for
from helpers import Api
from operations import Senders
from own_postgres import own_postgres  # noqa: F401 (a fixture)
from test_faults_kill import history

OUTAGE_SECONDS = 3


async def test_postgres_restart_answers_503_then_recovers_losing_nothing(server_factory, own_postgres):  # noqa: F811
    server = server_factory(DATABASE_URL=own_postgres.url)
    apis = await register_many(server, 4)
    pairs = [(apis[i], apis[(i + 1) % 4]) for i in range(4)]
    watcher = Device(server, apis[1]).start()  # a live connection through the outage
    senders = Senders(pairs).start()
    await senders.until(200)

    await asyncio.to_thread(own_postgres.stop, "immediate")
    down = time.monotonic()
    acknowledged_before = len(senders.acknowledged)
    probe = Api(server, apis[0].token, apis[0].user)
    answers = []
    while time.monotonic() - down < OUTAGE_SECONDS:
        started = time.monotonic()
        send = await probe.post("/api/messages", json={"to": apis[1].username, "text": "x", "client_id": f"o{started}"})
        read = await probe.get("/api/conversations")
        health = await probe.get("/health")
        answers.append((time.monotonic() - started, send, read, health))
        await asyncio.sleep(0.2)
    socket_close = await _websocket_close_code(server, apis[2].token)
    for _, send, read, health in answers:
        assert_error(send, 503, "unavailable")
        assert_error(read, 503, "unavailable")
        assert send.headers.get("retry-after")
        assert health.status_code == 503
    assert socket_close == 1013, "a new WebSocket is told to try again later"
    slowest = max(seconds for seconds, *_ in answers)
    assert slowest < 5, f"answers during the outage must come at once, the slowest took {slowest:.1f} s"

    await asyncio.to_thread(own_postgres.start)
    up = time.monotonic()
    await wait_for(lambda: len(senders.acknowledged) > acknowledged_before + 100, 30, "sends succeeding again")
    recovered_in = time.monotonic() - up
    await senders.stop()
    assert set(senders.failures) <= {503}, senders.failures

    stored = {}
    for sender, recipient in pairs:
        chat = [m for m in await history(sender, recipient.username) if m["sender"] == sender.username]
        client_ids = [m["client_id"] for m in chat]
        assert len(client_ids) == len(set(client_ids)), "a send stored twice"
        stored.update({m["client_id"]: m for m in chat})
    lost = [cid for cid in senders.acknowledged if cid not in stored]
    assert lost == []
    for client_id, message in senders.acknowledged.items():
        assert stored[client_id]["id"] == message["id"]
    to_watcher = {m["id"] for m in senders.acknowledged.values() if m["recipient"] == watcher.username}
    await wait_for(lambda: to_watcher <= set(watcher.message_updates()), 30, "the live device caught up")
    # Receipts it sent while the database was away were refused with `unavailable`; nothing else.
    assert [problem for problem in watcher.problems if "'unavailable'" not in problem] == []
    log = server.log()
    where = log.find("Traceback")
    assert where < 0, f"an outage is logged in one line per failure, no tracebacks:\n{log[where - 500 : where + 3000]}"
    print(
        f"\nPostgreSQL restart: {len(senders.acknowledged)} acknowledged, {len(senders.failures)} refused with 503"
        f" during a {OUTAGE_SECONDS} s outage (slowest answer {slowest * 1000:.0f} ms), recovered"
        f" {recovered_in:.1f} s after PostgreSQL was back; lost 0, duplicated 0"
    )
    await watcher.stop()
    await close_all(probe, *apis)


async def _websocket_close_code(server, token: str) -> int | None:
    """The close code a new, authenticating WebSocket gets."""
    async with websockets.connect(server.ws_url) as connection:
        await connection.send(orjson.dumps({"type": "auth", "token": token}).decode())
        try:
            while True:
                await asyncio.wait_for(connection.recv(), 5)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
