"""The load bench: `python -m bench.run` (full, ~10 min) or `python -m bench.run --smoke` (seconds).

Starts the real server as the Procfile does (production settings, a fresh data folder per
scenario), drives it from separate generator processes, prints one table, writes JSON to
bench/results/, and exits non-zero when a correctness check fails (an acknowledged message
not stored exactly once, a catch-up out of order or with gaps, a scenario that errored).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import httpx
import psutil

from bench import gen, loader
from bench.proc import ROOT, Server, raise_nofile
from bench.report import Table, dist, samples, write_json

RESULTS = Path(__file__).resolve().parent / "results"
SECRET = "bench-secret-key-" + "x" * 32
CTX = mp.get_context("fork")

FULL = {
    "chat_duration": 10.0,
    "chat_warmup": 1.0,
    "chat_pairs": 40,
    "chat_fans": 10,
    "fan_k": 3,
    "window": 4,
    "chat_workers": 1,
    "steady_rate": 1000,
    "steady_pairs": 100,
    "steady_duration": 10.0,
    "storm_rate": 20.0,
    "storm_users": 10,
    "catchup_n": 10_000,
    "conns": 10_000,
    "conn_workers": 4,
    "conn_active_pairs": 5,
    "conn_active_rate": 40.0,
    "conn_duration": 5.0,
    "ws_impls": ["wsproto", "websockets-sansio"],
    "hist_users": 10_000,
    "hist_messages": 1_000_000,
    "hist_duration": 10.0,
    "hist_workers": 2,
    "hist_conc": 16,
    "hist_clients": 50,
    "idle_measure_s": 3.0,
}
SMOKE = {
    "chat_duration": 1.5,
    "chat_warmup": 0.2,
    "chat_pairs": 3,
    "chat_fans": 1,
    "fan_k": 2,
    "window": 4,
    "chat_workers": 1,
    "steady_rate": 100,
    "steady_pairs": 5,
    "steady_duration": 1.5,
    "storm_rate": 2.0,
    "storm_users": 2,
    "catchup_n": 200,
    "conns": 60,
    "conn_workers": 2,
    "conn_active_pairs": 2,
    "conn_active_rate": 20.0,
    "conn_duration": 1.0,
    "ws_impls": ["wsproto"],
    "hist_users": 200,
    "hist_messages": 5_000,
    "hist_duration": 1.0,
    "hist_workers": 1,
    "hist_conc": 4,
    "hist_clients": 5,
    "idle_measure_s": 0.5,
}


# --------------------------------------------------------------------------- workers


class Workers:
    """Generator processes of one role, driven in lock step through their phases."""

    def __init__(self, role: str, cfgs: list[dict]):
        self.items = []
        for cfg in cfgs:
            parent, child = CTX.Pipe()
            p = CTX.Process(target=gen.worker, args=(role, cfg, child), daemon=True)
            p.start()
            self.items.append((p, parent))

    def expect(self, tag: str, timeout: float) -> list:
        out = []
        deadline = time.monotonic() + timeout
        for _, conn in self.items:
            if not conn.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"a generator did not report {tag!r} in {timeout:.0f}s")
            msg = conn.recv()
            if msg[0] == "failed":
                raise RuntimeError(f"a generator failed: {msg[1]}")
            if msg[0] != tag:
                raise RuntimeError(f"expected {tag!r} from a generator, got {msg[0]!r}")
            out.append(msg[1])
        return out

    def send(self, *msg) -> None:
        for _, conn in self.items:
            conn.send(msg)

    def close(self) -> None:
        for p, _ in self.items:
            p.join(5)
            if p.is_alive():
                p.terminate()
                p.join(2)


def split(items: list, n: int) -> list[list]:
    return [items[i::n] for i in range(n) if items[i::n]]


# --------------------------------------------------------------------------- users


async def _post_patiently(client: httpx.AsyncClient, path: str, body: dict) -> httpx.Response:
    """POST, waiting as told when the server answers 429 (its password checks are queued)."""
    for _ in range(60):
        r = await client.post(path, json=body)
        if r.status_code != 429:
            r.raise_for_status()
            return r
        await asyncio.sleep(float(r.headers.get("retry-after", "1")))
    r.raise_for_status()
    return r


async def _login_all(base: str, names: list[str], password: str, concurrency: int = 8) -> dict[str, str]:
    tokens: dict[str, str] = {}
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def one(name: str) -> None:
            async with sem:
                r = await _post_patiently(client, "/api/auth/login", {"username": name, "password": password})
                tokens[name] = r.json()["token"]

        await asyncio.gather(*(one(n) for n in names))
    return tokens


def login_all(server: Server, names: list[str], password: str = loader.PASSWORD) -> dict[str, str]:
    return asyncio.run(_login_all(server.base, names, password))


async def _register_all(base: str, names: list[str], password: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:

        async def one(name: str) -> tuple[str, str]:
            r = await _post_patiently(client, "/api/auth/register", {"username": name, "password": password})
            return name, r.json()["token"]

        return dict(await asyncio.gather(*(one(n) for n in names)))


def mint_tokens(db_path: Path, secret: str, names: list[str], ttl_s: int = 86400) -> dict[str, str]:
    """Sessions written straight into the database and tokens signed with the server's own code.

    For scenario 4's 10 000 users only: their logins are setup, not what is measured, and over
    HTTP they take minutes on a busy machine. Uses `security.make_token`, so the format follows it.
    """
    from bench.proc import SERVER_DIR

    if str(SERVER_DIR) not in sys.path:
        sys.path.insert(0, str(SERVER_DIR))
    import security  # the server's module: its token format, not a copy of it

    db = sqlite3.connect(db_path)
    now = int(time.time() * 1000)
    tokens, rows = {}, []
    try:
        ids = dict(db.execute("SELECT username, id FROM users").fetchall())
        for name in names:
            sid = security.new_session_id()
            rows.append((sid, ids[name], now, now + ttl_s * 1000))
            tokens[name] = security.make_token(secret, ids[name], sid, now + ttl_s * 1000)
        db.executemany("INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)", rows)
        db.commit()
    finally:
        db.close()
    return tokens


def fresh_users(data_dir: Path, count: int, *, messages: int = 0, peers: int = 10) -> dict:
    """A fresh database with `count` loader-made users (the cheap shared hash) before the server starts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return loader.load(data_dir / "payambar.db", count, messages, peers=peers, cost=4)


