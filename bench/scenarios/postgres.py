"""8 — scenario 2 on PostgreSQL: a fresh database on the local server, checked, then dropped."""

from __future__ import annotations

from bench import loader
from bench.checks import pg_disk, stored_exactly_once_pg
from bench.context import Bench
from bench.proc import PostgresDB, ProcessCPU, Server, postgres_backends, postgres_ready
from bench.users import login_all

KEY = "8"
IN_SMOKE = False  # the smoke stays on SQLite unless asked (--smoke --only …,8)
TITLE = "chat throughput on PostgreSQL"


def run(b: Bench) -> None:
    """Scenario 2 again with DATABASE_URL=postgresql://… (the local server, trust auth)."""
    p = b.p
    if not postgres_ready():
        print("  PostgreSQL is not running on 127.0.0.1:5432: skipped", flush=True)
        b.table.add("8 PostgreSQL", "chat throughput", "skipped: no PostgreSQL on 127.0.0.1:5432")
        return
    with PostgresDB("chat") as db:
        n = p["chat_pairs"] * 2 + p["chat_fans"] * (1 + p["fan_k"])
        d = b.tmp / "pg"
        d.mkdir(parents=True, exist_ok=True)
        env = {"DATABASE_URL": db.url}
        loader.load(db.url, n)  # the store's migrations and users, as the server makes them
        names = [loader.username(i) for i in range(1, n + 1)]
        pg_cpu = ProcessCPU(postgres_backends(db.name))
        with Server(d, log_path=b.tmp / "pg.log", env=env, ws=b.args.ws) as srv:
            pg_cpu.start()
            tokens = login_all(srv, names)
            groups = b.chat_groups(names, tokens, p["chat_pairs"], p["chat_fans"], p["fan_k"])
            if b.args.profile:
                from bench.scenarios.chat import profile_during

                profile_during(b, srv, p["chat_duration"], name="chat-pg")
            res = b.run_chat(
                srv,
                groups,
                workers=b.chat_workers(),
                duration=p["chat_duration"],
                warmup=p["chat_warmup"],
                label="chat-pg",
            )
        pg_cpu.stop()
        pct = pg_cpu.cpu_pct(*res["t_window"])
        res["postgres_cpu_pct"] = pct
        res["postgres_us_per_msg"] = pct / 100 * 1e6 / res["rate"] if pct is not None and res["rate"] else None
        acked = res.pop("_acked_rows")
        check = stored_exactly_once_pg(db, acked)
        bad = check["missing"] + check["duplicated"] + check["wrong_id"]
        ok = check["ok"] and bool(acked)
        if not ok:
            b.fail(f"postgres: {bad} of {len(acked)} acknowledged messages not stored exactly once: {check}")
        res["stored"] = {"acked": len(acked), "rows": check["rows"], "not_exactly_once": bad, "ok": ok}
        res["disk_per_message"] = pg_disk(db) / max(1, check["rows"])
    b.data["scenarios"]["8_postgres"] = res
    t, r = b.table, res["rate"]
    t.add(
        "8 PostgreSQL",
        "persisted messages/s (scenario 2 on PostgreSQL)",
        r,
        "msg/s",
        target="≥ 10 000 and ≥ 0.40 × relay",
        met=r >= 10_000 and (b.ratio(r) or 0) >= 0.40,
        ratio=b.ratio(r),
        fmt="{:,.0f}",
    )
    t.add(
        "8 PostgreSQL",
        "acked messages stored exactly once",
        f"{len(acked):,} acked, {check['rows']:,} rows",
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
    t.add("8 PostgreSQL", "PostgreSQL CPU per message (this database's backends)", res["postgres_us_per_msg"], "µs")
    b.cpu_rows("8 PostgreSQL", res)
    t.add(
        "8 PostgreSQL",
        "disk per message (tables + indexes + TOAST)",
        res["disk_per_message"],
        "B",
        fmt="{:,.0f}",
    )
