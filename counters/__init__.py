"""Shared counters: numbers every instance agrees on and that lapse by themselves (rate limits,
chats awaiting their read push, who views which chat). One process keeps them in memory
(`memory.py`); with REDIS_URL, instances share them in Redis (`redis.py`). Nothing else in the
app knows which one runs."""

from __future__ import annotations

from counters.base import Counters, CountersUnavailable

__all__ = ["Counters", "CountersUnavailable", "create_counters"]


def create_counters(url: str = "") -> Counters:
    """The counters for REDIS_URL: empty (or memory://) for one process, redis:// or rediss://
    (or unix://) to share them between instances."""
    if not url or url.startswith("memory://"):
        from counters.memory import MemoryCounters

        return MemoryCounters()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from counters.redis import RedisCounters  # only deployments that use Redis need it

        return RedisCounters(url)
    raise ValueError(f"unknown counters URL: {url}")
