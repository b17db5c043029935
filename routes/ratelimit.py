"""Failed-login limits: a few wrong passwords per username and address, then a pause."""

from __future__ import annotations

import time
from collections import deque

WINDOW_SECONDS = 300
MAX_FAILURES = 10


class FailureLimiter:
    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        cutoff = time.monotonic() - self.window
        while failures and failures[0] < cutoff:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def retry_after(self, key: tuple[str, str]) -> int:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        failures = self._recent(key)
        if len(failures) < self.max_failures:
            return 0
        return max(1, int(failures[0] + self.window - time.monotonic()) + 1)

    def failed(self, key: tuple[str, str]) -> None:
        if len(self._failures) > 100_000:
            self._failures.clear()
        self._failures.setdefault(key, deque()).append(time.monotonic())

    def succeeded(self, key: tuple[str, str]) -> None:
        self._failures.pop(key, None)
