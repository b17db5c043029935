"""Media bench: upload throughput, resume overhead, photo processing time, and chat latency
while uploads run. Prints its figures; asserts nothing about speed.

    .venv/bin/python -m bench.media            # ~1 minute
    .venv/bin/python -m bench.media --quick    # smaller files, fewer rounds
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
import websockets
from PIL import Image

from bench.proc import Server
from media import images

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = 1024 * 1024


def payload(size: int) -> bytes:
    seed = uuid.uuid4().hex.encode()
    return (seed * (size // len(seed) + 1))[:size]


async def register(client: httpx.AsyncClient) -> tuple[str, str]:
    username = "b" + uuid.uuid4().hex[:12]
    response = await client.post("/api/auth/register", json={"username": username, "password": "bench password 1"})
    response.raise_for_status()
    return username, response.json()["token"]


async def _create(client: httpx.AsyncClient, auth: dict, length: int, filename: bytes) -> str:
    """Starts an upload of `length` bytes; its location."""
    name = base64.b64encode(filename).decode()
    created = await client.post(
        "/api/uploads", headers={**auth, "Upload-Length": str(length), "Upload-Metadata": f"filename {name}"}
    )
    created.raise_for_status()
    return created.headers["location"]


async def _append_from(
    client: httpx.AsyncClient, auth: dict, location: str, data: bytes, offset: int, chunk: int
) -> int:
    """Sends `data` from `offset` on in PATCHes of `chunk` bytes; returns the bytes sent."""
    sent = 0
    while offset < len(data):
        part = data[offset : offset + chunk]
        response = await client.patch(
            location,
            headers={**auth, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
            content=part,
        )
        response.raise_for_status()
        sent += len(part)
        offset = int(response.headers["upload-offset"])
    return sent


async def upload(client: httpx.AsyncClient, token: str, data: bytes, chunk: int = CHUNK) -> int:
    """Uploads in PATCHes of `chunk` bytes; returns the bytes sent."""
    auth = {"authorization": f"Bearer {token}", **TUS}
    location = await _create(client, auth, len(data), b"bench.txt")
    return await _append_from(client, auth, location, data, 0, chunk)


async def cut_and_resume(server: Server, client: httpx.AsyncClient, token: str, data: bytes, chunk: int) -> dict:
    """One PATCH of the whole file cut at half, then HEAD and the rest in chunks."""
    auth = {"authorization": f"Bearer {token}", **TUS}
    started = time.perf_counter()
    location = await _create(client, auth, len(data), b"resume.txt")
    parts = urlsplit(server.base)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    half = len(data) // 2
    writer.write(
        (
            f"PATCH {location} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n"
            f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Upload-Offset: 0\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        + data[:half]
    )
    await writer.drain()
    writer.transport.abort()  # at once: bytes still in flight or in the server's buffer are lost
    offset = 0
    for _ in range(100):
        await asyncio.sleep(0.05)
        head = await client.head(location, headers=auth)
        offset = int(head.headers["upload-offset"])
        if offset:
            break
    kept = offset
    sent = half + await _append_from(client, auth, location, data, offset, chunk)
    return {"seconds": time.perf_counter() - started, "sent": sent, "kept": kept, "before_cut": half}


async def chat_latencies(server: Server, token: str, peer: str, count: int) -> list[float]:
    """Send→ack round trips over a WebSocket, one at a time, in ms."""
    latencies = []
    async with websockets.connect(server.ws_url) as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        while orjson.loads(await ws.recv())["type"] != "ready":
            pass
        for index in range(count):
            ref = f"r{index}"
            frame = {"type": "send", "ref": ref, "to": peer, "text": "سلام", "client_id": uuid.uuid4().hex}
            started = time.perf_counter()
            await ws.send(orjson.dumps(frame).decode())
            while True:
                answer = orjson.loads(await ws.recv())
                if answer.get("type") == "ack" and answer.get("ref") == ref:
                    break
            latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.01)
    return latencies


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def photo_processing_ms(rounds: int) -> dict:
    """Re-encode without EXIF + thumbnail + blurhash for a 12-megapixel JPEG, in this process."""
    # Noise compresses like a real photo's detail does (a flat image would flatter the figure).
    noise = [Image.effect_noise((4000, 3000), sigma) for sigma in (40, 60, 80)]
    image = Image.merge("RGB", noise)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "photo.jpg"
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        path.write_bytes(buffer.getvalue())
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            images.process_image(path, "image/jpeg", 50_000_000)
            times.append((time.perf_counter() - started) * 1000)
    return {"median_ms": statistics.median(times), "max_ms": max(times)}


async def storage_choice(size: int) -> None:
    """Where shared bytes could live: a shared folder (FILES_DIR) or PostgreSQL in 256 KiB rows."""
    import asyncpg

    data = payload(size)
    chunks = [data[i : i + 256 * 1024] for i in range(0, size, 256 * 1024)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "blob"
        started = time.perf_counter()
        await asyncio.to_thread(_write_file, path, chunks)
        written = time.perf_counter() - started
        started = time.perf_counter()
        await asyncio.to_thread(path.read_bytes)
        read = time.perf_counter() - started
    print(f"shared folder: write {size / 2**20 / written:.0f} MB/s (fsync), read {size / 2**20 / read:.0f} MB/s")
    try:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=3)
    except (OSError, asyncpg.PostgresError) as error:
        print(f"PostgreSQL chunks: not measured ({error})")
        return
    try:
        await conn.execute("CREATE TEMP TABLE blob_chunks (n INTEGER PRIMARY KEY, bytes BYTEA NOT NULL)")
        started = time.perf_counter()
        async with conn.transaction():
            await conn.executemany("INSERT INTO blob_chunks VALUES ($1, $2)", list(enumerate(chunks)))
        written = time.perf_counter() - started
        started = time.perf_counter()
        rows = await conn.fetch("SELECT bytes FROM blob_chunks ORDER BY n")
        read = time.perf_counter() - started
        assert b"".join(row[0] for row in rows) == data
        print(
            f"PostgreSQL 256 KiB chunks: write {size / 2**20 / written:.0f} MB/s, read {size / 2**20 / read:.0f} MB/s"
        )
    finally:
        await conn.close()


def _write_file(path: Path, chunks: list[bytes]) -> None:
    with open(path, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())


async def run(quick: bool) -> None:
    size = (8 if quick else 20) * 1024 * 1024
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder), env={"UPLOADS_PER_MINUTE": "1000", "UPLOAD_QUOTA_BYTES": str(2**40)}).start()
        try:
            async with httpx.AsyncClient(base_url=server.base, timeout=120) as client:
                sara, sara_token = await register(client)
                omid, omid_token = await register(client)
                data = payload(size)
                started = time.perf_counter()
                await upload(client, sara_token, data)
                seconds = time.perf_counter() - started
                print(f"upload, one client, 1 MiB PATCHes: {size / 2**20 / seconds:.1f} MB/s ({size / 2**20:.0f} MiB)")
                started = time.perf_counter()
                await upload(client, sara_token, payload(size), chunk=256 * 1024)
                seconds = time.perf_counter() - started
                print(f"upload, one client, 256 KiB PATCHes: {size / 2**20 / seconds:.1f} MB/s")
                resumed = await cut_and_resume(server, client, sara_token, payload(size), CHUNK)
                overhead = resumed["sent"] / size - 1
                print(
                    f"resume after a cut at 50 %: the server kept {resumed['kept'] / 2**20:.2f} of"
                    f" {resumed['before_cut'] / 2**20:.2f} MiB sent before the cut; {resumed['sent'] / 2**20:.2f} MiB"
                    f" sent for {size / 2**20:.0f} MiB (+{overhead * 100:.1f} %), {resumed['seconds']:.2f} s in all"
                )
                rounds = 50 if quick else 200
                quiet = await chat_latencies(server, sara_token, omid, rounds)
                print(f"chat send→ack, no uploads: p50 {p(quiet, 0.5):.1f} ms, p99 {p(quiet, 0.99):.1f} ms")
                clients = [httpx.AsyncClient(base_url=server.base, timeout=300) for _ in range(10)]
                uploads = [asyncio.create_task(upload(c, omid_token, payload(size))) for c in clients]
                started = time.perf_counter()
                busy = await chat_latencies(server, sara_token, omid, rounds)
                sent = sum(await asyncio.gather(*uploads))
                seconds = time.perf_counter() - started
                for c in clients:
                    await c.aclose()
                print(
                    f"chat send→ack while 10 uploads run: p50 {p(busy, 0.5):.1f} ms, p99 {p(busy, 0.99):.1f} ms;"
                    f" uploads together {sent / 2**20 / seconds:.1f} MB/s"
                )
        finally:
            server.stop()
    await storage_choice(size)
    photo = photo_processing_ms(3 if quick else 10)
    print(f"photo 4000x3000 JPEG: clean + thumbnail + blurhash {photo['median_ms']:.0f} ms median", end="")
    print(f", {photo['max_ms']:.0f} ms max")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    asyncio.run(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
