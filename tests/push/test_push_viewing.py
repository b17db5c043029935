"""Views counted for every instance: this instance's own exactly, the others' through the shared
backend in time buckets that lapse, so a view of an instance that died stops counting."""

from __future__ import annotations

import pytest

from counters.memory import MemoryCounters
from push import viewing
from push.viewing import Viewing


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(1_000_000 * viewing.BUCKET_SECONDS + 100)
    monkeypatch.setattr(viewing.time, "time", clock.time)
    return clock


async def test_a_view_here_counts_at_once_in_any_case_of_the_name(clock):
    here = Viewing(MemoryCounters())
    await here.set(1, "phone", "Sara")
    assert await here.is_viewing(1, "sara")
    assert not await here.is_viewing(1, "omid")
    assert not await here.is_viewing(2, "sara")
    await here.set(1, "phone", None)
    assert not await here.is_viewing(1, "sara")


async def test_a_view_on_another_instance_counts_through_the_shared_backend(clock):
    shared = MemoryCounters()
    first, second = Viewing(shared), Viewing(shared)
    await first.set(1, "phone", "sara")
    assert await second.is_viewing(1, "sara")
    await first.set(1, "phone", "leila")  # another chat now
    assert not await second.is_viewing(1, "sara")
    assert await second.is_viewing(1, "leila")
    await first.forget(1, "phone")  # the connection closed
    assert not await second.is_viewing(1, "leila")


async def test_two_devices_viewing_one_chat_count_until_both_stop(clock):
    shared = MemoryCounters()
    first, second = Viewing(shared), Viewing(shared)
    await first.set(1, "phone", "sara")
    await first.set(1, "laptop", "sara")
    await first.forget(1, "phone")
    assert await second.is_viewing(1, "sara")
    await first.forget(1, "laptop")
    assert not await second.is_viewing(1, "sara")


async def test_a_view_of_an_instance_that_died_lapses_with_its_bucket(clock):
    shared = MemoryCounters()
    died, alive = Viewing(shared), Viewing(shared)
    await died.set(1, "phone", "sara")
    clock.now += viewing.BUCKET_SECONDS  # the next bucket, within its grace
    clock.now -= clock.now % viewing.BUCKET_SECONDS - 1
    assert await alive.is_viewing(1, "sara")
    clock.now += viewing.GRACE_SECONDS  # nobody counted it again
    assert not await alive.is_viewing(1, "sara")


async def test_a_lasting_view_is_counted_again_in_each_new_bucket(clock, monkeypatch):
    shared = MemoryCounters()
    holder, other = Viewing(shared), Viewing(shared)
    await holder.set(1, "phone", "sara")
    clock.now += viewing.BUCKET_SECONDS
    sleeps = []

    async def one_tick(seconds):
        sleeps.append(seconds)
        if len(sleeps) > 1:
            raise RuntimeError("stop")

    monkeypatch.setattr(viewing.asyncio, "sleep", one_tick)
    with pytest.raises(RuntimeError):
        await holder._refresh()
    clock.now += viewing.GRACE_SECONDS + 1
    assert await other.is_viewing(1, "sara")
    await holder.forget(1, "phone")
    assert not await other.is_viewing(1, "sara")


class CountingCounters(MemoryCounters):
    def __init__(self) -> None:
        super().__init__()
        self.adds = 0

    async def add(self, key: str, amount: int, ttl_seconds: int) -> int:
        self.adds += 1
        return await super().add(key, amount, ttl_seconds)


async def test_the_same_view_again_costs_the_shared_backend_nothing(clock):
    shared = CountingCounters()
    first, second = Viewing(shared), Viewing(shared)
    for _ in range(3):
        await first.set(1, "phone", "Sara")
    assert shared.adds == 1
    await first.forget(1, "phone")
    assert not await second.is_viewing(1, "sara")
