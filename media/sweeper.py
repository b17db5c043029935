"""Cleans up uploads left unfinished past their expiry: their rows and their partial bytes."""

from __future__ import annotations

import asyncio
import logging

from store.records import now_ms

log = logging.getLogger("payambar.media")


async def sweep_once(files, blobs) -> int:
    expired = await files.expired_uploads(now_ms())
    if not expired:
        return 0
    await files.delete_uploads(expired)

    def remove() -> None:
        for upload_id in expired:
            blobs.partial_path(upload_id).unlink(missing_ok=True)

    await asyncio.to_thread(remove)
    return len(expired)


async def sweep_forever(files, blobs, every_seconds: int) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        try:
            removed = await sweep_once(files, blobs)
        except Exception:  # a failed sweep is tried again next time; it must not end the loop
            log.exception("sweeping expired uploads failed")
            continue
        if removed:
            log.info("removed %d expired uploads", removed)
