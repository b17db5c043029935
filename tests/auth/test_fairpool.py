"""The password-check pool shares its threads: the lightest address is served first, and a
full queue makes room for a light newcomer by refusing the heaviest waiter."""

from __future__ import annotations

import asyncio
import threading

import pytest

from auth.fairpool import Busy, FairPool


async def test_waiting_work_is_served_lightest_first_and_a_full_queue_refuses_the_heaviest():
    pool = FairPool(threads=1, max_waiting=3)
    gate = threading.Event()
    order: list[str] = []
    pool.add_usage("heavy", 50)
    pool.add_usage("middle", 10)
    blocker = asyncio.create_task(pool.run(("first",), gate.wait))
    await asyncio.sleep(0.05)
    heavy = [asyncio.create_task(pool.run(("heavy",), order.append, f"heavy{n}")) for n in range(2)]
    middle = asyncio.create_task(pool.run(("middle",), order.append, "middle"))
    await asyncio.sleep(0.05)
    assert pool.waiting == 3
    light = asyncio.create_task(pool.run(("light",), order.append, "light"))
    await asyncio.sleep(0.05)
    gate.set()
    await asyncio.gather(blocker, light, middle)
    outcomes = await asyncio.gather(*heavy, return_exceptions=True)
    assert order[:2] == ["light", "middle"]
    assert sum(isinstance(outcome, Busy) for outcome in outcomes) == 1, "one heavy waiter made room"
    assert pool.waiting == 0


async def test_one_key_may_not_queue_more_than_its_share():
    pool = FairPool(threads=1, max_waiting=100, max_waiting_per_key=2)
    gate = threading.Event()
    running = asyncio.create_task(pool.run(("a",), gate.wait))
    await asyncio.sleep(0.05)
    queued = [asyncio.create_task(pool.run(("a",), lambda: None)) for _ in range(2)]
    await asyncio.sleep(0.05)
    with pytest.raises(Busy):
        await pool.run(("a",), lambda: None)
    gate.set()
    await asyncio.gather(running, *queued)


async def test_a_waiter_that_goes_away_gives_its_turn_back():
    pool = FairPool(threads=1, max_waiting=10)
    gate = threading.Event()
    running = asyncio.create_task(pool.run(("a",), gate.wait))
    await asyncio.sleep(0.05)
    leaving = asyncio.create_task(pool.run(("b",), lambda: "never"))
    await asyncio.sleep(0.05)
    leaving.cancel()
    gate.set()
    await running
    assert await asyncio.wait_for(pool.run(("c",), lambda: "served"), 5) == "served"


def _own_nice() -> int:
    import os

    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def test_a_nice_pool_runs_its_work_at_a_lower_cpu_priority_than_the_event_loop():
    from auth import passwords

    loop_nice = _own_nice()
    nice_pool, plain_pool = FairPool(threads=1, max_waiting=2, nice=5), FairPool(threads=1, max_waiting=2)
    assert await nice_pool.run(("a",), _own_nice) == min(19, loop_nice + 5)
    assert await plain_pool.run(("a",), _own_nice) == loop_nice
    assert _own_nice() == loop_nice, "the event loop's thread keeps its priority"
    assert passwords._bcrypt_pool._executor._initializer is not None, "password hashing runs nice"
