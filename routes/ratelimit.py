"""Rate limits: how many times a key (a username, a client address, a user) may do a thing
within a window. Every limit is a `WindowLimit`; its storage is this process's memory, behind
`hit`, `retry_after` and `reset`, so another store (Redis) can stand in without callers changing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import deque
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from routes.http import ApiError

MAX_KEYS = 100_000  # per limit: past this the oldest keys are forgotten, so memory stays bounded


class WindowLimit:
    """At most `limit` hits per key within `window` seconds (a sliding window)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        cutoff = now - self.window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def hit(self, key: str) -> None:
        now = time.monotonic()
        hits = self._recent(key, now)
        if hits is None:
            if len(self._hits) >= MAX_KEYS:
                del self._hits[next(iter(self._hits))]
            hits = self._hits[key] = deque(maxlen=self.limit)
        hits.append(now)

    def retry_after(self, key: str) -> int:
        """Seconds until the key may act again; 0 when it may now."""
        if self.limit <= 0:
            return 0
        now = time.monotonic()
        hits = self._recent(key, now)
        if hits is None or len(hits) < self.limit:
            return 0
        return max(1, int(hits[0] + self.window - now) + 1)

    def take(self, key: str) -> int:
        """Counts one more hit when the key may act; else the seconds to wait (nothing counted)."""
        wait = self.retry_after(key)
        if not wait:
            self.hit(key)
        return wait

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)


@dataclass(frozen=True)
class Limits:
    """The limits one server keeps, from its settings."""

    login_failures_by_username: WindowLimit
    login_failures_by_address: WindowLimit
    password_failures_by_user: WindowLimit
    registrations_by_address: WindowLimit
    token_creations_by_user: WindowLimit
    block_changes_by_user: WindowLimit
    sends_by_user: WindowLimit

    @classmethod
    def from_settings(cls, settings) -> Limits:
        return cls(
            login_failures_by_username=WindowLimit(settings.login_failures_per_username, 300),
            login_failures_by_address=WindowLimit(settings.login_failures_per_address, 600),
            password_failures_by_user=WindowLimit(5, 900),
            registrations_by_address=WindowLimit(settings.registrations_per_hour, 3600),
            token_creations_by_user=WindowLimit(30, 3600),
            block_changes_by_user=WindowLimit(100, 3600),
            sends_by_user=WindowLimit(settings.sends_per_minute, 60),
        )


def client_address(connection: HTTPConnection) -> str:
    """The client's address as limits count it: uvicorn has already replaced a trusted proxy's
    address with the right-most untrusted one it forwarded. IPv6 counts by /64, the block one
    subscriber usually holds."""
    host = connection.client.host if connection.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


# A refusal answers after a short pause: a client hammering in a loop gets a couple of answers
# a second instead of thousands, and waiting costs the server nothing but a timer.
REFUSAL_PAUSE_SECONDS = 0.5


def too_many(wait: int, message: str) -> ApiError:
    return ApiError(429, "rate_limited", message, headers={"Retry-After": str(wait)})


async def refuse(wait: int, message: str) -> ApiError:
    await asyncio.sleep(REFUSAL_PAUSE_SECONDS)
    return too_many(wait, message)
