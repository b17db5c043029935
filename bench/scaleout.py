"""Scale-out runs: the chat pattern on PostgreSQL + Redis, one instance, two, or N workers in one.

Every instance is the Procfile's `web:` line with `DATABASE_URL` (a fresh database on the local
PostgreSQL), `REDIS_URL` (a Redis of the run's own, so its CPU is measured) and
`WEB_CONCURRENCY`. The generator is scenario 2's, with the same process count; with two
instances each user connects to one picked at random, so about half of the recipients are on
the other instance. Checked for every run: each acknowledged message stored exactly once (in
PostgreSQL), every message arrived live at its recipient, and every connection's update stream
in order with no gap and no repeat. CPU is counted for the server processes, the database's
PostgreSQL backends and Redis, per persisted message.
"""

from __future__ import annotations

import random
from contextlib import ExitStack

from bench import loader
from bench.checks import stored_exactly_once_pg
from bench.context import Bench
from bench.proc import (
    SERVER_DIR,
    Cluster,
    PostgresDB,
    ProcessCPU,
    RedisServer,
    Server,
    postgres_backends,
    postgres_ready,
    redis_available,
)
from bench.users import login_all


def missing() -> str | None:
    """Why scale-out cannot run here, or None."""
    if not postgres_ready():
        return "no PostgreSQL on 127.0.0.1:5432"
    if not redis_available():
        return "no redis-server on this machine"
    if not (SERVER_DIR / "broadcast" / "redis.py").exists():
        return "the server has no Redis broadcaster yet (broadcast/redis.py)"
    return None


def chat(b: Bench, label: str, *, instances: int = 1, web_concurrency: int = 1) -> dict:
    """One chat-pattern run on a fresh PostgreSQL database and a fresh Redis; checked."""
    p = b.p
    n = p["chat_pairs"] * 2 + p["chat_fans"] * (1 + p["fan_k"])
    d = b.tmp / label
    d.mkdir(parents=True, exist_ok=True)
    with PostgresDB(label.replace("-", "_")) as db, RedisServer(d / "redis") as redis, ExitStack() as stack:
        env = {"DATABASE_URL": db.url, "REDIS_URL": redis.url, "WEB_CONCURRENCY": str(web_concurrency)}
        loader.load(db.url, n)  # the store's migrations and users, as the server makes them
        names = [loader.username(i) for i in range(1, n + 1)]
        servers = [
            stack.enter_context(Server(d, log_path=b.tmp / f"{label}-{i}.log", env=env, ws=b.args.ws))
            for i in range(instances)
        ]
        cluster = Cluster(servers, processes_each=web_concurrency)
        pg_cpu = ProcessCPU(postgres_backends(db.name)).start()
        stack.callback(pg_cpu.stop)
        tokens = login_all(servers[0], names)
        groups = b.chat_groups(names, tokens, p["chat_pairs"], p["chat_fans"], p["fan_k"])
        rnd = random.Random(7)
        cross = recipients = 0
        for g in groups:
            users = [g["sender"], *g["recipients"]]
            for u in users:
                u["instance"] = rnd.randrange(instances)
                u["url"] = servers[u["instance"]].ws_url
            recipients += len(g["recipients"])
            cross += sum(r["instance"] != g["sender"]["instance"] for r in g["recipients"])
        if b.args.profile and web_concurrency == 1:  # where the Redis path's CPU goes, per instance
            from bench.scenarios.chat import profile_during

            for i, srv in enumerate(servers):
                profile_during(b, srv, p["chat_duration"], name=f"{label}-{i}")
        res = b.run_chat(
            cluster,
            groups,
            workers=b.chat_workers(),
            duration=p["chat_duration"],
            warmup=p["chat_warmup"],
            label=label,
        )
        t0, t1 = res["t_window"]
        res["postgres_cpu_pct"] = pg_cpu.cpu_pct(t0, t1)
        res["redis_cpu_pct"] = redis.cpu.cpu_pct(t0, t1) if redis.cpu else None
        acked = res.pop("_acked_rows")
        check = stored_exactly_once_pg(db, acked)
    res["instances"], res["web_concurrency"] = instances, web_concurrency
    res["recipients_on_other_instance"] = f"{cross} of {recipients}"
    res["stored"] = check
    rate = res["rate"]
    for part in ("postgres", "redis"):
        pct = res[f"{part}_cpu_pct"]
        res[f"{part}_us_per_msg"] = pct / 100 * 1e6 / rate if pct is not None and rate else None
    parts = [res["server_us_per_msg"], res["postgres_us_per_msg"], res["redis_us_per_msg"]]
    res["total_us_per_msg"] = sum(parts) if None not in parts else None
    if not check["ok"] or not acked:
        b.fail(f"{label}: acknowledged messages not stored exactly once: {check}")
    # res["live_ok"]: every acked message arrived live, streams without gaps (run_chat checks it)
    b.data["scenarios"][label] = res
    return res


def rows(b: Bench, tag: str, res: dict) -> None:
    """The table rows of one scale-out run, beside the single-process figures of 2 and 8."""
    t, r = b.table, res["rate"]
    sqlite = b.data["scenarios"].get("2_chat", {})
    t.add(
        tag,
        "persisted messages/s, receipts flowing",
        r,
        "msg/s",
        target="≥ 10 000 and ≥ 0.40 × relay",
        met=r >= 10_000 and (b.ratio(r) or 0) >= 0.40,
        ratio=b.ratio(r),
        fmt="{:,.0f}",
    )
    if sqlite.get("rate"):
        t.add(tag, "× single-process SQLite (scenario 2, same run)", r / sqlite["rate"], "×", fmt="{:.2f}")
    st = res["stored"]
    t.add(
        tag,
        "acked messages stored exactly once",
        f"{st['acked']:,} acked, {st['rows']:,} rows",
        target="all",
        met=st["ok"],
    )
    t.add(
        tag,
        "arrived live, streams in order, no gap, no repeat",
        f"{res['arrived']:,} arrived, {res['unsettled']} unsettled,"
        f" {res['seq_gaps']} gaps, {res['seq_repeats']} repeats",
        target="all",
        met=res["live_ok"],
    )
    if res["instances"] > 1:
        t.add(tag, "recipients on the other instance", res["recipients_on_other_instance"])
    dl = res["deliver"]
    t.add(
        tag,
        "send → recipient p50 / p99",
        f"{dl['p50'] or 0:.1f} / {dl['p99'] or 0:.1f}",
        "ms",
        target="p99 ≤ 50",
        met=dl["p99"] is not None and dl["p99"] <= 50,
    )
    fmt = lambda v: "—" if v is None else f"{v:,.0f}"  # noqa: E731
    t.add(
        tag,
        "CPU per message: server + PostgreSQL + Redis = total",
        f"{fmt(res['server_us_per_msg'])} + {fmt(res['postgres_us_per_msg'])} + {fmt(res['redis_us_per_msg'])}"
        f" = {fmt(res['total_us_per_msg'])}",
        "µs",
    )
    per = res["server"].get("per_instance_cpu_pct") or []
    if len(per) > 1:
        t.add(tag, "server CPU per instance", " / ".join(f"{x or 0:.0f} %" for x in per))
    b.cpu_rows(tag, res)
