"""10 — scale-out inside one instance: `WEB_CONCURRENCY=2` (two worker processes on one port)."""

from __future__ import annotations

from bench import scaleout
from bench.context import Bench

KEY = "10"
IN_SMOKE = False  # needs PostgreSQL and Redis: `--smoke --only 9,10`
TITLE = "scale-out: WEB_CONCURRENCY=2 on PostgreSQL + Redis"


def run(b: Bench) -> None:
    why = scaleout.missing()
    if why:
        print(f"  skipped: {why}", flush=True)
        b.table.add("10 WEB_CONCURRENCY=2", "two workers on PostgreSQL + Redis", f"skipped: {why}")
        return
    res = scaleout.chat(b, "pg-redis-wc2", web_concurrency=2)
    scaleout.rows(b, "10 WEB_CONCURRENCY=2", res)
