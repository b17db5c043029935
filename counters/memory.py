"""Counters in this process's memory, for a server that runs alone."""

from __future__ import annotations

import time

# Past this many keys, lapsed ones are dropped at the next add.
KEYS_BEFORE_CLEANING = 200_000


class MemoryCounters:
    shared = False

    def __init__(self) -> None:
        self._counters: dict[str, tuple[int, float]] = {}  # key -> (value, lapses at)

    async def __aenter__(self) -> MemoryCounters:
        return self

    async def __aexit__(self, *exc_info) -> None:
        self._counters.clear()

    async def add(self, key: str, amount: int, ttl_seconds: int) -> int:
        now = time.monotonic()
        value, lapses = self._counters.get(key, (0, 0.0))
        if lapses <= now:
            value, lapses = 0, now + ttl_seconds
        value += amount
        self._counters[key] = (value, lapses)
        if len(self._counters) > KEYS_BEFORE_CLEANING:
            self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        return value

    async def get(self, key: str) -> int:
        value, lapses = self._counters.get(key, (0, 0.0))
        return value if lapses > time.monotonic() else 0

    async def delete(self, key: str) -> None:
        self._counters.pop(key, None)
