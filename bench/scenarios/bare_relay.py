"""1 — the bare relay baseline: `bench/relay.py` (the same frames, no database) driven like scenario 2."""

from __future__ import annotations

from bench.context import Bench

KEY = "1"
TITLE = "bare relay baseline"


def run(b: Bench) -> None:
    p = b.p
    n = p["chat_pairs"] * 2 + p["chat_fans"] * (1 + p["fan_k"])
    names = [f"r{i}" for i in range(n)]
    with b.server("relay", app="bench.relay:app") as srv:
        res = b.run_chat(
            srv,
            b.chat_groups(names, {x: x for x in names}, p["chat_pairs"], p["chat_fans"], p["fan_k"]),
            workers=p["chat_workers"],
            duration=p["chat_duration"],
            warmup=p["chat_warmup"],
            label="relay",
        )
    res.pop("_acked_rows")
    b.relay_rate = res["rate"]
    b.data["scenarios"]["1_relay"] = res
    t = b.table
    t.add("1 relay", "messages/s (bare relay, no database)", res["rate"], "msg/s", ratio=1.0, fmt="{:,.0f}")
    t.add("1 relay", "send → recipient p50 / p99", f"{res['deliver']['p50']:.1f} / {res['deliver']['p99']:.1f}", "ms")
    t.add("1 relay", "server CPU per message (1 core ÷ this = capacity)", res["server_us_per_msg"], "µs")
    t.add("1 relay", "generator CPU (processes)", f"{res['gen_cpu_pct']:.0f} % ({res['gen_processes']})")
    t.add(
        "1 relay",
        "server CPU / machine CPU busy",
        f"{res['server']['cpu_pct'] or 0:.0f} % / {res['server'].get('machine_busy_pct') or 0:.0f} % of 200",
    )
