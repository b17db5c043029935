"""7 — catch-up: A sends N messages while B is away; B reconnects with its cursor.

Measures the time from connect until the update at `ready.cursor` arrives, and checks that
every update arrives in order, with no gap and no repeat.
"""

from __future__ import annotations

from bench import loader
from bench.context import Bench
from bench.users import fresh_users, login_all
from bench.workers import Workers

KEY = "7"
TITLE = "catch-up"


def run(b: Bench) -> None:
    n = b.p["catchup_n"]
    d = b.tmp / "catchup"
    fresh_users(d, 2)
    alice, bob = loader.username(1), loader.username(2)
    with b.server("catchup", keep=True) as srv:
        tokens = login_all(srv, [alice, bob])
        w = Workers(
            "catchup",
            [
                {
                    "url": srv.ws_url,
                    "n": n,
                    "batch": not b.args.no_batch,
                    "a": {"username": alice, "token": tokens[alice]},
                    "b": {"username": bob, "token": tokens[bob]},
                }
            ],
        )
        try:
            ready = w.expect("ready", 300)[0]
            w.send("go", {})
            res = w.expect("done", 120)[0]
        finally:
            w.close()
    if "error" in res:
        b.fail(f"catch-up: {res}")
        b.table.add("7 catch-up", f"time until current after {n:,} missed updates", None, target="≤ 1 s", met=False)
        return
    acked = res.pop("acked")
    check = b.check_stored("catch-up", srv, acked)
    res.update({"fill_s": ready["fill_s"], "stored": check})
    b.data["scenarios"]["7_catchup"] = res
    ok = res["in_order"] and res["dups"] == 0 and res["updates"] == res["expected"] and res["messages"] >= n
    if not ok:
        b.fail(f"catch-up not exactly once in order: {res}")
    t = b.table
    t.add(
        "7 catch-up",
        f"time until current after {n:,} missed updates",
        res["current_s"],
        "s",
        target="≤ 1 s",
        met=res["current_s"] <= 1.0,
        fmt="{:.2f}",
    )
    t.add(
        "7 catch-up",
        "updates received in order, no gap, no repeat",
        f"{res['updates']:,} / {res['expected']:,}",
        target="all",
        met=ok,
    )
    t.add("7 catch-up", "(filling: sends acked per s over one socket)", n / ready["fill_s"], "msg/s", fmt="{:,.0f}")
