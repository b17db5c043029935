"""Random abrupt connection cuts during a bounded run: every message reaches every device of both
sides once and in order, and every receipt reaches the sender's devices."""

from __future__ import annotations

import asyncio
import random

from checks import close_all, register_many
from devices import Device, wait_for

USERS = 3
MESSAGES_PER_DEVICE = 60


async def _cut_at_random(devices: list[Device], stop: asyncio.Event, rng: random.Random, cuts: list[str]) -> None:
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(0.02, 0.1))
        device = rng.choice(devices)
        if device.connections:
            device.cut()
            cuts.append(device.name)


async def _send_all(device: Device, peers: list[str], rng: random.Random) -> None:
    for number in range(MESSAGES_PER_DEVICE):
        await device.send(rng.choice(peers), f"{device.name} #{number}")
        await asyncio.sleep(rng.uniform(0, 0.02))


async def test_random_cuts_lose_repeat_and_reorder_nothing(live_server):
    rng = random.Random(13)
    apis = await register_many(live_server, USERS)
    names = [api.username for api in apis]
    devices = [Device(live_server, api, f"{api.username}/{side}") for api in apis for side in ("phone", "laptop")]
    for device in devices:
        device.receipts_on_connect = True  # receipts that a cut swallowed go again
        device.start()
    await wait_for(lambda: all(d.connections for d in devices), 10, "every device connected")
    stop, cuts = asyncio.Event(), []
    chaos = asyncio.create_task(_cut_at_random(devices, stop, rng, cuts))
    await asyncio.gather(*(_send_all(d, [n for n in names if n != d.username], rng) for d in devices))
    await wait_for(lambda: not any(d.pending for d in devices), 60, "every send acknowledged")
    sent = {m["id"]: m for d in devices for m in d.acknowledged.values()}
    assert len(sent) == len(devices) * MESSAGES_PER_DEVICE

    def owed(device: Device) -> set[int]:
        return {i for i, m in sent.items() if device.username in (m["sender"], m["recipient"])}

    def receipts_arrived(device: Device) -> bool:
        told = device.messages()
        for message_id in owed(device):
            message = sent[message_id]
            if message["sender"] != device.username:
                continue
            if device.read_up_to(message["recipient"]) < message_id:
                return False
            if message_id not in device.delivered_ids() and told[message_id]["status"] != "read":
                return False
        return True

    await wait_for(lambda: all(owed(d) <= set(d.messages()) for d in devices), 60, "every message on every device")
    for _ in range(3):  # receipts: sent now, and again by every device that reconnects meanwhile
        await asyncio.gather(*(d.send_receipts() for d in devices))
        await asyncio.sleep(0.3)
    await wait_for(lambda: all(receipts_arrived(d) for d in devices), 60, "every receipt at the sender's devices")
    stop.set()
    await chaos
    for device in devices:
        assert device.problems == [], device.problems
        told = device.message_updates()
        assert len(told) == len(set(told)), f"{device.name}: a message told twice"
        assert set(told) == owed(device), f"{device.name}: missing or foreign messages"
        for peer in names:  # each chat's messages arrive in the order they were sent
            chat = [i for i in told if peer in (sent[i]["sender"], sent[i]["recipient"])]
            assert chat == sorted(chat)
        assert [u["seq"] for u in device.updates] == list(range(1, len(device.updates) + 1))
    reconnects = sum(d.connections - 1 for d in devices)
    assert len(cuts) >= 10 and reconnects >= 10
    print(
        f"\nrandom cuts: {len(cuts)} cuts, {reconnects} reconnects, {len(sent)} messages acknowledged,"
        f" {len(devices)} devices; lost 0, duplicated 0, out of order 0"
    )
    for device in devices:
        await device.stop()
    await close_all(*apis)
