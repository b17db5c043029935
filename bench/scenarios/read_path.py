"""5 — the read path at 1 M messages: chat lists and history pages from keep-alive HTTP clients."""

from __future__ import annotations

import sqlite3

from bench import loader
from bench.checks import disk_per_message
from bench.context import Bench
from bench.report import dist, samples
from bench.scenarios.chat import profile_during
from bench.users import login_all
from bench.workers import Workers

KEY = "5"
TITLE = "history and lists at 1 M messages"


def run(b: Bench) -> None:
    p = b.p
    d = b.tmp / "history"
    d.mkdir(parents=True, exist_ok=True)
    db_path = d / "payambar.db"
    info = loader.load(db_path, p["hist_users"], p["hist_messages"], peers=10, cost=4)
    print(f"  loaded {info['messages']:,} messages for {info['users']:,} users in {info['seconds']:.1f}s", flush=True)
    disk = disk_per_message(db_path)
    # Clients: the users with the most chats, each asking for its list and for pages of its chats.
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    top = db.execute(
        "SELECT user_id FROM chats GROUP BY user_id ORDER BY COUNT(*) DESC LIMIT ?", (p["hist_clients"],)
    ).fetchall()
    plan = []
    for (uid,) in top:
        peers = db.execute(
            "SELECT c.peer_id, u.username FROM chats c JOIN users u ON u.id = c.peer_id"
            " WHERE c.user_id = ? ORDER BY c.last_message_id DESC LIMIT 5",
            (uid,),
        ).fetchall()
        for peer_id, peer_name in peers:
            ids = db.execute(
                "SELECT id FROM messages WHERE (sender_id = ? AND recipient_id = ?)"
                " OR (sender_id = ? AND recipient_id = ?) ORDER BY id",
                (uid, peer_id, peer_id, uid),
            ).fetchall()
            before = ids[len(ids) // 2][0] if len(ids) > 100 else None
            plan.append((loader.username(uid), peer_name, before))
    db.close()
    names = sorted({u for u, _, _ in plan})
    with b.server("history", keep=True) as srv:
        idle_rss = srv.rss()
        tokens = login_all(srv, names)
        reqs = []
        for u, peer, before in plan:
            reqs.append(("/api/conversations", tokens[u], "conversations"))
            reqs.append((f"/api/conversations/{peer}/messages?limit=50", tokens[u], "history"))
            if before:
                reqs.append((f"/api/conversations/{peer}/messages?limit=50&before={before}", tokens[u], "history"))
        w = Workers(
            "http",
            [{"base": srv.base, "requests": reqs, "concurrency": p["hist_conc"]} for _ in range(p["hist_workers"])],
        )
        try:
            w.expect("ready", 60)
            if b.args.profile:
                profile_during(b, srv, p["hist_duration"], "history")
            w.send("go", {"duration": p["hist_duration"]})
            done = w.expect("done", p["hist_duration"] + 60)
        finally:
            w.close()
        t0, t1 = min(x["t_start"] for x in done), max(x["t_end"] for x in done)
        server = srv.window(t0, t1)
    errors = sum(x["errors"]["count"] for x in done)
    kinds = {}
    for kind in ("conversations", "history"):
        lat = samples([x["lat"][kind] for x in done if kind in x["lat"]])
        kinds[kind] = {**dist(lat), "per_s": len(lat) / (t1 - t0)}
    res = {
        "loader": info,
        "disk": disk,
        "kinds": kinds,
        "errors": errors,
        "error_samples": [s for x in done for s in x["errors"]["samples"]][:5],
        "server": server,
        "idle_rss_mb": idle_rss / 2**20,
        "gen_cpu_pct": 100 * sum(x["cpu_s"] for x in done) / (t1 - t0),
        "total_per_s": sum(x["count"] for x in done) / (t1 - t0),
    }
    b.gen_cpu.append({"scenario": "history", "pct": res["gen_cpu_pct"], "processes": len(done)})
    b.data["scenarios"]["5_history"] = res
    print(f"  history: {kinds}, errors {errors} {res['error_samples'][:2]}, server {server}", flush=True)
    if errors:
        b.fail(f"history: {errors} failed requests: {res['error_samples']}")
    t = b.table
    for kind, label in (("conversations", "GET /api/conversations"), ("history", "history page (50)")):
        k = kinds[kind]
        t.add(
            "5 at 1M",
            f"{label} p50 / p99",
            f"{k['p50'] or 0:.2f} / {k['p99'] or 0:.2f}",
            "ms",
            target="p99 ≤ 10",
            met=k["p99"] is not None and k["p99"] <= 10,
        )
        t.add("5 at 1M", f"{label} requests/s (mixed load)", k["per_s"], "req/s", fmt="{:,.0f}")
    t.add(
        "5 at 1M",
        "all requests/s (both kinds together)",
        res["total_per_s"],
        "req/s",
        target="≥ 1 500",
        met=res["total_per_s"] >= 1500,
        ratio=None,
        fmt="{:,.0f}",
    )
    if server.get("cpu_pct") and res["total_per_s"]:
        res["server_us_per_req"] = server["cpu_pct"] / 100 * 1e6 / res["total_per_s"]
        t.add(
            "5 at 1M",
            "server CPU per request (1 core ÷ this = capacity)",
            res["server_us_per_req"],
            "µs",
            fmt="{:,.0f}",
        )
    t.add("5 at 1M", "server CPU / generator CPU", f"{server['cpu_pct'] or 0:.0f} % / {res['gen_cpu_pct']:.0f} %")
    t.add(
        "5 at 1M",
        f"disk per message ({info['messages']:,} loaded)",
        disk["per_message"],
        "B",
        target="≤ 250",
        met=disk["per_message"] is not None and disk["per_message"] <= 250,
        fmt="{:,.0f}",
    )
