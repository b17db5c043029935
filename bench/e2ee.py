"""End-to-end encryption figures, printed: envelope sizes, seal and open times in Python, the
handshake (first message to a new device), and on a real server the bytes stored per message and
persisted messages per second, envelopes beside plaintext.

    .venv/bin/python -m bench.e2ee [--messages 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.proc import Server
from payambar.client import Client, Keystore
from payambar.e2ee.primitives import b64
from payambar.e2ee.session import Recipient

PERSIAN = "سلام دوست من، امروز هوا خیلی خوب است و ما به پارک رفتیم تا کمی قدم بزنیم و چای بنوشیم. "
SENDER, PEER = 1, 2


def text_of(length: int) -> str:
    return (PERSIAN * (length // len(PERSIAN) + 1))[:length]


def inner(text: str) -> dict:
    return {"v": 1, "kind": "text", "text": text, "sent_at": 1_780_000_000_000}


class Devices:
    """A sender device, `peers` devices of the other person and `own` other devices of its own."""

    def __init__(self, peers: int, own: int) -> None:
        self.sender = Keystore.new_device(SENDER)
        self.readers = [Keystore.new_device(PEER) for _ in range(peers)]
        self.readers += [Keystore.new_device(SENDER, self.sender.identity_seed) for _ in range(own)]
        self.count = 0

    def first_recipients(self) -> list[Recipient]:
        return [Recipient(r.device.user_id, r.device.device_id, r.bundle()) for r in self.readers]

    def recipients(self) -> list[Recipient]:
        return [Recipient(r.device.user_id, r.device.device_id) for r in self.readers]

    def seal(self, text: str, first: bool = False) -> tuple[bytes, str]:
        self.count += 1
        client_id = f"c{self.count}"
        recipients = self.first_recipients() if first else self.recipients()
        return self.sender.device.seal(PEER, recipients, inner(text), client_id), client_id

    def open(self, reader: Keystore, data: bytes, client_id: str) -> dict:
        return reader.device.open(data, SENDER, PEER, client_id, self.sender.device.identity_dh).inner

    def settle(self) -> None:
        """Sessions past their prekey phase: one message each way."""
        data, client_id = self.seal("hello", first=True)
        for reader in self.readers:
            self.open(reader, data, client_id)
            # in this chat a device of the other person answers the sender; one of the sender's own
            # devices writes to the other person, with the sender's device among its recipients
            own = reader.device.user_id == SENDER
            answer_to = PEER if own else SENDER
            answer_id = f"r{reader.device.device_id.hex()}"
            back = reader.device.seal(
                answer_to, [Recipient(SENDER, self.sender.device.device_id)], inner("ok"), answer_id
            )
            self.sender.device.open(back, reader.device.user_id, answer_to, answer_id, reader.device.identity_dh)


def sizes() -> None:
    print("## Envelope size (bytes), Persian text")
    print("| characters | UTF-8 bytes | 1 device | 3 devices | each extra device | first message, 1 device (prekey) |")
    print("|---|---|---|---|---|---|")
    for length in (10, 50, 100, 300):
        text = text_of(length)
        one, three = Devices(1, 0), Devices(2, 1)
        first = len(one.seal(text, first=True)[0])
        one.settle(), three.settle()
        size_one, size_three = len(one.seal(text)[0]), len(three.seal(text)[0])
        print(f"| {length} | {len(text.encode())} | {size_one} | {size_three} | {(size_three - size_one) // 2}"
              f" | {first} |")  # fmt: skip
    print()


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:.3f} ms, p99 {p99 * 1000:.3f} ms"


def timings(count: int) -> None:
    print("## Time in Python (cryptography", __import__("cryptography").__version__, ")")
    for peers, own in ((1, 0), (2, 1)):
        devices = Devices(peers, own)
        devices.settle()
        seal_times, open_times, both = [], [], []
        for _ in range(count):
            start = time.perf_counter()
            data, client_id = devices.seal(text_of(100))
            sealed = time.perf_counter()
            devices.open(devices.readers[0], data, client_id)
            opened = time.perf_counter()
            for reader in devices.readers[1:]:
                devices.open(reader, data, client_id)
            seal_times.append(sealed - start)
            open_times.append(opened - sealed)
            both.append(opened - start)
        label = f"{peers + own} recipient device{'s' if peers + own > 1 else ''}"
        print(f"- {label}: seal {percentiles(seal_times)}; open (one device) {percentiles(open_times)};"
              f" seal + open {percentiles(both)}")  # fmt: skip
    handshakes = []
    for _ in range(max(50, count // 10)):
        devices = Devices(1, 0)
        start = time.perf_counter()
        data, client_id = devices.seal(text_of(100), first=True)
        devices.open(devices.readers[0], data, client_id)
        handshakes.append(time.perf_counter() - start)
    print(f"- first message to a new device (PQXDH both sides + ratchet + body): {percentiles(handshakes)}")
    print()


async def stored(count: int) -> None:
    print(f"## On a real server (SQLite), {count} messages of 100 characters each way")
    with tempfile.TemporaryDirectory() as folder:
        for encrypted in (False, True):
            server = Server(Path(folder) / ("e2ee" if encrypted else "plain")).start()
            try:
                per_message, rate = await _measure(server, Path(folder), count, encrypted)
            finally:
                server.stop()
            label = "envelope, 1 device" if encrypted else "plaintext"
            print(f"- {label}: {per_message:.0f} bytes stored per message (database file after checkpoint),"
                  f" {rate:.0f} persisted msg/s over HTTP (20 at once)")  # fmt: skip
    print()


async def _measure(server: Server, folder: Path, count: int, encrypted: bool) -> tuple[float, float]:
    sara, omid = Client(server.base), Client(server.base)
    await sara.register(f"s{uuid.uuid4().hex[:10]}", "correct horse battery")
    await omid.register(f"o{uuid.uuid4().hex[:10]}", "correct horse battery")
    if encrypted:
        for client in (sara, omid):
            client.keystore_path = folder / f"{client.username}.keys"
            await client.set_up_device()
        await sara.send_text(omid.username, "hello")
        await omid.history(sara.username)
        await omid.send_text(sara.username, "hello back")
        await sara.history(omid.username)
    bodies = []
    peer = await sara.keys_of(omid.username, fresh=True) if encrypted else None
    for _ in range(count):
        client_id = uuid.uuid4().hex
        if encrypted:
            envelope = await sara._seal(omid.username, peer, inner(text_of(100)), client_id)
            bodies.append({"to": omid.username, "client_id": client_id, "envelope": envelope})
        else:
            bodies.append({"to": omid.username, "client_id": client_id, "text": text_of(100)})
    before = _database_bytes(server)
    headers = {"authorization": f"Bearer {sara.token}"}
    async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=60) as http:
        start = time.perf_counter()
        queue = iter(bodies)

        async def worker() -> None:
            for body in queue:
                response = await http.post("/api/messages", json=body)
                assert response.status_code == 201, response.text

        await asyncio.gather(*(worker() for _ in range(20)))
        elapsed = time.perf_counter() - start
    await sara.close(), await omid.close()
    return (_database_bytes(server) - before) / count, count / elapsed


def _database_bytes(server: Server) -> int:
    with sqlite3.connect(server.db_path, timeout=30) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, size, free = (
            conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "page_size", "freelist_count")
        )
    return (pages - free) * size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    sizes()
    timings(args.messages)
    asyncio.run(stored(args.messages))
    print("(b64 of an envelope in JSON is 4/3 of these bytes; e.g.", b64(b"x" * 3), "for 3 bytes)")


if __name__ == "__main__":
    main()
