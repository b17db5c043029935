"""The sliding limit: at most `limit` hits within any window, wherever the windows' edges fall."""

from __future__ import annotations

import pytest

from auth import limits
from auth.limits import SlidingLimit
from counters.memory import MemoryCounters


@pytest.fixture
def clock(monkeypatch):
    now = [3000.0]
    monkeypatch.setattr(limits.time, "time", lambda: now[0])
    return now


async def test_a_burst_across_the_edge_of_two_windows_is_held_to_the_limit(clock):
    limit = SlidingLimit(MemoryCounters(), "t", 10, 300)
    clock[0] = 3000.0 - 2.5  # five hits just before an edge, five just after
    for _ in range(5):
        assert await limit.retry_after("k") == 0
        await limit.hit("k")
        clock[0] += 1
    for _ in range(5):
        assert await limit.retry_after("k") == 0
        await limit.hit("k")
        clock[0] += 0.1
    assert await limit.retry_after("k") > 0


async def test_tries_come_back_one_by_one_as_a_burst_ages(clock):
    limit = SlidingLimit(MemoryCounters(), "t", 10, 300)
    for _ in range(10):
        await limit.hit("k")
    wait = await limit.retry_after("k")
    assert 0 < wait <= 330
    clock[0] += wait
    assert await limit.retry_after("k") == 0
    await limit.hit("k")
    assert await limit.retry_after("k") > 0
