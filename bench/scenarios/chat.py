"""2 — chat throughput: pairs and fan-out senders, a window in flight each, receipts and reads flowing."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from bench import envelopes, loader
from bench.checks import disk_per_message
from bench.context import RESULTS, Bench
from bench.proc import ROOT, Server
from bench.report import pct
from bench.users import fresh_users, login_all

KEY = "2"
TITLE = "chat throughput, plaintext and end-to-end encrypted"


def pool_size(b: Bench) -> int:
    """Texts (and envelopes) per sender → peer, sent in turn."""
    return 8 if b.args.smoke else 32


def prepare(b: Bench, srv: Server, names: list[str], pairs: int, fans: int, fan_k: int, encrypted: bool):
    """Logged-in groups with their texts; encrypted: keys published and envelopes sealed (set-up,
    not timed). Returns (groups, envelope sizes by recipient device count or None)."""
    ids: dict[str, int] = {}
    tokens = login_all(srv, names, ids=ids)
    groups = b.chat_groups(names, tokens, pairs, fans, fan_k)
    if not encrypted:
        envelopes.plain_texts(groups, pool_size(b))
        return groups, None
    started = time.monotonic()
    sizes = envelopes.prepare(srv.base, groups, ids, pool_size(b))
    print(
        f"  keys published and {sum(map(len, sizes.values()))} envelopes sealed in {time.monotonic() - started:.1f} s"
    )
    return groups, sizes


def run(b: Bench) -> None:
    plain = run_one(b, encrypted=False)
    encrypted = run_one(b, encrypted=True)
    report(b, plain, encrypted)


def run_one(b: Bench, encrypted: bool) -> dict:
    p = b.p
    n = p["chat_pairs"] * 2 + p["chat_fans"] * (1 + p["fan_k"])
    name = "chat-e2ee" if encrypted else "chat"
    d = b.tmp / name
    fresh_users(d, n)
    names = [loader.username(i) for i in range(1, n + 1)]
    with b.server(name, keep=True) as srv:
        idle_rss = srv.rss()
        groups, sizes = prepare(b, srv, names, p["chat_pairs"], p["chat_fans"], p["fan_k"], encrypted)
        if b.args.profile:
            profile_during(b, srv, p["chat_duration"], name)
        res = b.run_chat(
            srv,
            groups,
            workers=b.chat_workers(),
            duration=p["chat_duration"],
            warmup=p["chat_warmup"],
            label=name,
        )
    acked = res.pop("_acked_rows")
    res["stored"] = b.check_stored(name, srv, acked)
    res["disk"] = disk_per_message(srv.db_path)
    res["idle_rss_mb"] = idle_rss / 2**20
    if sizes is not None:
        res["envelope_bytes"] = {k: byte_dist(v) for k, v in sizes.items()}
    b.data["scenarios"]["2_chat_e2ee" if encrypted else "2_chat"] = res
    return res


def byte_dist(sizes: list[int]) -> dict:
    """Percentiles of sizes in bytes."""
    ordered = sorted(sizes)
    return {"n": len(ordered), **{k: pct(ordered, p) * 1000 for k, p in (("p50", 50), ("p99", 99))}, "max": ordered[-1]}


def both(plain, encrypted, fmt: str = "{:,.0f}") -> str:
    shown = lambda v: "—" if v is None else fmt.format(v)  # noqa: E731
    return f"{shown(plain)} / {shown(encrypted)}"


def report(b: Bench, plain: dict, enc: dict) -> None:
    """The table: each figure as plaintext / encrypted, ratios to the bare relay likewise."""
    t, tag = b.table, "2 chat"
    rates = (plain["rate"], enc["rate"])
    ratios = [b.ratio(r) for r in rates]
    t.add(
        tag,
        "persisted messages/s, receipts flowing (plaintext / encrypted)",
        both(*rates),
        "msg/s",
        target="≥ 10 000 and ≥ 0.40 × relay",
        met=all(r >= 10_000 and (q or 0) >= 0.40 for r, q in zip(rates, ratios, strict=True)),
        ratio=both(*ratios, fmt="{:.2f}") if all(ratios) else None,
    )
    t.add(tag, "encrypted ÷ plaintext msg/s", enc["rate"] / plain["rate"] if plain["rate"] else None, "×", fmt="{:.2f}")
    ok = plain["stored"]["ok"] and enc["stored"]["ok"]
    t.add(
        tag,
        "acked messages stored exactly once (plaintext / encrypted)",
        f"{plain['stored']['acked']:,} acked, {plain['stored']['rows']:,} rows"
        f" / {enc['stored']['acked']:,} acked, {enc['stored']['rows']:,} rows",
        target="all",
        met=ok,
    )
    t.add(
        tag,
        "every acked message arrived live, streams without gap or repeat",
        f"{'yes' if plain['live_ok'] else 'NO'} / {'yes' if enc['live_ok'] else 'NO'}",
        target="all",
        met=plain["live_ok"] and enc["live_ok"],
    )
    pd, ed = plain["deliver"], enc["deliver"]
    t.add(
        tag,
        "send → recipient p50 / p99 / p99.9: plaintext · encrypted",
        f"{pd['p50']:.1f} / {pd['p99']:.1f} / {pd['p999']:.1f} · {ed['p50']:.1f} / {ed['p99']:.1f} / {ed['p999']:.1f}",
        "ms",
        target="p99 ≤ 50",
        met=all(d["p99"] is not None and d["p99"] <= 50 for d in (pd, ed)),
    )
    t.add(tag, "send → ack p99 (plaintext / encrypted)", both(plain["ack"]["p99"], enc["ack"]["p99"], "{:.1f}"), "ms")
    t.add(
        tag,
        "delivered receipt at sender p99 (plaintext / encrypted)",
        both(plain["receipt"]["p99"], enc["receipt"]["p99"], "{:.1f}"),
        "ms",
    )
    t.add(
        tag,
        "peak server RSS (plaintext / encrypted)",
        both(plain["server"]["rss_peak_mb"], enc["server"]["rss_peak_mb"]),
        "MB",
    )
    rus = b.data["scenarios"].get("1_relay", {}).get("server_us_per_msg")
    us = (plain["server_us_per_msg"], enc["server_us_per_msg"])
    t.add(
        tag,
        "server CPU per message, 1 core ÷ this = capacity (plaintext / encrypted)",
        both(*us, fmt="{:,.1f}"),
        "µs",
        ratio=both(*(rus / u if u else None for u in us), fmt="{:.2f}") if rus else None,
    )
    b.cpu_rows(f"{tag} plain", plain)
    b.cpu_rows(f"{tag} e2ee", enc)
    pk, ek = plain["disk"], enc["disk"]
    t.add(
        tag,
        "disk per message, server-written, receipts incl. (plaintext / encrypted)",
        both(pk["per_message"], ek["per_message"]),
        "B",
        target="≤ 250",
        met=all(k["per_message"] is not None and k["per_message"] <= 250 for k in (pk, ek)),
    )
    t.add(
        tag,
        "of it the message body: text / envelope bytes per message",
        both(pk["text_per_message"], ek["envelope_per_message"]),
        "B",
    )
    sizes = enc.get("envelope_bytes") or {}
    t.add(
        tag,
        "envelopes sent, bytes p50 / p99 by recipient devices",
        " · ".join(
            f"{k} device{'s' if k > 1 else ''}: {d['p50']:.0f} / {d['p99']:.0f}" for k, d in sorted(sizes.items())
        ),
    )


def profile_during(b: Bench, srv: Server, duration: float, name: str = "chat") -> None:
    """py-spy the server process (raw stacks to results/profile-NAME.txt) for `duration` seconds."""
    spy = Path(os.environ.get("BENCH_PYSPY") or ROOT / ".venv" / "bin" / "py-spy")  # BENCH_PYSPY: one elsewhere
    if not spy.exists():
        print(f"  (py-spy not installed at {spy}: .venv/bin/pip install py-spy==0.4.3)", flush=True)
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
