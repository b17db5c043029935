"""3 — steady load: 1 000 msg/s open loop over 100 pairs; then 6 (the login storm) on the same server.

The storm's figure is a ratio to this scenario's quiet p99, so the two run together: `--only 3`
and `--only 6` both run this module.
"""

from __future__ import annotations

from bench import loader
from bench.context import Bench
from bench.scenarios import login_storm
from bench.scenarios.chat import profile_during
from bench.users import fresh_users, login_all

KEY = "3"
ALSO = ("6",)
TITLE = "steady load, then the login storm (6)"


def run(b: Bench) -> None:
    p = b.p
    pairs = p["steady_pairs"]
    n = pairs * 2
    d = b.tmp / "steady"
    fresh_users(d, n)
    names = [loader.username(i) for i in range(1, n + 1)]
    per_sender = p["steady_rate"] / pairs
    with b.server("steady", keep=True) as srv:
        tokens = login_all(srv, names)
        groups = b.chat_groups(names, tokens, pairs, 0, 0)
        if b.args.profile:
            profile_during(b, srv, p["steady_duration"], "steady")
        quiet = b.run_chat(
            srv, groups, workers=1, duration=p["steady_duration"], warmup=0.5, rate=per_sender, label="steady"
        )
        storm, logins = login_storm.during(b, srv, groups, per_sender)
    acked = quiet.pop("_acked_rows") + storm.pop("_acked_rows")
    check = b.check_stored("steady+storm", srv, acked)
    b.data["scenarios"]["3_steady"] = quiet
    b.data["scenarios"]["3_6_stored"] = check
    t = b.table
    q = quiet["deliver"]
    t.add("3 steady", "offered / achieved rate", f"{p['steady_rate']:,} / {quiet['rate']:,.0f}", "msg/s")
    t.add(
        "3 steady",
        "send → recipient p50",
        q["p50"],
        "ms",
        target="≤ 3",
        met=q["p50"] is not None and q["p50"] <= 3,
        fmt="{:.2f}",
    )
    t.add(
        "3 steady",
        "send → recipient p99",
        q["p99"],
        "ms",
        target="≤ 15",
        met=q["p99"] is not None and q["p99"] <= 15,
        fmt="{:.2f}",
    )
    t.add("3 steady", "server CPU", quiet["server"]["cpu_pct"], "%", fmt="{:.0f}")
    login_storm.report(b, quiet, storm, logins)
