"""Slow and huge requests against a server started by the Procfile: a 64 MiB header, a hundred
and one header lines, connections that send partial headers or nothing (slow-loris), and idle
kept-alive connections. Each must be cut off without stalling anyone else."""

from __future__ import annotations

import asyncio
import time

import httpx
import psutil
import pytest
from procfile import start_procfile_server

from server.http_protocol import HEADER_TIMEOUT_SECONDS, MAX_HEADER_BYTES, MAX_HEADERS

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    started = start_procfile_server(tmp_path_factory.mktemp("procfile"))
    yield started
    started.stop()


def _port(server) -> int:
    return int(server.url.rsplit(":", 1)[1])


async def _open(server):
    return await asyncio.open_connection("127.0.0.1", _port(server))


async def _read_answer(reader: asyncio.StreamReader, timeout: float = 5.0) -> bytes:
    chunks = []
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                break
            chunks.append(chunk)
    except (ConnectionResetError, BrokenPipeError):
        pass
    return b"".join(chunks)


async def _closed_by_server(reader: asyncio.StreamReader, timeout: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), timeout) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _content_length(head: bytes) -> int:
    return int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:])


def _server_process(server) -> psutil.Process:
    return psutil.Process(server.process.pid)


async def test_a_64_mib_header_is_cut_off_at_the_limit_and_does_not_stall_others(server):
    rss_before = _server_process(server).memory_info().rss
    reader, writer = await _open(server)
    writer.write(b"GET /health HTTP/1.1\r\nhost: x\r\nx-huge: ")
    sent, refused_after = 0, None
    chunk = b"a" * 65536
    others = []
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as bystander:
        try:
            while sent < 64 * 1024 * 1024:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
                if sent % (1024 * 1024) == 0:
                    started = time.monotonic()
                    assert (await bystander.get("/health")).status_code == 200
                    others.append(time.monotonic() - started)
        except (ConnectionResetError, BrokenPipeError):
            refused_after = sent
        answer = await _read_answer(reader)
    writer.close()
    growth = (_server_process(server).memory_info().rss - rss_before) / 2**20
    print(f"\nrefused after {refused_after} bytes sent; memory growth {growth:.1f} MiB; bystander {others}")
    # The server closed with the client's bytes unread, so the client sees a reset rather than the
    # 431 (which the test below reads); what matters is how early it stopped reading.
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 ")
    assert refused_after is not None and refused_after < 8 * 1024 * 1024, "the server stopped reading early"
    assert growth < 64, "the server did not keep the header"


async def test_a_header_over_the_limit_is_answered_431_and_the_connection_closed(server):
    reader, writer = await _open(server)
    writer.write(b"GET /health HTTP/1.1\r\nhost: x\r\nx-big: " + b"b" * (MAX_HEADER_BYTES + 1024))
    answer = await _read_answer(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]
    assert b'"headers_too_large"' in answer


@pytest.mark.parametrize("size", [MAX_HEADER_BYTES + 1, 100_000, 200_000])
async def test_a_header_over_the_limit_in_one_read_is_431_too(server, size):
    reader, writer = await _open(server)
    head = b"GET /health HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * size + b"\r\n\r\n"
    writer.write(head)  # the whole request at once: the parser sees it complete in one read
    answer = await _read_answer(reader)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:80]
    assert b"headers_too_large" in answer
    writer.close()


async def test_a_long_url_in_one_read_counts_towards_the_limit(server):
    reader, writer = await _open(server)
    writer.write(b"GET /health?" + b"q" * 100_000 + b" HTTP/1.1\r\nhost: x\r\n\r\n")
    assert (await _read_answer(reader)).startswith(b"HTTP/1.1 431")
    writer.close()


async def test_a_header_just_under_the_limit_is_served(server):
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/health", headers={"x-long": "v" * (MAX_HEADER_BYTES - 1024)})
    assert response.status_code == 200


async def test_more_header_lines_than_allowed_is_431(server):
    reader, writer = await _open(server)
    lines = b"".join(b"x-h%d: v\r\n" % n for n in range(MAX_HEADERS + 1))
    writer.write(b"GET /health HTTP/1.1\r\nhost: x\r\n" + lines + b"\r\n")
    answer = await _read_answer(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]


async def test_slow_loris_connections_are_closed_after_the_header_timeout(server):
    silent = [await _open(server) for _ in range(300)]
    partial = [await _open(server) for _ in range(300)]
    for _, writer in partial:
        writer.write(b"GET /health HTTP/1.1\r\nhost: x\r\n")
    trickle_reader, trickle_writer = await _open(server)
    trickle_writer.write(b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: ")
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=server.url) as bystander:
        assert (await bystander.get("/health")).status_code == 200
    for _ in range(int(HEADER_TIMEOUT_SECONDS) - 2):  # one more header byte a second, never finishing
        trickle_writer.write(b"a")
        await asyncio.sleep(1)
    results = await asyncio.gather(
        *(_closed_by_server(reader, HEADER_TIMEOUT_SECONDS + 5) for reader, _ in silent + partial),
        _closed_by_server(trickle_reader, 10),
    )
    elapsed = time.monotonic() - started
    print(f"\n{sum(results)} of {len(results)} slow connections closed by the server within {elapsed:.1f} s")
    assert all(results)
    for _, writer in [*silent, *partial, (trickle_reader, trickle_writer)]:
        writer.close()


async def test_an_idle_kept_alive_connection_is_closed(server):
    reader, writer = await _open(server)
    writer.write(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
    first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert first.startswith(b"HTTP/1.1 200 ")
    await reader.readexactly(_content_length(first))
    started = time.monotonic()
    assert await _closed_by_server(reader, 15)
    print(f"\nidle kept-alive connection closed after {time.monotonic() - started:.1f} s")
    writer.close()


async def test_a_kept_alive_connection_serves_a_second_request_in_time(server):
    reader, writer = await _open(server)
    for _ in range(2):
        writer.write(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 ")
        length = int(
            next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1]
        )
        await reader.readexactly(length)
    writer.close()
