"""Times on the wire: ISO 8601 in UTC with milliseconds, the same string Python's datetime gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from wire.protocol import iso


def _expected(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def test_iso_matches_datetime_on_edges_and_random_times():
    edges = [0, 999, 1000, 86_399_999, 86_400_000, 951_782_400_000 + 86_399_999, 1_764_107_000_123, 253_402_300_799_999]
    rnd = random.Random(11)
    for ms in edges + [rnd.randrange(0, 4 * 10**12) for _ in range(20_000)]:
        assert iso(ms) == _expected(ms), ms
    assert iso(None) is None