# --------------------------------------------------------------------------- checks


def stored_exactly_once(db_path: Path, acked: list[tuple[str, str, int]]) -> dict:
    """Every acknowledged (sender, client_id) is in the database exactly once, with the acked id."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT u.username, m.client_id, m.id FROM messages m JOIN users u ON u.id = m.sender_id"
        ).fetchall()
        kinds = dict(db.execute("SELECT kind, COUNT(*) FROM updates GROUP BY kind").fetchall())
    finally:
        db.close()
    by_key: dict[tuple[str, str], list[int]] = {}
    for name, cid, mid in rows:
        by_key.setdefault((name, cid), []).append(mid)
    missing = dup = wrong = 0
    for name, cid, mid in acked:
        ids = by_key.get((name, cid))
        if not ids:
            missing += 1
        elif len(ids) > 1:
            dup += 1
        elif ids[0] != mid:
            wrong += 1
    acked_keys = {(n, c) for n, c, _ in acked}
    return {
        "acked": len(acked),
        "acked_distinct": len(acked_keys),
        "rows": len(rows),
        "missing": missing,
        "duplicated": dup,
        "wrong_id": wrong,
        "unacked_rows": len(set(by_key) - acked_keys),
        "ok": missing == 0 and dup == 0 and wrong == 0 and len(acked_keys) == len(acked),
        "update_kinds": kinds,
    }


def disk_per_message(db_path: Path) -> dict:
    """Bytes in use (pages minus free pages, after a checkpoint) per message row."""
    db = sqlite3.connect(db_path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = db.execute("PRAGMA page_size").fetchone()[0]
        used = (
            db.execute("PRAGMA page_count").fetchone()[0] - db.execute("PRAGMA freelist_count").fetchone()[0]
        ) * page
        n, text = db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(text AS BLOB))), 0) FROM messages").fetchone()
        try:
            parts = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
        except sqlite3.Error:
            parts = {}
    finally:
        db.close()
    return {
        "bytes": used,
        "messages": n,
        "per_message": used / n if n else None,
        "text_per_message": text / n if n else None,
        "by_object_per_message": {k: round(v / n, 1) for k, v in sorted(parts.items(), key=lambda x: -x[1])}
        if n
        else {},
    }


# --------------------------------------------------------------------------- scenarios


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.p = SMOKE if args.smoke else FULL
        self.tmp = Path(tempfile.mkdtemp(prefix="payambar-bench-"))
        self.table = Table()
        self.data: dict = {"scenarios": {}}
        self.failures: list[str] = []
        self.relay_rate: float | None = None
        self.gen_cpu: list[dict] = []

    def server(self, name: str, *, app: str | None = None, ws: str | None = None, keep: bool = False) -> Server:
        d = self.tmp / name
        if not keep and d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True, exist_ok=True)
        return Server(d, app=app, ws=ws or self.args.ws, log_path=self.tmp / f"{name}.log")

    def ratio(self, rate: float | None) -> float | None:
        return rate / self.relay_rate if rate and self.relay_rate else None

    def fail(self, what: str) -> None:
        self.failures.append(what)
        print(f"  !! {what}", flush=True)

    # --- the chat pattern, shared by the relay and the server

    def chat_groups(self, names: list[str], tokens: dict[str, str], pairs: int, fans: int, fan_k: int) -> list[dict]:
        groups, it = [], iter(names)
        user = lambda: (lambda n: {"username": n, "token": tokens[n]})(next(it))  # noqa: E731
        for _ in range(pairs):
            groups.append({"sender": user(), "recipients": [user()]})
        for _ in range(fans):
            groups.append({"sender": user(), "recipients": [user() for _ in range(fan_k)]})
        return groups

    def run_chat(
        self,
        srv: Server,
        groups: list[dict],
        *,
        workers: int,
        duration: float,
        warmup: float,
        window: int | None = None,
        rate: float | None = None,
        label: str = "chat",
        extra: Workers | None = None,
    ) -> dict:
        cfgs = [
            {
                "url": srv.ws_url,
                "groups": gs,
                "window": window or self.p["window"],
                "rate": rate,
                "prefix": f"{label}{i}",
                "deflate": not self.args.no_deflate,
                "grace": 5.0,
            }
            for i, gs in enumerate(split(groups, workers))
        ]
        w = Workers("chat", cfgs)
        try:
            ready = w.expect("ready", 120)
            if extra is not None:
                extra.send("go", {"duration": duration})
            w.send("go", {"duration": duration, "warmup": warmup})
            done = w.expect("done", duration + 60)
        finally:
            w.close()
        t0 = min(d["t_start"] for d in done)
        t1 = max(d["t_end"] for d in done)
        acked = [a for d in done for a in d["acked"]]
        res = {
            "connections": sum(r["connections"] for r in ready),
            "extensions": ready[0]["extensions"],
            "window_s": t1 - t0,
            "sent": sum(d["sent"] for d in done),
            "acked": len(acked),
            "arrived": sum(d["arrived"] for d in done),
            "receipts": sum(d["receipts"] for d in done),
            "dup_arrivals": sum(d["dup_arrivals"] for d in done),
            "unsettled": sum(d["unsettled"] for d in done),
            "closed_unexpectedly": sum(d["closed_unexpectedly"] for d in done),
            "errors": sum(d["errors"]["count"] for d in done),
            "error_samples": [s for d in done for s in d["errors"]["samples"]][:5],
            "deliver": dist(samples([d["lat_deliver"] for d in done])),
            "ack": dist(samples([d["lat_ack"] for d in done])),
            "receipt": dist(samples([d["lat_receipt"] for d in done])),
            "gen_cpu_pct": 100 * sum(d["cpu_s"] for d in done) / (t1 - t0),
            "gen_cpu_max_process_pct": max(100 * d["cpu_s"] / (d["t_end"] - d["t_start"]) for d in done),
            "gen_processes": len(done),
            "server": srv.window(t0, t1),
        }
        res["rate"] = res["acked"] / res["window_s"]
        # CPU per message is steadier than wall-clock rates on a shared machine: capacity = 1e6 / µs.
        cpu = res["server"].get("cpu_pct")
        res["server_us_per_msg"] = cpu / 100 * 1e6 / res["rate"] if cpu and res["rate"] else None
        res["gen_us_per_msg"] = res["gen_cpu_pct"] / 100 * 1e6 / res["rate"] if res["rate"] else None
        res["_acked_rows"] = acked
        self.gen_cpu.append(
            {
                "scenario": label,
                "pct": res["gen_cpu_pct"],
                "max_process_pct": res["gen_cpu_max_process_pct"],
                "processes": res["gen_processes"],
            }
        )
        print(
            f"  {label}: {res['rate']:,.0f} msg/s acked, deliver p50 {res['deliver']['p50']}"
            f" p99 {res['deliver']['p99']} ms, gen CPU {res['gen_cpu_pct']:.0f}%, server {res['server']},"
            f" server µs/msg {res['server_us_per_msg'] or 0:.0f}, gen µs/msg {res['gen_us_per_msg'] or 0:.0f},"
            f" errors {res['errors']} {res['error_samples'][:2]}",
            flush=True,
        )
        if res["errors"] or res["closed_unexpectedly"] or res["dup_arrivals"]:
            self.fail(
                f"{label}: {res['errors']} errors, {res['closed_unexpectedly']} unexpected closes,"
                f" {res['dup_arrivals']} duplicate arrivals: {res['error_samples'][:3]}"
            )
        return res

    def check_stored(self, label: str, srv: Server, acked: list) -> dict:
        check = stored_exactly_once(srv.db_path, acked)
        print(f"  {label}: stored check {check}", flush=True)
        if not check["ok"]:
            self.fail(f"{label}: acknowledged messages not stored exactly once: {check}")
        if not acked:
            self.fail(f"{label}: no message was acknowledged")
        return check

    # --- 1 + 2

    def s1_relay(self) -> None:
        p = self.p
        n = p["chat_pairs"] * 2 + p["chat_fans"] * (1 + p["fan_k"])
        names = [f"r{i}" for i in range(n)]
        with self.server("relay", app="bench.relay:app") as srv:
            res = self.run_chat(
                srv,
                self.chat_groups(names, {x: x for x in names}, p["chat_pairs"], p["chat_fans"], p["fan_k"]),
                workers=p["chat_workers"],
                duration=p["chat_duration"],
                warmup=p["chat_warmup"],
                label="relay",
            )
        res.pop("_acked_rows")
        self.relay_rate = res["rate"]
        self.data["scenarios"]["1_relay"] = res
        t = self.table
        t.add("1 relay", "messages/s (bare relay, no database)", res["rate"], "msg/s", ratio=1.0, fmt="{:,.0f}")
        t.add(
            "1 relay", "send → recipient p50 / p99", f"{res['deliver']['p50']:.1f} / {res['deliver']['p99']:.1f}", "ms"
        )
        t.add("1 relay", "server CPU per message (1 core ÷ this = capacity)", res["server_us_per_msg"], "µs")
        t.add("1 relay", "generator CPU (processes)", f"{res['gen_cpu_pct']:.0f} % ({res['gen_processes']})")
        t.add(
            "1 relay",
            "server CPU / machine CPU busy",
            f"{res['server']['cpu_pct'] or 0:.0f} % / {res['server'].get('machine_busy_pct') or 0:.0f} % of 200",
        )

    def s2_chat(self) -> None:
        p = self.p
        n = p["chat_pairs"] * 2 + p["chat_fans"] * (1 + p["fan_k"])
        d = self.tmp / "chat"
        fresh_users(d, n)
        names = [loader.username(i) for i in range(1, n + 1)]
        with self.server("chat", keep=True) as srv:
            idle_rss = srv.rss()
            tokens = login_all(srv, names)
            groups = self.chat_groups(names, tokens, p["chat_pairs"], p["chat_fans"], p["fan_k"])
            if self.args.profile:
                self.profile_during(srv, p["chat_duration"])
            res = self.run_chat(
                srv,
                groups,
                workers=p["chat_workers"],
                duration=p["chat_duration"],
                warmup=p["chat_warmup"],
                label="chat",
            )
        acked = res.pop("_acked_rows")
        res["stored"] = self.check_stored("chat", srv, acked)
        res["disk"] = disk_per_message(srv.db_path)
        res["idle_rss_mb"] = idle_rss / 2**20
        self.data["scenarios"]["2_chat"] = res
        t, r = self.table, res["rate"]
        ratio = self.ratio(r)
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
            "server CPU / peak RSS",
            f"{res['server']['cpu_pct'] or 0:.0f} % / {res['server']['rss_peak_mb']:.0f} MB",
        )
        us, rus = res["server_us_per_msg"], self.data["scenarios"].get("1_relay", {}).get("server_us_per_msg")
        t.add(
            "2 chat",
            "server CPU per message (1 core ÷ this = capacity)",
            us,
            "µs",
            ratio=(rus / us) if us and rus else None,
        )
        t.add("2 chat", "generator CPU (processes)", f"{res['gen_cpu_pct']:.0f} % ({res['gen_processes']})")
        t.add(
            "2 chat", "machine CPU busy, all processes", res["server"].get("machine_busy_pct"), "% of 200", fmt="{:.0f}"
        )
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

    # --- 3 + 6

    def s3_s6_steady_and_storm(self) -> None:
        p = self.p
        pairs = p["steady_pairs"]
        n = pairs * 2
        d = self.tmp / "steady"
        fresh_users(d, n)
        names = [loader.username(i) for i in range(1, n + 1)]
        per_sender = p["steady_rate"] / pairs
        with self.server("steady", keep=True) as srv:
            tokens = login_all(srv, names)
            groups = self.chat_groups(names, tokens, pairs, 0, 0)
            quiet = self.run_chat(
                srv, groups, workers=1, duration=p["steady_duration"], warmup=0.5, rate=per_sender, label="steady"
            )
            # 6: the same load while people log in at a fixed rate (bcrypt at the server's own cost).
            storm_names = [f"storm{i}" for i in range(p["storm_users"])]
            t_reg = time.monotonic()
            asyncio.run(_register_all(srv.base, storm_names, "storm-password-1"))
            reg_s = time.monotonic() - t_reg
            login = Workers(
                "login",
                [
                    {
                        "base": srv.base,
                        "rate": p["storm_rate"],
                        "users": [{"username": x, "password": "storm-password-1"} for x in storm_names],
                    }
                ],
            )
            try:
                login.expect("ready", 30)
                storm = self.run_chat(
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
        acked = quiet.pop("_acked_rows") + storm.pop("_acked_rows")
        check = self.check_stored("steady+storm", srv, acked)
        lat = samples([lg["lat"]])
        storm["logins"] = {
            "attempts": lg["attempts"],
            "status": lg["status"],
            "latency": dist(lat),
            "ok_per_s": lg["status"].get(200, 0) / (lg["t_end"] - lg["t_start"]),
            "errors": lg["errors"],
            "register_s_each": reg_s / max(1, len(storm_names)),
        }
        self.data["scenarios"]["3_steady"] = quiet
        self.data["scenarios"]["6_storm"] = storm
        self.data["scenarios"]["3_6_stored"] = check
        t = self.table
        q, s = quiet["deliver"], storm["deliver"]
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

    # --- 7

    def s7_catchup(self) -> None:
        n = self.p["catchup_n"]
        d = self.tmp / "catchup"
        fresh_users(d, 2)
        a, b = loader.username(1), loader.username(2)
        with self.server("catchup", keep=True) as srv:
            tokens = login_all(srv, [a, b])
            w = Workers(
                "catchup",
                [
                    {
                        "url": srv.ws_url,
                        "n": n,
                        "a": {"username": a, "token": tokens[a]},
                        "b": {"username": b, "token": tokens[b]},
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
            self.fail(f"catch-up: {res}")
            self.table.add(
                "7 catch-up", f"time until current after {n:,} missed updates", None, target="≤ 1 s", met=False
            )
            return
        acked = res.pop("acked")
        check = self.check_stored("catch-up", srv, acked)
        res.update({"fill_s": ready["fill_s"], "stored": check})
        self.data["scenarios"]["7_catchup"] = res
        ok = res["in_order"] and res["dups"] == 0 and res["updates"] == res["expected"] and res["messages"] >= n
        if not ok:
            self.fail(f"catch-up not exactly once in order: {res}")
        t = self.table
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

    # --- 4

    def s4_connections(self) -> None:
        p = self.p
        c, active = p["conns"], p["conn_active_pairs"] * 2
        d = self.tmp / "conns"
        info = fresh_users(d, c + active, messages=5 * (c + active), peers=6)  # everyone has chats: presence flows
        names = [loader.username(i) for i in range(1, c + active + 1)]
        tokens = mint_tokens(d / "payambar.db", SECRET, names)
        per_impl = {}
        for impl in p["ws_impls"]:
            with self.server("conns", ws=impl, keep=True) as srv:
                time.sleep(0.5)
                idle_rss = srv.rss()
                # Ten real logins over HTTP, so the session cache and login path are warm like in production.
                login_all(srv, names[:10])
                time.sleep(0.5)
                before = srv.rss()
                cpu_before = srv.cpu_rss()[0]
                idle = Workers(
                    "idle",
                    [
                        {
                            "url": srv.ws_url,
                            "tokens": [tokens[x] for x in part],
                            "concurrency": 64,
                            "deflate": not self.args.no_deflate,
                        }
                        for part in split(names[active:], p["conn_workers"])
                    ],
                )
                try:
                    idle.expect("ready", 60)
                    idle.send("go", {})
                    ramped = idle.expect("ramped", 600)
                    ok = sum(r["ok"] for r in ramped)
                    t_ramp = max(r["t_end"] for r in ramped) - min(r["t_start"] for r in ramped)
                    ramp_cpu = srv.cpu_rss()[0] - cpu_before
                    time.sleep(1.0)
                    held = srv.rss()
                    c0, t_idle = srv.cpu_rss()[0], time.monotonic()
                    time.sleep(p["idle_measure_s"])  # all held, nobody talking: what do idle sockets cost?
                    idle_cpu_pct = 100 * (srv.cpu_rss()[0] - c0) / (time.monotonic() - t_idle)
                    health = httpx.get(srv.base + "/health", timeout=10).json()
                    groups = self.chat_groups(names[:active], tokens, p["conn_active_pairs"], 0, 0)
                    chat = self.run_chat(
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
                self.fail(f"connections {impl}: only {ok} of {c} connected: {res['ramp_errors']}")
        self.data["scenarios"]["4_connections"] = {"loader": info, "by_impl": per_impl}
        t = self.table
        best = min(per_impl.values(), key=lambda r: r["per_conn_kb"])
        for impl, r in per_impl.items():
            tag = f"4 conns {impl}"
            t.add(
                tag,
                "authenticated idle connections held",
                f"{r['connections']:,}",
                target=f"≥ {c:,}",
                met=r["connections"] >= c,
            )
            t.add(tag, "RSS per connection", r["per_conn_kb"], "KB", target="≤ 50", met=r["per_conn_kb"] <= 50)
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
            )
        if len(per_impl) > 1:
            t.add("4 conns", "less memory per idle connection", best["impl"])

    # --- 5

    def s5_history(self) -> None:
        p = self.p
        d = self.tmp / "history"
        d.mkdir(parents=True, exist_ok=True)
        db_path = d / "payambar.db"
        info = loader.load(db_path, p["hist_users"], p["hist_messages"], peers=10, cost=4)
        print(
            f"  loaded {info['messages']:,} messages for {info['users']:,} users in {info['seconds']:.1f}s", flush=True
        )
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
        with self.server("history", keep=True) as srv:
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
        self.gen_cpu.append({"scenario": "history", "pct": res["gen_cpu_pct"], "processes": len(done)})
        self.data["scenarios"]["5_history"] = res
        print(f"  history: {kinds}, errors {errors} {res['error_samples'][:2]}, server {server}", flush=True)
        if errors:
            self.fail(f"history: {errors} failed requests: {res['error_samples']}")
        t = self.table
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

    # --- 8

    def s8_postgres(self) -> None:
        """Scenario 2 again with DATABASE_URL=postgresql://… (the local server, trust auth)."""
        p = self.p
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], capture_output=True).returncode != 0:
            print("  PostgreSQL is not running on 127.0.0.1:5432: skipped", flush=True)
            self.table.add("8 PostgreSQL", "chat throughput", "skipped: no PostgreSQL on 127.0.0.1:5432")
            return
        name = f"payambar_bench_{os.getpid()}"
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"

        def psql(sql: str, db: str = "postgres") -> str:
            r = subprocess.run(
                ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qtA", "-c", sql],
                capture_output=True,
                text=True,
            )
            if r.returncode != 0:
                raise RuntimeError(f"psql: {r.stderr.strip()}")
            return r.stdout

        psql(f"DROP DATABASE IF EXISTS {name}")
        psql(f"CREATE DATABASE {name}")
        try:
            n = p["chat_pairs"] * 2 + p["chat_fans"] * (1 + p["fan_k"])
            d = self.tmp / "pg"
            d.mkdir(parents=True, exist_ok=True)
            env = {"DATABASE_URL": url}
            with Server(d, log_path=self.tmp / "pg.log", env=env, ws=self.args.ws):
                pass  # the first start migrates the schema
            # Loader-style users (the shared cheap hash), written before the server starts again.
            import bcrypt

            pw = bcrypt.hashpw(loader.PASSWORD.encode(), bcrypt.gensalt(4)).decode()
            now = int(time.time() * 1000)
            psql(
                "INSERT INTO users (id, username, username_key, display_name, bio, password_hash, created_at)"
                f" SELECT i, 'user' || lpad(i::text, 5, '0'), 'user' || lpad(i::text, 5, '0'), 'User ' || i, '',"
                f" '{pw}', {now} FROM generate_series(1, {n}) AS i",
                name,
            )
            names = [loader.username(i) for i in range(1, n + 1)]
            with Server(d, log_path=self.tmp / "pg.log", env=env, ws=self.args.ws) as srv:
                tokens = login_all(srv, names)
                groups = self.chat_groups(names, tokens, p["chat_pairs"], p["chat_fans"], p["fan_k"])
                res = self.run_chat(
                    srv,
                    groups,
                    workers=p["chat_workers"],
                    duration=p["chat_duration"],
                    warmup=p["chat_warmup"],
                    label="chat-pg",
                )
            acked = res.pop("_acked_rows")
            rows = [
                tuple(line.split("|", 2))
                for line in psql(
                    "SELECT u.username, m.id, m.client_id FROM messages m JOIN users u ON u.id = m.sender_id", name
                ).splitlines()
                if line
            ]
            by_key: dict = {}
            for uname, mid, cid in rows:
                by_key.setdefault((uname, cid), []).append(int(mid))
            bad = sum(1 for u, c, m in acked if by_key.get((u, c)) != [m])
            ok = bad == 0 and len({(u, c) for u, c, _ in acked}) == len(acked) and bool(acked)
            if not ok:
                self.fail(f"postgres: {bad} of {len(acked)} acknowledged messages not stored exactly once")
            size = int(
                psql(
                    "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n"
                    " ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'",
                    name,
                )
                or 0
            )
            res["stored"] = {"acked": len(acked), "rows": len(rows), "not_exactly_once": bad, "ok": ok}
            res["disk_per_message"] = size / max(1, len(rows))
            self.data["scenarios"]["8_postgres"] = res
            t, r = self.table, res["rate"]
            t.add(
                "8 PostgreSQL",
                "persisted messages/s (scenario 2 on PostgreSQL)",
                r,
                "msg/s",
                target="≥ 10 000 and ≥ 0.40 × relay",
                met=r >= 10_000 and (self.ratio(r) or 0) >= 0.40,
                ratio=self.ratio(r),
                fmt="{:,.0f}",
            )
            t.add(
                "8 PostgreSQL",
                "acked messages stored exactly once",
                f"{len(acked):,} acked, {len(rows):,} rows",
                target="all",
                met=ok,
            )
            dl = res["deliver"]
            t.add("8 PostgreSQL", "send → recipient p50 / p99", f"{dl['p50'] or 0:.1f} / {dl['p99'] or 0:.1f}", "ms")
            t.add(
                "8 PostgreSQL",
                "server CPU per message (PostgreSQL's own CPU not counted)",
                res["server_us_per_msg"],
                "µs",
            )
            t.add(
                "8 PostgreSQL",
                "disk per message (tables + indexes + TOAST)",
                res["disk_per_message"],
                "B",
                fmt="{:,.0f}",
            )
        finally:
            try:
                psql(f"DROP DATABASE IF EXISTS {name}")
            except RuntimeError as e:
                print(f"  could not drop {name}: {e}", flush=True)

    # --- profile

    def profile_during(self, srv: Server, duration: float) -> None:
        spy = ROOT / ".venv" / "bin" / "py-spy"
        if not spy.exists():
            print("  (py-spy not installed: .venv/bin/pip install py-spy==0.4.3)", flush=True)
            return
        extra = os.environ.get("BENCH_PYSPY_ARGS", "").split()  # e.g. --native (which cannot be nonblocking)
        if "--native" not in extra:
            extra.append("--nonblocking")
        out = RESULTS / "profile-chat.txt"
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.spy = subprocess.Popen(
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
        self.data["profile"] = str(out)

    # --- the run

    def quiet_check(self) -> float:
        """Machine CPU busy (of 100 % for all cores) before starting; wait for quiet if asked."""
        deadline = time.monotonic() + (self.args.wait_quiet or 0)
        while True:
            busy = psutil.cpu_percent(interval=1.0)
            if busy < 15 or time.monotonic() >= deadline:
                break
            print(f"  machine busy ({busy:.0f} % of all cores): waiting for quiet", flush=True)
            time.sleep(4)
        if busy >= 15:
            print(f"  WARNING: the machine was {busy:.0f} % busy before the run: figures are unreliable", flush=True)
        return busy

    def run(self) -> int:
        only = set(self.args.only.split(",")) if self.args.only else None
        steps = [
            ("1", self.s1_relay),
            ("2", self.s2_chat),
            ("3", self.s3_s6_steady_and_storm),
            ("7", self.s7_catchup),
            ("4", self.s4_connections),
            ("5", self.s5_history),
            ("8", self.s8_postgres),
        ]
        self.data["machine_busy_before_pct"] = self.quiet_check()
        started = time.monotonic()
        for key, step in steps:
            if key == "8" and self.args.smoke and not (only and "8" in only):
                continue  # the smoke stays on SQLite unless asked (--only …,8)
            if only and key not in only and not (key == "3" and "6" in only):
                continue
            print(f"[{time.monotonic() - started:6.1f}s] scenario {key}: {step.__doc__ or step.__name__}", flush=True)
            try:
                step()
            except Exception as e:
                traceback.print_exc()
                self.fail(f"scenario {key} raised {e!r}")
        elapsed = time.monotonic() - started
        self.finish(elapsed)
        return 1 if self.failures else 0

    def finish(self, elapsed: float) -> None:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        if os.environ.get("BENCH_SERVER_DIR"):
            commit += f" (server from {os.environ['BENCH_SERVER_DIR']})"
        meta = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "commit": commit or "none",
            "machine": f"{platform.node()} {platform.machine()}, {psutil.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}",
            "smoke": self.args.smoke,
            "elapsed_s": elapsed,
            "deflate_offered": not self.args.no_deflate,
            "generator_cpu": self.gen_cpu,
            "failures": self.failures,
        }
        self.data["meta"] = meta
        self.data["table"] = self.table.rows
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = f"{'smoke' if self.args.smoke else 'full'}-{stamp}.json"
        write_json(RESULTS / name, self.data)
        write_json(RESULTS / ("latest-smoke.json" if self.args.smoke else "latest.json"), self.data)
        print()
        print(
            f"Payambar bench — {meta['date']}, commit {meta['commit']}, {meta['machine']}"
            f"{' (SMOKE: tiny counts, figures mean nothing)' if self.args.smoke else ''}"
        )
        print(f"machine busy before the run: {self.data.get('machine_busy_before_pct', 0):.0f} % of all cores")
        print(self.table.render())
        for g in self.gen_cpu:
            print(f"generator CPU in {g['scenario']}: {g['pct']:.0f} % of one core over {g['processes']} process(es)")
        print(f"JSON: {RESULTS / name}   ({elapsed:.1f}s)")
        if self.failures:
            print("FAILED:\n  " + "\n  ".join(self.failures))
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"data kept in {self.tmp}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="seconds-long run with tiny counts; asserts correctness only")
    ap.add_argument("--only", help="comma-separated scenario numbers, e.g. 1,2 (6 runs with 3)")
    ap.add_argument(
        "--profile", action="store_true", help="py-spy the server during scenario 2 (raw stacks in results/)"
    )
    ap.add_argument("--no-deflate", action="store_true", help="clients do not offer permessage-deflate")
    ap.add_argument("--ws", help="override the Procfile's --ws for every server (scenario 4 compares its own list)")
    ap.add_argument("--wait-quiet", type=float, default=0, help="wait up to this many seconds for an idle machine")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data folders")
    ap.add_argument("--chat-workers", type=int, help="generator processes for scenarios 1 and 2")
    ap.add_argument("--window", type=int, help="messages in flight per sender in scenarios 1 and 2 (default 4)")
    args = ap.parse_args(argv)
    raise_nofile()
    b = Bench(args)
    if args.chat_workers:
        b.p = {**b.p, "chat_workers": args.chat_workers}
    if args.window:
        b.p = {**b.p, "window": args.window}
    return b.run()


if __name__ == "__main__":
    sys.exit(main())
