"""3 — steady load: 1 000 msg/s open loop over 100 pairs; then 6 (the login storm) on the same server;
then the same load end-to-end encrypted on a server of its own (keys published, envelopes sent).

The storm's figure is a ratio to this scenario's quiet p99, so the two run together: `--only 3`
and `--only 6` both run this module.
"""

from __future__ import annotations

from bench import loader
from bench.context import Bench
from bench.scenarios import login_storm
from bench.scenarios.chat import prepare, profile_during
from bench.users import fresh_users

KEY = "3"
ALSO = ("6",)
TITLE = "steady load, then the login storm (6), then the steady load encrypted"


def run(b: Bench) -> None:
    p = b.p
    pairs = p["steady_pairs"]
    n = pairs * 2
    d = b.tmp / "steady"
    fresh_users(d, n)
    names = [loader.username(i) for i in range(1, n + 1)]
    per_sender = p["steady_rate"] / pairs
    with b.server("steady", keep=True) as srv:
        groups, _ = prepare(b, srv, names, pairs, 0, 0, encrypted=False)
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
    enc = encrypted(b, names, pairs, per_sender)
    t = b.table
    q, e = quiet["deliver"], enc["deliver"]
    t.add(
        "3 steady",
        "offered / achieved rate (plaintext / encrypted)",
        f"{p['steady_rate']:,} / {quiet['rate']:,.0f} / {enc['rate']:,.0f}",
        "msg/s",
    )
    for label, key, limit in (("p50", "p50", 3), ("p99", "p99", 15)):
        t.add(
            "3 steady",
            f"send → recipient {label} (plaintext / encrypted)",
            f"{q[key] or 0:.2f} / {e[key] or 0:.2f}",
            "ms",
            target=f"≤ {limit}",
            met=all(d[key] is not None and d[key] <= limit for d in (q, e)),
        )
    t.add(
        "3 steady",
        "server CPU (plaintext / encrypted)",
        f"{quiet['server']['cpu_pct'] or 0:.0f} / {enc['server']['cpu_pct'] or 0:.0f}",
        "%",
    )
    t.add(
        "3 steady",
        "encrypted: acked messages stored exactly once, arrived live",
        f"{enc['stored']['acked']:,} acked, {enc['stored']['rows']:,} rows; live {'yes' if enc['live_ok'] else 'NO'}",
        target="all",
        met=enc["stored"]["ok"] and enc["live_ok"],
    )
    login_storm.report(b, quiet, storm, logins)


def encrypted(b: Bench, names: list[str], pairs: int, per_sender: float) -> dict:
    """The steady load again, end-to-end encrypted, on a fresh server and database."""
    p = b.p
    fresh_users(b.tmp / "steady-e2ee", len(names))
    with b.server("steady-e2ee", keep=True) as srv:
        groups, _ = prepare(b, srv, names, pairs, 0, 0, encrypted=True)
        res = b.run_chat(
            srv, groups, workers=1, duration=p["steady_duration"], warmup=0.5, rate=per_sender, label="steady-e2ee"
        )
    res["stored"] = b.check_stored("steady-e2ee", srv, res.pop("_acked_rows"))
    b.data["scenarios"]["3_steady_e2ee"] = res
    return res
