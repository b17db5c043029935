"""Rate limits: how many times a key (a username, a client address, a user) may do a thing
within a window. Counted in the shared counters (`counters/`), so a limit holds across instances when
they share Redis (and in this process's memory otherwise); every limit is a `WindowLimit` with
`hit`, `retry_after`, `take` and `reset`."""

from __future__ import annotations

import asyncio
import ipaddress
import math
import re
import time
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from counters import CountersUnavailable
from wire.responses import ApiError, rate_limited

# A refusal answers after a short pause: a client hammering in a loop gets a couple of answers
# a second instead of thousands, and waiting costs the server nothing but a timer.
REFUSAL_PAUSE_SECONDS = 0.5


CHAT_SETTINGS_PER_MINUTE = 120  # pin, mute, archive, mark unread: a person taps a few a minute
PREVIEWS_PER_MINUTE = 30  # a person writes a few links a minute; each costs the server a fetch
REACTIONS_PER_MINUTE = 120  # a person taps a few a minute; a script flipping one back and forth meets it
KEY_LINKS_PER_HOUR = 20  # link requests a person starts: one per new device, a few retries
KEY_LINK_CALLS_PER_MINUTE = 300  # every link call, polls included (two devices polling each second use 120)


class WindowLimit:
    """At most `limit` hits per key within a window of `window` seconds (the window starts at a
    key's first hit)."""

    def __init__(self, counters, name: str, limit: int, window: int) -> None:
        self.counters = counters
        self.name = name
        self.limit = limit
        self.window = window

    def _key(self, key: str) -> str:
        return f"limit:{self.name}:{key}"

    async def hit(self, key: str) -> int:
        return await self.counters.add(self._key(key), 1, self.window)

    async def retry_after(self, key: str) -> int:
        """Seconds until the key may act again; 0 when it may now."""
        return self.window if await self.counters.get(self._key(key)) >= self.limit else 0

    async def take(self, key: str, fail_open: bool = False) -> int:
        """Counts one more hit; 0 when it was within the limit, else the seconds to wait. With
        `fail_open`, an unreachable backend lets the call through (sends are stored while Redis
        is away; a limit is not worth an outage)."""
        try:
            return self.window if await self.hit(key) > self.limit else 0
        except CountersUnavailable:
            if fail_open:
                return 0
            raise

    async def check(
        self, key: str, message: str = "Too many requests; wait {wait} s.", fail_open: bool = False
    ) -> None:
        """Counts one more hit; 429 with Retry-After (and `message`, its {wait} filled) once the key
        is over the limit. `fail_open` as for `take`."""
        wait = await self.take(key, fail_open)
        if wait:
            raise rate_limited(wait, message.format(wait=wait))

    async def take_unless_over(self, key: str) -> int:
        """As `take`, but a refused try is not counted: 0 when allowed (and counted), else the
        seconds to wait."""
        wait = await self.retry_after(key)
        if not wait:
            await self.hit(key)
        return wait

    async def reset(self, key: str) -> None:
        await self.counters.delete(self._key(key))


class SlidingLimit:
    """At most `limit` hits per key within any `window` seconds, counted the sliding way (this
    window's hits plus the last window's, weighed by how much of it still overlaps): after a
    burst, tries come back one by one as the burst ages, instead of all at once after a lockout."""

    def __init__(self, counters, name: str, limit: int, window: int) -> None:
        self.counters = counters
        self.name = name
        self.limit = limit
        self.window = window

    def _keys(self, key: str, now: float) -> tuple[str, str, float]:
        slot, elapsed = divmod(now, self.window)
        return f"limit:{self.name}:{key}:{int(slot)}", f"limit:{self.name}:{key}:{int(slot) - 1}", elapsed

    async def hit(self, key: str, amount: int = 1) -> None:
        current, _, _ = self._keys(key, time.time())
        await self.counters.add(current, amount, 2 * self.window)

    async def retry_after(self, key: str) -> int:
        """Seconds until the key may act again; 0 when it may now."""
        current_key, previous_key, elapsed = self._keys(key, time.time())
        current, previous = await self.counters.get(current_key), await self.counters.get(previous_key)
        window, room = self.window, self.limit - 1  # the hits a new one may join
        # A part of a try counts as a try: a burst that straddles two windows is held to the
        # limit too (its weighed count falls only just below it there).
        if current + previous * (1 - elapsed / window) <= room:
            return 0
        if current <= room:  # this window's share of the last one has to shrink
            return max(1, math.ceil(window * (1 - (room - current) / previous) - elapsed))
        return max(1, math.ceil(window - elapsed + window * max(0.0, 1 - room / current)))

    async def reset(self, key: str) -> None:
        now = time.time()
        for stored in self._keys(key, now)[:2]:
            await self.counters.delete(stored)


