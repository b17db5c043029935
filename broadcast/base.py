"""The backend interface: channels carrying text between instances, and who is online (the one
piece of shared state the broadcaster keeps; counters for limits are `counters/`).

A backend knows nothing of users, connections or frames; `hub.Broadcaster` sits above it and
does the local fan-out. Two backends: `memory.py` (one process) and `redis.py` (any number).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# The channel name of the event a backend yields after its subscriptions were lost and restored:
# whatever was published meanwhile may be missing, so every listener must catch up.
RECONNECTED = ""


class BackendUnavailable(Exception):
    """The shared backend cannot answer now (Redis is away); a retry later may succeed."""


@dataclass(frozen=True, slots=True)
class Event:
    channel: str
    message: str


class Backend(Protocol):
    shared: bool  # whether other instances share it (presence is then theirs too)

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def subscribe(self, channel: str) -> bool:
        """Subscribes; True once the subscription holds, False if that could not be confirmed
        (whatever is published meanwhile may then be missed, and listeners should catch up)."""

    async def unsubscribe(self, channel: str) -> None: ...

    async def publish(self, messages: Sequence[tuple[str, str]]) -> None:
        """Publishes (channel, message) pairs, in order."""

    async def next_published(self) -> Event:
        """The next message on a subscribed channel (or a RECONNECTED event)."""

    async def ping(self) -> bool: ...

    async def join(self, user_id: int) -> int:
        """Counts one more live connection of the user here; returns their count everywhere."""

    async def leave(self, user_id: int) -> int:
        """Counts one connection less; returns the user's count everywhere."""

    async def online(self, user_ids: Sequence[int]) -> set[int]:
        """Which of these users have a live connection anywhere."""
