"""Rate limits: how many times a key (a username, a client address, a user) may do a thing
within a window. Counted in the broadcaster's backend, so a limit holds across instances when
they share Redis (and in this process's memory otherwise); every limit is a `WindowLimit` with
`hit`, `retry_after`, `take` and `reset`."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from broadcast.base import BackendUnavailable
from routes.responses import ApiError, rate_limited

# A refusal answers after a short pause: a client hammering in a loop gets a couple of answers
# a second instead of thousands, and waiting costs the server nothing but a timer.
REFUSAL_PAUSE_SECONDS = 0.5


class WindowLimit:
    """At most `limit` hits per key within a window of `window` seconds (the window starts at a
    key's first hit)."""

    def __init__(self, backend, name: str, limit: int, window: int) -> None:
        self.backend = backend
        self.name = name
        self.limit = limit
        self.window = window

    def _key(self, key: str) -> str:
        return f"limit:{self.name}:{key}"

    async def hit(self, key: str) -> int:
        return await self.backend.add(self._key(key), 1, self.window)

    async def retry_after(self, key: str) -> int:
        """Seconds until the key may act again; 0 when it may now."""
        return self.window if await self.backend.get(self._key(key)) >= self.limit else 0

    async def take(self, key: str, fail_open: bool = False) -> int:
        """Counts one more hit; 0 when it was within the limit, else the seconds to wait. With
        `fail_open`, an unreachable backend lets the call through (sends are stored while Redis
        is away; a limit is not worth an outage)."""
        try:
            return self.window if await self.hit(key) > self.limit else 0
        except BackendUnavailable:
            if fail_open:
                return 0
            raise

    async def take_unless_over(self, key: str) -> int:
        """As `take`, but a refused try is not counted: 0 when allowed (and counted), else the
        seconds to wait."""
        wait = await self.retry_after(key)
        if not wait:
            await self.hit(key)
        return wait

    async def reset(self, key: str) -> None:
        await self.backend.delete(self._key(key))


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
    uploads_by_user: WindowLimit  # keyed "<user>:create" and "<user>:avatar": two counts

    @classmethod
    def from_settings(cls, settings, backend) -> Limits:
        return cls(
            login_failures_by_username=WindowLimit(backend, "login-user", settings.login_failures_per_username, 300),
            login_failures_by_address=WindowLimit(backend, "login-address", settings.login_failures_per_address, 600),
            password_failures_by_user=WindowLimit(backend, "password", 5, 900),
            registrations_by_address=WindowLimit(backend, "register", settings.registrations_per_hour, 3600),
            token_creations_by_user=WindowLimit(backend, "tokens", 30, 3600),
            block_changes_by_user=WindowLimit(backend, "blocks", 100, 3600),
            sends_by_user=WindowLimit(backend, "sends", settings.sends_per_minute, 60),
            uploads_by_user=WindowLimit(backend, "upload", settings.media.uploads_per_minute, 60),
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


def too_many(wait: int, message: str) -> ApiError:
    return rate_limited(wait, message)


async def refuse(wait: int, message: str) -> ApiError:
    await asyncio.sleep(REFUSAL_PAUSE_SECONDS)
    return too_many(wait, message)


class FailureLimiter:
    """Failures per (what, who) key, for checks other than logins (a wrong metrics token)."""

    def __init__(self, backend, max_failures: int = 10, window: int = 300) -> None:
        self.limit = WindowLimit(backend, "failures", max_failures, window)

    async def retry_after(self, key: tuple[str, str]) -> int:
        return await self.limit.retry_after("|".join(key))

    async def failed(self, key: tuple[str, str]) -> None:
        await self.limit.hit("|".join(key))

    async def succeeded(self, key: tuple[str, str]) -> None:
        await self.limit.reset("|".join(key))
