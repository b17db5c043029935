"""Cleans up: uploads left unfinished past their expiry (rows and partial bytes), files that no
message carries any more (never sent within the expiry, or their messages deleted) with the bytes
nothing else uses, and what a crash left half-made in the temporary folder. What is removed no
longer counts towards its owner's quota. Beside them, each sweep runs the other expiries it was
given (the device-link relay's rows past their 10 minutes)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

from store import StoreError, now_ms

log = logging.getLogger("payambar.media")

TEMP_FILE_HOURS = 1


def _remove_older_than(folder: Path, cutoff: float) -> int:
    removed = 0
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


async def sweep_once(files, blobs, expiry_seconds: int) -> int:
    """Removes what has expired; the number of uploads removed."""
    expired = await files.expired_uploads(now_ms())
    if expired:
        await files.delete_uploads(expired)

    def remove() -> None:
        for upload_id in expired:
            blobs.partial_path(upload_id).unlink(missing_ok=True)
        now = time.time()
        # Untouched longer than any upload lives: its row is gone (or never was, after a crash).
        _remove_older_than(blobs.partial, now - expiry_seconds)
        _remove_older_than(blobs.tmp, now - TEMP_FILE_HOURS * 3600)

    await asyncio.to_thread(remove)
    await _sweep_files(files, blobs, expiry_seconds)
    return len(expired)


async def _sweep_files(files, blobs, expiry_seconds: int) -> None:
    unused = await files.unused_files(now_ms() - expiry_seconds * 1000)
    hashes = await files.delete_unused_files(unused)
    if not hashes:
        return
    still_used = await files.referenced_hashes(hashes)
    idle_since = time.time() - min(expiry_seconds, TEMP_FILE_HOURS * 3600)

    def remove() -> None:
        for sha256 in set(hashes) - still_used:
            blobs.remove_idle(sha256, idle_since)

    await asyncio.to_thread(remove)
    log.info("removed %d unused files", len(unused))


Expiry = Callable[[int], Awaitable[int]]  # now (ms) -> rows removed


@contextlib.asynccontextmanager
async def sweeping(
    files, blobs, every_seconds: int, expiry_seconds: int, expiries: Sequence[Expiry] = ()
) -> AsyncIterator[None]:
    """Sweeps expired uploads (and runs `expiries`) in the background while the block runs."""
    task = asyncio.create_task(
        sweep_forever(files, blobs, every_seconds, expiry_seconds, expiries), name="payambar-sweeper"
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def sweep_forever(files, blobs, every_seconds: int, expiry_seconds: int, expiries: Sequence[Expiry] = ()) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        try:
            for expire in expiries:
                await expire(now_ms())
            removed = await sweep_once(files, blobs, expiry_seconds)
        except StoreError as error:  # the database away for a moment: tried again next time
            log.warning("sweeping expired uploads failed: %s", error.code)
            continue
        except Exception:  # a failed sweep is tried again next time; it must not end the loop
            log.exception("sweeping expired uploads failed")
            continue
        if removed:
            log.info("removed %d expired uploads", removed)
