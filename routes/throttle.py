"""Per-user rate limits for calls that cost the server work: a count per user and time window,
kept in the broadcaster's backend so the limit holds across instances sharing Redis (and in
this process's memory otherwise), as the failed-login limit is."""

from __future__ import annotations

from routes.responses import ApiError


class Throttle:
    def __init__(self, name: str, limit: int, window_seconds: int) -> None:
        self.name = name
        self.limit = limit
        self.window = window_seconds

    async def check(self, app_state, user_id: int) -> None:
        """Counts one call; 429 with Retry-After once the user made `limit` in this window."""
        count = await app_state.broadcaster.backend.add(f"{self.name}:{user_id}", 1, self.window)
        if count > self.limit:
            raise ApiError(
                429, "rate_limited", "Too many requests; try again shortly.", headers={"Retry-After": str(self.window)}
            )
