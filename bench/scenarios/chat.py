"""2 — chat throughput: pairs and fan-out senders, a window in flight each, receipts and reads flowing."""

from __future__ import annotations

import os
import subprocess

from bench import loader
from bench.checks import disk_per_message
from bench.context import RESULTS, Bench
from bench.proc import ROOT, Server
from bench.users import fresh_users, login_all

KEY = "2"
TITLE = "chat throughput"


def run(b: Bench) -> None:
    p = b.p
    n = p["chat_pairs"] * 2 + p["chat_fans"] * (1 + p["fan_k"])
    d = b.tmp / "chat"
    fresh_users(d, n)
    names = [loader.username(i) for i in range(1, n + 1)]
    with b.server("chat", keep=True) as srv:
        idle_rss = srv.rss()
        tokens = login_all(srv, names)
        groups = b.chat_groups(names, tokens, p["chat_pairs"], p["chat_fans"], p["fan_k"])
        if b.args.profile:
            profile_during(b, srv, p["chat_duration"])
        res = b.run_chat(
            srv,
            groups,
            workers=b.chat_workers(),
            duration=p["chat_duration"],
            warmup=p["chat_warmup"],
            label="chat",
        )
    acked = res.pop("_acked_rows")
    res["stored"] = b.check_stored("chat", srv, acked)
    res["disk"] = disk_per_message(srv.db_path)
    res["idle_rss_mb"] = idle_rss / 2**20
    b.data["scenarios"]["2_chat"] = res
    t, r = b.table, res["rate"]
    ratio = b.ratio(r)
    t.add(
        "2 chat",
        "persisted messages/s, receipts flowing",
        r,
        "msg/s",
        target="≥ 10 000 and ≥ 0.40 × relay",
        met=r >= 10_000 and (ratio or 0) >= 0.40,
        ratio=ratio,
        fmt="{:,.0f}",
    )
    t.add(
        "2 chat",
        "acked messages stored exactly once",
        f"{res['stored']['acked']:,} acked, {res['stored']['rows']:,} rows",
        target="all",
        met=res["stored"]["ok"],
    )
    dl = res["deliver"]
    t.add(
        "2 chat",
        "send → recipient p50 / p99 / p99.9",
        f"{dl['p50']:.1f} / {dl['p99']:.1f} / {dl['p999']:.1f}",
        "ms",
        target="p99 ≤ 50",
        met=dl["p99"] is not None and dl["p99"] <= 50,
    )
    t.add("2 chat", "send → ack p99", res["ack"]["p99"], "ms")
    t.add("2 chat", "delivered receipt at sender p99", res["receipt"]["p99"], "ms")
    t.add(
        "2 chat",
        "peak server RSS",
        f"{res['server']['rss_peak_mb']:.0f} MB",
    )
    us, rus = res["server_us_per_msg"], b.data["scenarios"].get("1_relay", {}).get("server_us_per_msg")
    t.add(
        "2 chat",
        "server CPU per message (1 core ÷ this = capacity)",
        us,
        "µs",
        ratio=(rus / us) if us and rus else None,
    )
    b.cpu_rows("2 chat", res)
    dk = res["disk"]
    t.add(
        "2 chat",
        "disk per message (server-written, receipts incl.)",
        dk["per_message"],
        "B",
        target="≤ 250",
        met=dk["per_message"] is not None and dk["per_message"] <= 250,
        fmt="{:,.0f}",
    )


def profile_during(b: Bench, srv: Server, duration: float, name: str = "chat") -> None:
    """py-spy the server process (raw stacks to results/profile-NAME.txt) for `duration` seconds."""
    spy = ROOT / ".venv" / "bin" / "py-spy"
    if not spy.exists():
        print("  (py-spy not installed: .venv/bin/pip install py-spy==0.4.3)", flush=True)
        return
    extra = os.environ.get("BENCH_PYSPY_ARGS", "").split()  # e.g. --native (which cannot be nonblocking)
    if "--native" not in extra:
        extra.append("--nonblocking")
    out = RESULTS / f"profile-{name}.txt"
    RESULTS.mkdir(parents=True, exist_ok=True)
    b.spy = subprocess.Popen(
        [
            str(spy),
            "record",
            "-p",
            str(srv.proc.pid),
            "-d",
            str(int(duration)),
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            str(out),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    b.data.setdefault("profiles", []).append(str(out))
