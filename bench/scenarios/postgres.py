"""8 — scenario 2 on PostgreSQL, plaintext and encrypted: a fresh database on the local server for
each, checked, then dropped."""

from __future__ import annotations

from bench import loader
from bench.checks import pg_disk, stored_exactly_once_pg
from bench.context import Bench
from bench.proc import PostgresDB, ProcessCPU, Server, postgres_backends, postgres_ready
from bench.scenarios.chat import both, prepare, profile_during

KEY = "8"
IN_SMOKE = False  # the smoke stays on SQLite unless asked (--smoke --only …,8)
TITLE = "chat throughput on PostgreSQL"


def run(b: Bench) -> None:
    """Scenario 2 again with DATABASE_URL=postgresql://… (the local server, trust auth), plaintext
    and end-to-end encrypted, each on a fresh database."""
    if not postgres_ready():
        print("  PostgreSQL is not running on 127.0.0.1:5432: skipped", flush=True)
        b.table.add("8 PostgreSQL", "chat throughput", "skipped: no PostgreSQL on 127.0.0.1:5432")
        return
    plain = run_one(b, encrypted=False)
    enc = run_one(b, encrypted=True)
    report(b, plain, enc)


def run_one(b: Bench, encrypted: bool) -> dict:
    p = b.p
    label = "chat-pg-e2ee" if encrypted else "chat-pg"
    with PostgresDB(label.replace("-", "_")) as db:
        n = p["chat_pairs"] * 2 + p["chat_fans"] * (1 + p["fan_k"])
        d = b.tmp / label
        d.mkdir(parents=True, exist_ok=True)
        env = {"DATABASE_URL": db.url}
        loader.load(db.url, n)  # the store's migrations and users, as the server makes them
        names = [loader.username(i) for i in range(1, n + 1)]
        pg_cpu = ProcessCPU(postgres_backends(db.name))
        with Server(d, log_path=b.tmp / f"{label}.log", env=env, ws=b.args.ws) as srv:
            pg_cpu.start()
            groups, _ = prepare(b, srv, names, p["chat_pairs"], p["chat_fans"], p["fan_k"], encrypted)
            if b.args.profile:
                profile_during(b, srv, p["chat_duration"], name=label)
            res = b.run_chat(
                srv,
                groups,
                workers=b.chat_workers(),
                duration=p["chat_duration"],
                warmup=p["chat_warmup"],
                label=label,
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
            b.fail(f"{label}: {bad} of {len(acked)} acknowledged messages not stored exactly once: {check}")
        res["stored"] = {"acked": len(acked), "rows": check["rows"], "not_exactly_once": bad, "ok": ok}
        res["disk_per_message"] = pg_disk(db) / max(1, check["rows"])
    b.data["scenarios"]["8_postgres_e2ee" if encrypted else "8_postgres"] = res
    return res


def report(b: Bench, plain: dict, enc: dict) -> None:
    t, tag = b.table, "8 PostgreSQL"
    rates = (plain["rate"], enc["rate"])
    ratios = [b.ratio(r) for r in rates]
    t.add(
        tag,
        "persisted messages/s (scenario 2 on PostgreSQL; plaintext / encrypted)",
        both(*rates),
        "msg/s",
        target="≥ 10 000 and ≥ 0.40 × relay",
        met=all(r >= 10_000 and (q or 0) >= 0.40 for r, q in zip(rates, ratios, strict=True)),
        ratio=both(*ratios, fmt="{:.2f}") if all(ratios) else None,
    )
    ps, es = plain["stored"], enc["stored"]
    t.add(
        tag,
        "acked messages stored exactly once, arrived live (plaintext / encrypted)",
        f"{ps['acked']:,} acked, {ps['rows']:,} rows / {es['acked']:,} acked, {es['rows']:,} rows",
        target="all",
        met=ps["ok"] and es["ok"] and plain["live_ok"] and enc["live_ok"],
    )
    pd, ed = plain["deliver"], enc["deliver"]
    t.add(
        tag,
        "send → recipient p50 / p99: plaintext · encrypted",
        f"{pd['p50'] or 0:.1f} / {pd['p99'] or 0:.1f} · {ed['p50'] or 0:.1f} / {ed['p99'] or 0:.1f}",
        "ms",
    )
    t.add(
        tag,
        "server CPU per message, PostgreSQL's own not counted (plaintext / encrypted)",
        both(plain["server_us_per_msg"], enc["server_us_per_msg"], "{:,.1f}"),
        "µs",
    )
    t.add(
        tag,
        "PostgreSQL CPU per message, this database's backends (plaintext / encrypted)",
        both(plain["postgres_us_per_msg"], enc["postgres_us_per_msg"], "{:,.1f}"),
        "µs",
    )
    b.cpu_rows(f"{tag} plain", plain)
    b.cpu_rows(f"{tag} e2ee", enc)
    t.add(
        tag,
        "disk per message, tables + indexes + TOAST (plaintext / encrypted)",
        both(plain["disk_per_message"], enc["disk_per_message"]),
        "B",
    )
