"""4 — held connections: authenticated idle sockets ramped from several processes, RSS per socket,
then a few pairs chatting while all are held; once per `--ws` implementation on the same data."""

from __future__ import annotations

import resource
import time

import httpx

from bench import loader
from bench.context import Bench
from bench.report import dist, samples
from bench.scenarios.chat import profile_during
from bench.users import fresh_users, login_all
from bench.workers import Workers, split

KEY = "4"
TITLE = "held connections"


# Loopback addresses the idle sockets come from, each good for ~28 000 ephemeral ports.
SOURCES = [f"127.0.0.{n}" for n in range(2, 10)]
SPARE_DESCRIPTORS = 500  # the server's own files, listening socket, database, the active users


def descriptor_cap() -> int:
    """How many idle sockets one server process can hold here: its hard open-files limit
    (which the server takes; it cannot go higher without CAP_SYS_RESOURCE) less a margin."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 10**9 if hard == resource.RLIM_INFINITY else hard - SPARE_DESCRIPTORS


def run(b: Bench) -> None:
    p = b.p
    wanted, active = p["conns"], p["conn_active_pairs"] * 2
    c = min(wanted, descriptor_cap())
    b.data.setdefault("scenarios", {})["4_descriptor_cap"] = {"wanted": wanted, "held": c}
    if c < wanted:
        print(f"  the open-files hard limit caps a server at ~{c:,} sockets here (wanted {wanted:,})", flush=True)
    d = b.tmp / "conns"
    names = [loader.username(i) for i in range(1, c + active + 1)]
    # Everyone has chats (presence flows) and a session made beforehand.
    info = fresh_users(d, c + active, messages=5 * (c + active), peers=6, sessions_for=names)
    tokens = info.pop("tokens")
    per_impl = {}
    for impl in p["ws_impls"]:
        with b.server("conns", ws=impl, keep=True) as srv:
            time.sleep(p["settle_s"])
            idle_rss = srv.rss()
            # Ten real logins over HTTP, so the session cache and login path are warm like in production.
            login_all(srv, names[:10])
            time.sleep(p["settle_s"])
            before = srv.rss()
            cpu_before = srv.cpu_rss()[0]
            idle = Workers(
                "idle",
                [
                    {
                        "url": srv.ws_url,
                        "tokens": [tokens[x] for x in part],
                        "concurrency": 64,
                        "deflate": not b.args.no_deflate,
                        "sources": SOURCES,
                    }
                    for part in split(names[active:], p["conn_workers"])
                ],
            )
            try:
                idle.expect("ready", 60)
                if b.args.profile:  # the ramp: what connecting and authenticating costs
                    profile_during(b, srv, 30, f"held-{impl}")
                idle.send("go", {})
                ramped = idle.expect("ramped", 600)
                ok = sum(r["ok"] for r in ramped)
                t_ramp = max(r["t_end"] for r in ramped) - min(r["t_start"] for r in ramped)
                ramp_cpu = srv.cpu_rss()[0] - cpu_before
                time.sleep(2 * p["settle_s"])
                held = srv.rss()
                c0, t_idle = srv.cpu_rss()[0], time.monotonic()
                time.sleep(p["idle_measure_s"])  # all held, nobody talking: what do idle sockets cost?
                idle_cpu_pct = 100 * (srv.cpu_rss()[0] - c0) / (time.monotonic() - t_idle)
                health = httpx.get(srv.base + "/health", timeout=10).json()
                groups = b.chat_groups(names[:active], tokens, p["conn_active_pairs"], 0, 0)
                chat = b.run_chat(
                    srv,
                    groups,
                    workers=1,
                    duration=p["conn_duration"],
                    warmup=0.3,
                    rate=p["conn_active_rate"],
                    label=f"conns-{impl}",
                )
                chat.pop("_acked_rows")
                after_rss = srv.rss()
                idle.send("close")
                closed = idle.expect("done", 60)
            finally:
                idle.close()
        errs = sum(r["errors"]["count"] for r in ramped)
        res = {
            "impl": impl,
            "connections": ok,
            "wanted": c,
            "ramp_s": t_ramp,
            "idle_rss_mb": idle_rss / 2**20,
            "rss_before_mb": before / 2**20,
            "rss_held_mb": held / 2**20,
            "rss_after_chat_mb": after_rss / 2**20,
            "per_conn_kb": (held - before) / max(1, ok) / 1024,
            "server_cpu_ms_per_connect": 1000 * ramp_cpu / max(1, ok),
            "server_cpu_pct_all_idle": idle_cpu_pct,
            "health": health,
            "chat": chat,
            "connect": dist(samples([r["connect_lat"] for r in ramped])),
            "ramp_errors": [s for r in ramped for s in r["errors"]["samples"]][:5],
            "ramp_error_count": errs,
            "frames_to_idle": sum(x["frames"] for x in closed),
            "gen_cpu_pct_ramp": 100 * sum(r["cpu_s"] for r in ramped) / max(1e-9, t_ramp),
        }
        per_impl[impl] = res
        print(
            f"  conns {impl}: {ok:,} held, {res['per_conn_kb']:.1f} KB each, ramp {t_ramp:.1f}s, "
            f"idle {res['idle_rss_mb']:.0f} MB, held {res['rss_held_mb']:.0f} MB, errors {errs}",
            flush=True,
        )
        if ok < c:
            b.fail(f"connections {impl}: only {ok} of {c} connected: {res['ramp_errors']}")
    b.data["scenarios"]["4_connections"] = {"loader": info, "by_impl": per_impl}
    t = b.table
    best = min(per_impl.values(), key=lambda r: r["per_conn_kb"])
    for impl, r in per_impl.items():
        tag = f"4 conns {impl}"
        t.add(
            tag,
            "authenticated idle connections held",
            f"{r['connections']:,}",
            target=f"≥ {wanted:,}",
            met=r["connections"] >= wanted,
        )
        if c < wanted:
            t.add(tag, "held at most here (open-files hard limit, no CAP_SYS_RESOURCE)", f"{c:,}", target="")
        t.add(tag, "RSS per connection", r["per_conn_kb"], "KB", target="≤ 35", met=r["per_conn_kb"] <= 35)
        t.add(
            tag,
            "idle server RSS / with all held",
            f"{r['idle_rss_mb']:.0f} / {r['rss_held_mb']:.0f}",
            "MB",
            target="idle ≤ 80",
            met=r["idle_rss_mb"] <= 80,
        )
        t.add(tag, "time to connect + authenticate all", r["ramp_s"], "s", fmt="{:.1f}")
        t.add(tag, "server CPU per connect + auth", r["server_cpu_ms_per_connect"], "ms", fmt="{:.2f}")
        t.add(tag, "server CPU with all held and silent", r["server_cpu_pct_all_idle"], "%", fmt="{:.1f}")
        cl = r["chat"]["deliver"]
        t.add(
            tag,
            f"chat p50 / p99 among {active} active users, all held",
            f"{cl['p50'] or 0:.2f} / {cl['p99'] or 0:.2f}",
            "ms",
            target="p99 ≤ 15",
            met=cl["p99"] is not None and cl["p99"] <= 15,
        )
    if len(per_impl) > 1:
        t.add("4 conns", "less memory per idle connection", best["impl"])
