"""Image decoding, bounded: a decoded photo holds up to 4 bytes for each of its pixels (128 MB at
the 32-megapixel cap), so a burst of big photos must queue, not decode all at once."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from concurrent.futures import ThreadPoolExecutor


def _c_library():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_LIBC = _c_library()


def _return_memory() -> None:
    """Hands freed heap back to the system (glibc): after a big decode the process would otherwise
    keep its peak size for good."""
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


class Decodes:
    """At most `slots` decodes at once on threads of their own; the others wait their turn in
    order. A waiter whose request goes away leaves the queue without decoding."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._executor = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="images")

    async def run(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, function, args)

    @staticmethod
    def _call(function, args):
        try:
            return function(*args)
        finally:
            _return_memory()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
