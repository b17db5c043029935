"""Failed-login limits: a few wrong passwords per username and address, then a pause.

Counted in the broadcaster's backend, so the limit holds across instances when they share
Redis (and in this process's memory otherwise)."""

from __future__ import annotations

WINDOW_SECONDS = 300
MAX_FAILURES = 10


class FailureLimiter:
    def __init__(self, backend, max_failures: int = MAX_FAILURES, window: int = WINDOW_SECONDS) -> None:
        self.backend = backend
        self.max_failures = max_failures
        self.window = window

    @staticmethod
    def _key(key: tuple[str, str]) -> str:
        return "login:" + "|".join(key)

    async def retry_after(self, key: tuple[str, str]) -> int:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        if await self.backend.get(self._key(key)) < self.max_failures:
            return 0
        return self.window

    async def failed(self, key: tuple[str, str]) -> None:
        await self.backend.add(self._key(key), 1, self.window)

    async def succeeded(self, key: tuple[str, str]) -> None:
        await self.backend.delete(self._key(key))
