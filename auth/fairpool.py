"""A thread pool for slow, CPU-bound checks (bcrypt) that shares its threads fairly.

Waiting work is served lightest first: each key (a client address, an account) carries a usage
that grows with every request, and more with every failure its caller reports (a wrong
password), and halves every minute; a request weighs the sum of its keys' usages. An address -
or a crowd of them - guessing passwords queues behind everyone who asks rarely and gets their
password right. When the queue is full, a newcomer lighter than the heaviest waiter takes that
waiter's place, and the waiter is refused.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

MAX_KEYS = 100_000


class Busy(Exception):
    """Too much work is waiting; the caller should answer 429."""


def _lower_priority(nice: int) -> None:
    """Makes the calling thread yield the CPU to others (Linux: a thread's own nice value)."""
    try:
        own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, own + nice))
    except (AttributeError, OSError):
        pass  # no per-thread priorities here: the work runs at the process's priority


class FairPool:
    def __init__(
        self,
        threads: int,
        max_waiting: int,
        max_waiting_per_key: int = 4,
        half_life: float = 60.0,
        nice: int = 0,
    ):
        """`nice` lowers the threads' CPU priority, so that what they do waits for the event
        loop's thread (and everything else on the machine) when a core is contended."""
        self.threads = threads
        self.max_waiting = max_waiting
        self.max_waiting_per_key = max_waiting_per_key
        self.half_life = half_life
        self._executor = ThreadPoolExecutor(
            max_workers=threads,
            thread_name_prefix="fairpool",
            initializer=functools.partial(_lower_priority, nice) if nice else None,
        )
        self._free = threads
        self._waiting: list[list] = []  # heap of [usage, order, key, future]
        self._waiting_by_key: dict[str, int] = {}
        self._usage: dict[str, tuple[float, float]] = {}  # key -> (usage, when)
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def usage(self, key: str, now: float | None = None) -> float:
        value, when = self._usage.get(key, (0.0, 0.0))
        now = time.monotonic() if now is None else now
        return value * math.pow(0.5, (now - when) / self.half_life) if value else 0.0

    def add_usage(self, key: str, amount: float = 1.0) -> float:
        now = time.monotonic()
        value = self.usage(key, now) + amount
        self._usage.pop(key, None)
        if len(self._usage) >= MAX_KEYS:
            del self._usage[next(iter(self._usage))]
        self._usage[key] = (value, now)
        return value

    async def run(self, keys: tuple[str, ...], function, *args):
        """Runs function(*args) on a thread when its turn comes; keys[0] is the one whose
        waiting requests are capped."""
        await self._turn(keys)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)
        finally:
            self._release()

    async def _turn(self, keys: tuple[str, ...]) -> None:
        usage = sum(self.add_usage(key) for key in keys)
        key = keys[0]
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        if self._waiting_by_key.get(key, 0) >= self.max_waiting_per_key:
            raise Busy()
        if len(self._waiting) >= self.max_waiting:
            heaviest = max(self._waiting)
            if heaviest[0] <= usage:
                raise Busy()
            self._waiting.remove(heaviest)
            heapq.heapify(self._waiting)
            self._forget(heaviest[2])
            heaviest[3].set_exception(Busy())
        future = asyncio.get_running_loop().create_future()
        entry = [usage, next(self._order), key, future]
        heapq.heappush(self._waiting, entry)
        self._waiting_by_key[key] = self._waiting_by_key.get(key, 0) + 1
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.exception() is None:
                self._release()  # the turn was handed over just as the caller went away
            elif entry in self._waiting:
                self._waiting.remove(entry)
                heapq.heapify(self._waiting)
                self._forget(key)
            raise

    def _forget(self, key: str) -> None:
        left = self._waiting_by_key.get(key, 0) - 1
        if left > 0:
            self._waiting_by_key[key] = left
        else:
            self._waiting_by_key.pop(key, None)

    def _release(self) -> None:
        while self._waiting:
            _usage, _order, key, future = heapq.heappop(self._waiting)
            self._forget(key)
            if not future.done():
                future.set_result(None)  # this thread's turn passes to the lightest waiter
                return
        self._free += 1
