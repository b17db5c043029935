"""Counted limits on actions (upload creations, profile photo changes): at most `limit` per
user in a window. Counted in the broadcaster's backend, so the limit holds across instances."""

from __future__ import annotations


class CountLimiter:
    def __init__(self, backend, name: str, limit: int, window: int) -> None:
        self.backend = backend
        self.name = name
        self.limit = limit
        self.window = window

    def _key(self, key: str) -> str:
        return f"{self.name}:{key}"

    async def take(self, key: str) -> int:
        """Counts one action; 0 when it is allowed, else the seconds to wait (it is not counted)."""
        if await self.backend.get(self._key(key)) >= self.limit:
            return self.window
        await self.backend.add(self._key(key), 1, self.window)
        return 0
