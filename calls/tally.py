"""Call counters for /metrics: no content, no names, only how calls went."""

from __future__ import annotations

SETUP_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0)  # seconds from invite to media flowing


class Tally:
    def __init__(self) -> None:
        self.started = 0
        self.answered = 0
        self.outcomes: dict[str, int] = {}
        self.media_connected = 0
        self.relayed = 0
        self.setup_counts = [0] * len(SETUP_BUCKETS)
        self.setup_sum = 0.0

    @property
    def failed(self) -> int:
        return self.outcomes.get("failed", 0)

    def ended(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def connected(self, setup_seconds: float, relayed: bool) -> None:
        self.media_connected += 1
        self.relayed += int(relayed)
        self.setup_sum += setup_seconds
        for index, bound in enumerate(SETUP_BUCKETS):
            if setup_seconds <= bound:
                self.setup_counts[index] += 1

    def setup_histogram(self) -> list[tuple[str, float]]:
        samples = [
            (f'_bucket{{le="{bound}"}}', count) for bound, count in zip(SETUP_BUCKETS, self.setup_counts, strict=True)
        ]
        return samples + [
            ('_bucket{le="+Inf"}', self.media_connected),
            ("_sum", round(self.setup_sum, 3)),
            ("_count", self.media_connected),
        ]
