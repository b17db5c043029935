"""Big photos at once: the pixel cap refuses what is too big before decoding it, and decodes of
what is allowed take turns (IMAGE_DECODES), so a burst waits instead of swelling the process.
Measured as the server process's resident memory while four uploads run at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import tus
from helpers import register
from media_samples import black_png, jpeg_with_gps

MIB = 1024 * 1024
BURST = 4
SIDE = 7070  # 49.98 megapixels: 142 KiB as a black PNG, 150 MB once decoded as RGB


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def burst_growth(server, data: bytes) -> tuple[int, list]:
    """(peak growth of the server's memory over its settled size, the four answers)."""
    api = await register(server)
    await tus.upload(api, jpeg_with_gps(64, 48), "warm.jpg")  # Pillow's plugins loaded before measuring
    pid = server.process.pid
    baseline = resident_bytes(pid)
    peak = baseline
    locations = [await tus.start(api, len(data), f"black{n}.png") for n in range(BURST)]
    uploads = asyncio.gather(*(tus.append(api, location, 0, data) for location in locations))
    task = asyncio.ensure_future(uploads)
    while not task.done():
        peak = max(peak, resident_bytes(pid))
        await asyncio.sleep(0.02)
    answers = await task
    await api.close()
    return peak - baseline, answers


async def test_four_photos_over_the_pixel_cap_at_once_are_refused_without_decoding(server_factory):
    server = server_factory()
    growth, answers = await burst_growth(server, black_png(SIDE))
    print(f"\nfour {SIDE}x{SIDE} PNGs at once, default cap: the server grew by {growth / MIB:.0f} MiB")
    assert [answer.status_code for answer in answers] == [422] * BURST
    assert {answer.json()["error"]["code"] for answer in answers} == {"image_too_large"}
    assert growth <= 600 * MIB


async def test_four_big_photos_at_once_take_turns_and_stay_within_600_mib(server_factory):
    server = server_factory(MAX_IMAGE_PIXELS="50000000")  # the old cap: each of them is decoded
    started = time.monotonic()
    growth, answers = await burst_growth(server, black_png(SIDE))
    print(
        f"\nfour {SIDE}x{SIDE} PNGs at once, decoded two at a time: the server grew by {growth / MIB:.0f} MiB"
        f" ({time.monotonic() - started:.1f} s)"
    )
    assert [answer.status_code for answer in answers] == [204] * BURST, [answer.text for answer in answers]
    assert growth <= 600 * MIB
