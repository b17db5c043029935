"""Counters for /metrics: plain integers bumped where things happen, read when scraped."""

from __future__ import annotations


class Counts:
    def __init__(self) -> None:
        self.http_responses: dict[str, int] = {"2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0}
        self.server_errors: dict[int, int] = {}  # 5xx status -> count
        self.websocket_sessions = 0

    def http_response(self, status: int) -> None:
        key = f"{min(max(status // 100, 2), 5)}xx"
        self.http_responses[key] += 1
        if status >= 500:
            self.server_errors[status] = self.server_errors.get(status, 0) + 1


COUNTS = Counts()
