"""SIGKILL in the middle of a stream of sends from several WebSocket clients, on SQLite and PostgreSQL:
every acknowledged message is stored once, the file is sound, and the clients resume and miss nothing."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from checks import close_all, register_many
from conftest import fresh_postgres_database
from devices import Device, wait_for
from helpers import Socket
from operations import integrity, on_sqlite, postgres_server, stored_client_ids

USERS = 4
WINDOW = 20  # sends each client has in flight
ACKNOWLEDGED_BEFORE_KILL = 800


async def _keep_sending(device: Device, to: str, stop: asyncio.Event) -> None:
    for number in itertools.count():
        if stop.is_set():
            return
        if len(device.pending) >= WINDOW:
            await asyncio.sleep(0.005)
            continue
        await device.send(to, f"{device.username} #{number}")


async def history(api, peer: str) -> list[dict]:
    """The whole chat with peer, oldest first, through the API."""
    messages: list[dict] = []
    before = None
    while True:
        params = {"limit": 100} | ({"before": before} if before else {})
        page = (await api.get(f"/api/conversations/{peer}/messages", params=params)).json()
        messages = page["messages"] + messages
        if not page["has_more"]:
            return messages
        before = page["messages"][0]["id"]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_sigkill_mid_stream_loses_and_repeats_no_acknowledged_message(server_factory, database, tmp_path):
    data_dir = tmp_path / "data"
    if database == "postgresql":
        server = server_factory(data_dir, DATABASE_URL=fresh_postgres_database(postgres_server()))
    else:
        server = server_factory(data_dir, **on_sqlite(data_dir))
    apis = await register_many(server, USERS)
    devices = [Device(server, api) for api in apis] + [Device(server, apis[0], "second device")]
    for device in devices:
        device.start()
    await wait_for(lambda: all(d.connections for d in devices), 10, "every device connected")
    stop = asyncio.Event()
    senders = [
        asyncio.create_task(_keep_sending(devices[i], apis[(i + 1) % USERS].username, stop)) for i in range(USERS)
    ]
    await wait_for(
        lambda: sum(len(d.acknowledged) for d in devices) >= ACKNOWLEDGED_BEFORE_KILL, 60, "sends acknowledged"
    )
    stop.set()
    await asyncio.gather(*senders)
    # A burst the server cannot all have answered: the kill lands while sends are in flight,
    # however fast the server keeps up with the steady stream.
    for i in range(USERS):
        for number in range(WINDOW):
            await devices[i].send(apis[(i + 1) % USERS].username, f"{devices[i].username} burst {number}")
    server.process.kill()
    server.process.wait()
    acknowledged = {cid: m for d in devices for cid, m in d.acknowledged.items()}
    in_flight = sum(len(d.pending) for d in devices)
    assert in_flight > 0, "the kill came while sends were in flight"

    if database == "sqlite":
        assert integrity(server.database_file) == "ok"
        stored = stored_client_ids(server.database_file)
        assert len(stored) == len(set(stored)), "a send stored twice"
        stored_ids = {client_id for _, client_id in stored}
        assert set(acknowledged) <= stored_ids, "an acknowledged send was lost"

    server.start()  # same data, same port: the devices come back by themselves
    await wait_for(lambda: not any(d.pending for d in devices), 30, "the unacknowledged sends resent and stored")
    last_seqs = {}
    for api in apis:
        probe = await Socket.open(server, api.token)
        last_seqs[api.username] = probe.ready["cursor"]
        await probe.close()
    await wait_for(lambda: all(d.cursor >= last_seqs[d.username] for d in devices), 30, "every device caught up")

    duplicated = lost = 0
    for i, device in enumerate(devices[:USERS]):
        peer = apis[(i + 1) % USERS].username
        chat = [m for m in await history(device.api, peer) if m["sender"] == device.username]
        client_ids = [m["client_id"] for m in chat]
        duplicated += len(client_ids) - len(set(client_ids))
        lost += len(set(device.acknowledged) - set(client_ids))
        assert sorted(client_ids) == sorted(device.acknowledged), "stored sends differ from acknowledged ones"
        for client_id, message in acknowledged.items():
            if message["sender"] == device.username:
                assert message["id"] == next(m["id"] for m in chat if m["client_id"] == client_id)
    assert (duplicated, lost) == (0, 0)
    for device in devices:
        assert device.problems == []
        told = device.message_updates()
        assert len(told) == len(set(told)), f"{device.name} was told of a message twice"
        mine = {
            m["id"]
            for d in devices
            for m in d.acknowledged.values()
            if device.username in (m["sender"], m["recipient"])
        }
        assert set(told) == mine, f"{device.name} missed or was told of foreign messages"
    print(
        f"\n[{database}] SIGKILL: {len(acknowledged)} acknowledged before the kill, {in_flight} in flight,"
        f" {sum(len(d.acknowledged) for d in devices[:USERS])} stored after the restart; lost 0, duplicated 0"
    )
    for device in devices:
        await device.stop()
    await close_all(*apis)
