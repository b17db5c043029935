"""1 — the bare relay baseline: `bench/relay.py` (the same frames, no database) driven like scenario 2.

An honest relay figure is one the generator does not hold back: the chat pattern runs with 1,
2, 3 … generator processes (the same groups split among them) until the relay's msg/s rises by
5 % or less; the count with the highest rate is the relay's figure, and the one the server's
chat scenarios use (`--chat-workers N` fixes it instead). Server, generator and whole-machine
CPU are reported for every step, so "× relay" can be read as what it is.
"""

from __future__ import annotations

from bench.context import Bench

KEY = "1"
TITLE = "bare relay baseline (generator processes stepped until the relay stops rising)"
RISE = 1.05  # a step that does not beat the previous one by more than this ends the stepping


def run(b: Bench) -> None:
    p = b.p
    n = p["chat_pairs"] * 2 + p["chat_fans"] * (1 + p["fan_k"])
    names = [f"r{i}" for i in range(n)]
    groups = b.chat_groups(names, {x: x for x in names}, p["chat_pairs"], p["chat_fans"], p["fan_k"])
    counts = [p["chat_workers"]] if p["chat_workers"] else range(1, min(p["relay_max_workers"], len(groups)) + 1)
    steps: list[dict] = []
    with b.server("relay", app="bench.relay:app") as srv:
        for k in counts:
            res = b.run_chat(
                srv,
                groups,
                workers=k,
                duration=p["chat_duration"],
                warmup=p["chat_warmup"],
                label=f"relay-{k}p",
                check_seq=False,
            )
            res.pop("_acked_rows")
            steps.append(res)
            if len(steps) > 1 and res["rate"] <= RISE * steps[-2]["rate"]:
                break
    res = max(steps, key=lambda r: r["rate"])
    b.relay_rate = res["rate"]
    b.relay_workers = res["gen_processes"]
    res["steps"] = [
        {
            "processes": s["gen_processes"],
            "rate": s["rate"],
            "server_cpu_pct": s["server"].get("cpu_pct"),
            "gen_cpu_pct": s["gen_cpu_pct"],
            "gen_cpu_max_process_pct": s["gen_cpu_max_process_pct"],
            "machine_busy_pct": s["server"].get("machine_busy_pct"),
            "deliver": s["deliver"],
        }
        for s in steps
    ]
    b.data["scenarios"]["1_relay"] = res
    print(f"  relay: {b.relay_workers} generator process(es) chosen; steps {res['steps']}", flush=True)
    t = b.table
    t.add("1 relay", "messages/s (bare relay, no database)", res["rate"], "msg/s", ratio=1.0, fmt="{:,.0f}")
    stepped = " · ".join(
        f"{s['processes']}: {s['rate']:,.0f} (server {s['server_cpu_pct'] or 0:.0f} %, gen {s['gen_cpu_pct']:.0f} %)"
        for s in res["steps"]
    )
    how = "fixed by --chat-workers" if p["chat_workers"] else f"stepped until a rise ≤ {100 * (RISE - 1):.0f} %"
    t.add("1 relay", f"generator processes → msg/s ({how})", f"{stepped} → {b.relay_workers} chosen")
    t.add("1 relay", "send → recipient p50 / p99", f"{res['deliver']['p50']:.1f} / {res['deliver']['p99']:.1f}", "ms")
    t.add("1 relay", "server CPU per message (1 core ÷ this = capacity)", res["server_us_per_msg"], "µs")
    b.cpu_rows("1 relay", res)