@dataclass(frozen=True)
class Limits:
    """The limits one server keeps, from its settings."""

    login_failures_by_username: SlidingLimit  # from addresses that never logged in to the account
    login_failures_by_pair: SlidingLimit  # keyed "<username>|<address>"
    login_failures_by_address: WindowLimit
    password_failures_by_user: WindowLimit
    registrations_by_address: WindowLimit
    token_creations_by_user: WindowLimit
    block_changes_by_user: WindowLimit
    chat_settings_by_user: WindowLimit  # chat settings and message pins
    reactions_by_user: WindowLimit
    previews_by_user: WindowLimit  # link previews fetched for a sender
    sends_by_user: WindowLimit
    uploads_by_user: WindowLimit  # keyed "<user>:create" and "<user>:avatar": two counts
    people_lookups_by_user: WindowLimit  # searching people, reading profiles
    searches_by_user: WindowLimit
    push_changes_by_user: WindowLimit
    metrics_token_failures: WindowLimit  # wrong /metrics tokens per address, counted like wrong passwords
    key_publishing_by_user: WindowLimit  # device lists, bundles, one-time prekey batches
    key_requests_by_user: WindowLimit  # reading others' keys and claiming their prekeys
    key_links_by_user: WindowLimit  # device link requests started
    key_link_calls_by_user: WindowLimit  # every call on the link relay
    call_invites_by_user: WindowLimit
    ice_requests_by_user: WindowLimit  # TURN credentials asked for

    @classmethod
    def from_settings(cls, settings, counters) -> Limits:
        return cls(
            login_failures_by_username=SlidingLimit(counters, "login-user", settings.login_failures_per_username, 300),
            login_failures_by_pair=SlidingLimit(
                counters, "login-pair", settings.login_failures_per_username_and_address, 300
            ),
            login_failures_by_address=WindowLimit(counters, "login-address", settings.login_failures_per_address, 600),
            password_failures_by_user=WindowLimit(counters, "password", 5, 900),
            registrations_by_address=WindowLimit(counters, "register", settings.registrations_per_hour, 3600),
            token_creations_by_user=WindowLimit(counters, "tokens", 30, 3600),
            block_changes_by_user=WindowLimit(counters, "blocks", 100, 3600),
            chat_settings_by_user=WindowLimit(counters, "chat-settings", CHAT_SETTINGS_PER_MINUTE, 60),
            reactions_by_user=WindowLimit(counters, "reactions", REACTIONS_PER_MINUTE, 60),
            previews_by_user=WindowLimit(counters, "previews", PREVIEWS_PER_MINUTE, 60),
            sends_by_user=WindowLimit(counters, "sends", settings.sends_per_minute, 60),
            uploads_by_user=WindowLimit(counters, "upload", settings.media.uploads_per_minute, 60),
            people_lookups_by_user=WindowLimit(counters, "people", 120, 60),
            searches_by_user=WindowLimit(counters, "search", 120, 60),
            push_changes_by_user=WindowLimit(counters, "push", 30, 300),
            metrics_token_failures=WindowLimit(counters, "metrics-token", 10, 300),
            key_publishing_by_user=WindowLimit(counters, "key-publish", 300, 3600),
            key_requests_by_user=WindowLimit(counters, "key-requests", settings.key_requests_per_hour, 3600),
            key_links_by_user=WindowLimit(counters, "key-links", KEY_LINKS_PER_HOUR, 3600),
            key_link_calls_by_user=WindowLimit(counters, "key-link-calls", KEY_LINK_CALLS_PER_MINUTE, 60),
            call_invites_by_user=WindowLimit(counters, "call", settings.calls.invites_per_minute, 60),
            ice_requests_by_user=WindowLimit(counters, "ice", 6 * settings.calls.invites_per_minute, 60),
        )


HOST_MAX = 64
NOT_IN_A_HOST = re.compile(r"[^0-9A-Za-z.:_\-\[\]]")


def client_host(connection: HTTPConnection) -> str:
    """The client's address, as stored with its session: uvicorn has already replaced a trusted
    proxy's address with the right-most untrusted one it forwarded, which is any text the client
    put in X-Forwarded-For; what is not an address is cut to 64 characters of a host name."""
    return clean_host(connection.client.host if connection.client else "")


def clean_host(host: str) -> str:
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        return NOT_IN_A_HOST.sub("", host[: HOST_MAX * 4])[:HOST_MAX]


def client_address(connection: HTTPConnection) -> str:
    """The client's address as limits count it."""
    return counted_address(client_host(connection))


def counted_address(host: str) -> str:
    """An address as limits count it: IPv6 by /64, the block one subscriber usually holds."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return clean_host(host)
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


async def refuse(wait: int, message: str) -> ApiError:
    await asyncio.sleep(REFUSAL_PAUSE_SECONDS)
    return rate_limited(wait, message)
