"""Which chat each live connection shows right now, as its `viewing` frames say: no push is sent
for a chat while any device of the user is looking at it, on any instance.

This instance knows its own connections exactly. For the others, each view is also counted in
the shared counters (Redis when instances share them), per time bucket: a view is counted
again in every new bucket while it lasts, and a bucket's counts lapse with it. So a view held by
an instance that died stops counting within a bucket, without anyone having to clean up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from counters import Counters

log = logging.getLogger("payambar.push")

BUCKET_SECONDS = 300
GRACE_SECONDS = 30  # early in a bucket, views still counted only in the previous one count too


def _bucket(now: float) -> int:
    return int(now // BUCKET_SECONDS)


class Viewing:
    def __init__(self, counters: Counters) -> None:
        self.counters = counters
        self._by_user: dict[int, dict[object, str]] = {}  # user id -> connection -> peer (lower case)
        self._counted: dict[object, tuple[int, str, int]] = {}  # connection -> (user, peer, bucket)
        self._refresher: asyncio.Task | None = None

    async def __aenter__(self) -> Viewing:
        self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    def start(self) -> None:
        self._refresher = asyncio.create_task(self._refresh(), name="viewing-refresh")

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher

    async def set(self, user_id: int, connection: object, peer: str | None) -> None:
        """The connection shows the chat with `peer` now (None: no chat, or not visible)."""
        if peer is not None and self._by_user.get(user_id, {}).get(connection) == peer.lower():
            return  # the same view again (a tab regaining focus): nothing changes
        await self.forget(user_id, connection)
        if peer is None:
            return
        peer = peer.lower()
        self._by_user.setdefault(user_id, {})[connection] = peer
        bucket = _bucket(time.time())
        self._counted[connection] = (user_id, peer, bucket)
        await self._count(user_id, peer, bucket, 1)

    async def forget(self, user_id: int, connection: object) -> None:
        shown = self._by_user.get(user_id)
        if shown is not None:
            shown.pop(connection, None)
            if not shown:
                del self._by_user[user_id]
        counted = self._counted.pop(connection, None)
        if counted is not None:
            # Taken back from the bucket it was counted in, even one just past: is_viewing still reads
            # the last bucket for a moment after a new one starts, and the refresher may not yet have
            # counted the view again in the new one (a busy loop wakes it late).
            await self._count(*counted, -1)

    async def is_viewing(self, user_id: int, peer: str) -> bool:
        peer = peer.lower()
        if peer in self._by_user.get(user_id, {}).values():
            return True
        now = time.time()
        buckets = [_bucket(now)]
        if now % BUCKET_SECONDS < GRACE_SECONDS:
            buckets.append(buckets[0] - 1)
        try:
            for bucket in buckets:
                if await self.counters.get(_key(user_id, peer, bucket)) > 0:
                    return True
        except Exception as error:  # the shared count is a refinement; this instance's views still hold
            log.warning("reading shared views failed: %s", error)
        return False

    async def _count(self, user_id: int, peer: str, bucket: int, amount: int) -> None:
        try:
            await self.counters.add(_key(user_id, peer, bucket), amount, 2 * BUCKET_SECONDS)
        except Exception as error:
            log.warning("counting a view failed: %s", error)

    async def _refresh(self) -> None:
        """At the start of every bucket, counts this instance's views in it."""
        while True:
            await asyncio.sleep(BUCKET_SECONDS - time.time() % BUCKET_SECONDS + 0.01)
            bucket = _bucket(time.time())
            for connection, (user_id, peer, counted_in) in list(self._counted.items()):
                if counted_in < bucket and self._counted.get(connection) == (user_id, peer, counted_in):
                    self._counted[connection] = (user_id, peer, bucket)
                    await self._count(user_id, peer, bucket, 1)


def _key(user_id: int, peer: str, bucket: int) -> str:
    return f"viewing:{user_id}:{peer}:{bucket}"
