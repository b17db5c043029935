"""Live delivery: `hub.Broadcaster` over a backend chosen by URL (`memory.py` in one process,
`redis.py` across instances). Nothing else in the app knows which backend runs."""

from __future__ import annotations

from broadcast.hub import Broadcaster, Notice
from broadcast.memory import MemoryBackend
from broadcast.subscriber import Subscriber

__all__ = ["Broadcaster", "Notice", "Subscriber", "create_broadcaster"]


def create_broadcaster(url: str = "") -> Broadcaster:
    """The broadcaster for REDIS_URL: empty (or memory://) for one process, redis:// or
    rediss:// to share live delivery and presence between instances."""
    if not url or url.startswith("memory://"):
        return Broadcaster(MemoryBackend())
    if url.startswith(("redis://", "rediss://", "unix://")):
        from broadcast.redis import RedisBackend  # only deployments that use Redis need it

        return Broadcaster(RedisBackend(url))
    raise ValueError(f"unknown broadcaster URL: {url}")
