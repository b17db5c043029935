"""9 — scale-out: one instance on PostgreSQL + Redis, then two (users spread over both).

Beside scenario 2 (one process on SQLite) and 8 (one on PostgreSQL with the in-process
broadcaster): what the Redis broadcaster costs per message, and what a second instance buys.
"""

from __future__ import annotations

from bench import scaleout
from bench.context import Bench

KEY = "9"
IN_SMOKE = False  # needs PostgreSQL and Redis: `--smoke --only 9,10`
TITLE = "scale-out: one and two instances on PostgreSQL + Redis"


def run(b: Bench) -> None:
    why = scaleout.missing()
    if why:
        print(f"  skipped: {why}", flush=True)
        b.table.add("9 scale-out", "two instances on PostgreSQL + Redis", f"skipped: {why}")
        return
    if b.p["scale_out_baseline"]:  # what the Redis broadcaster costs one instance (not in the smoke)
        one = scaleout.chat(b, "pg-redis-1", instances=1)
        scaleout.rows(b, "9 PG+Redis, 1 instance", one)
    two = scaleout.chat(b, "pg-redis-2", instances=2)
    scaleout.rows(b, "9 PG+Redis, 2 instances", two)
