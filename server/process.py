"""What the process tunes for itself at start: its open-files limit (every connection is one) and
the garbage collector (nothing made at start is walked again)."""

from __future__ import annotations

import gc
import logging

# Below this many open files the server says, at start, how many connections it can hold.
ENOUGH_DESCRIPTORS = 65_536


def raise_descriptor_limit() -> None:
    """Every connection is a descriptor: take the most the system allows, and say in one line
    when that caps the connections this process can hold."""
    log = logging.getLogger("payambar")
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError) as error:
        log.warning("cannot raise the open-files limit (%s): connections are capped by it", error)
        return
    if hard != resource.RLIM_INFINITY and hard < ENOUGH_DESCRIPTORS:
        log.info(
            "open-files limit %d (the hard limit): at most about %d connections; raise it with"
            " `ulimit -Hn`, systemd's LimitNOFILE or docker's --ulimit nofile to hold more",
            hard,
            hard - 100,
        )


# Objects allocated and still alive before the first collection of the youngest generation.
# Python's 700 collects every few messages; most of what a message makes dies by reference
# counting long before 10 000, and fewer survivors reach the older generations.
GC_FIRST_GENERATION = 10_000


def settle_garbage_collector() -> None:
    """What exists once the app has started (modules, routes, the store) lives as long as the
    process: frozen, the collector never walks it again. A full walk of it took 40–120 ms here,
    a pause that every message waiting at that moment shared (the steady load's p99)."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_FIRST_GENERATION, middle, oldest)
