"""The broadcaster: which live connections each user has, and delivery of updates to them.

Small on purpose: subscribe, unsubscribe, publish committed notices, send an ephemeral event
(typing, presence), and ask who is connected. `memory.py` serves one process; another backend
(Redis) fits behind the same methods, chosen by URL, and nothing else needs to know.
"""

from __future__ import annotations

from broadcast.memory import MemoryBroadcaster
from broadcast.subscriber import Subscriber

__all__ = ["MemoryBroadcaster", "Subscriber", "create_broadcaster"]


def create_broadcaster(url: str = "memory://") -> MemoryBroadcaster:
    if url.startswith("memory://"):
        return MemoryBroadcaster()
    raise ValueError(f"unknown broadcaster URL: {url}")
