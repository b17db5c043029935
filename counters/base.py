"""The counters' interface, and the one error every kind of counters raises."""

from __future__ import annotations

from typing import Protocol


class CountersUnavailable(Exception):
    """The shared counters cannot answer now (Redis is away); a retry later may succeed."""


class Counters(Protocol):
    shared: bool  # whether other instances count in the same place

    async def add(self, key: str, amount: int, ttl_seconds: int) -> int:
        """Adds to a counter that lapses `ttl_seconds` after it was first set; returns it."""

    async def get(self, key: str) -> int: ...

    async def delete(self, key: str) -> None: ...

    async def __aenter__(self) -> Counters: ...

    async def __aexit__(self, *exc_info) -> None: ...
