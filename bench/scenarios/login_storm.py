"""6 — the login storm: scenario 3's chat load again while a separate process logs in at 20/s.

Accounts are registered over HTTP, so every login is a bcrypt check at the server's own cost.
Run from `steady.py` on its server (the figure is chat p99 during the storm ÷ quiet p99).
"""

from __future__ import annotations

import asyncio
import time

from bench.context import Bench
from bench.proc import Server
from bench.report import dist, samples
from bench.users import register_all
from bench.workers import Workers

KEY = "6"
TITLE = "login storm"
PASSWORD = "storm-password-1"


def during(b: Bench, srv: Server, groups: list[dict], per_sender: float) -> tuple[dict, dict]:
    """Scenario 3's load on `srv` while logins arrive at a fixed rate: (chat result, login result)."""
    p = b.p
    storm_names = [f"storm{i}" for i in range(p["storm_users"])]
    t_reg = time.monotonic()
    asyncio.run(register_all(srv.base, storm_names, PASSWORD))
    reg_s = time.monotonic() - t_reg
    login = Workers(
        "login",
        [
            {
                "base": srv.base,
                "rate": p["storm_rate"],
                "users": [{"username": x, "password": PASSWORD} for x in storm_names],
            }
        ],
    )
    try:
        login.expect("ready", 30)
        storm = b.run_chat(
            srv,
            groups,
            workers=1,
            duration=p["steady_duration"],
            warmup=0.5,
            rate=per_sender,
            label="storm",
            extra=login,
        )
        lg = login.expect("done", p["steady_duration"] + 60)[0]
    finally:
        login.close()
    storm["logins"] = {
        "attempts": lg["attempts"],
        "status": lg["status"],
        "latency": dist(samples([lg["lat"]])),
        "ok_per_s": lg["status"].get(200, 0) / (lg["t_end"] - lg["t_start"]),
        "errors": lg["errors"],
        "register_s_each": reg_s / max(1, len(storm_names)),
    }
    return storm, lg


def report(b: Bench, quiet: dict, storm: dict, lg: dict) -> None:
    p = b.p
    b.data["scenarios"]["6_storm"] = storm
    t = b.table
    q, s = quiet["deliver"], storm["deliver"]
    t.add(
        "6 storm",
        "logins offered / answered 200 per s",
        f"{p['storm_rate']:.0f} / {storm['logins']['ok_per_s']:.1f}",
        "/s",
    )
    t.add(
        "6 storm",
        "login latency p50 / p99",
        f"{storm['logins']['latency']['p50'] or 0:,.0f} / {storm['logins']['latency']['p99'] or 0:,.0f}",
        "ms",
    )
    ok = s["p99"] is not None and q["p99"] is not None and s["p99"] <= 2 * q["p99"]
    t.add(
        "6 storm",
        "chat p50 / p99 during the storm",
        f"{s['p50']:.2f} / {s['p99']:.2f}",
        "ms",
        target="p99 ≤ 2 × quiet p99",
        met=ok,
    )
    t.add("6 storm", "storm p99 / quiet p99", (s["p99"] or 0) / (q["p99"] or 1), "×", fmt="{:.1f}")
    if lg["errors"]["count"]:
        print(f"  storm login errors: {lg['errors']}", flush=True)
