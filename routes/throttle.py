"""Per-user rate limits for calls that cost the server work: a token bucket per user.

A burst of `burst` calls is always allowed; beyond it, one call per 1/`rate` seconds. Normal use
(typing a search, a page of results) stays far inside it.
"""

from __future__ import annotations

import math
import time

from routes.responses import ApiError

MAX_KEYS = 100_000


class Throttle:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[object, tuple[float, float]] = {}  # key -> (tokens, when counted)

    def wait(self, key: object) -> float:
        """Takes one call from the key's bucket; 0 when allowed, else the seconds to wait."""
        now = time.monotonic()
        tokens, then = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate
        if len(self._buckets) >= MAX_KEYS:
            self._buckets.clear()
        self._buckets[key] = (tokens - 1, now)
        return 0.0

    def check(self, key: object) -> None:
        """Raises 429 with Retry-After when the key has used up its calls."""
        wait = self.wait(key)
        if wait:
            raise ApiError(
                429, "rate_limited", "Too many requests; try again shortly.",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )  # fmt: skip
