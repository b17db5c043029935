"""What every scenario shares: the run's parameters, its table and results, the chat pattern.

A scenario is a module in `bench/scenarios/` with a `run(bench)` function; `bench` is the
`Bench` here: where its servers' data goes, the table it adds rows to, the JSON it fills,
and `run_chat`, the one chat pattern driven against the bare relay and the server alike.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import psutil

from bench.checks import stored_exactly_once
from bench.proc import Server
from bench.report import Table, dist, samples
from bench.workers import Workers, split

RESULTS = Path(__file__).resolve().parent / "results"
SECRET = "bench-secret-key-" + "x" * 32

FULL = {
    "chat_duration": 10.0,
    "chat_warmup": 1.0,
    "chat_pairs": 40,
    "chat_fans": 10,
    "fan_k": 3,
    "window": 4,
    "chat_workers": None,  # None: as many generator processes as scenario 1 found the relay needs
    "relay_max_workers": 6,
    "scale_out_baseline": True,  # scenario 9 first runs one instance on PostgreSQL + Redis
    "steady_rate": 1000,
    "steady_pairs": 100,
    "steady_duration": 10.0,
    "storm_rate": 20.0,
    "storm_users": 10,
    "catchup_n": 10_000,
    "conns": 100_000,  # the figure; bench/scenarios/held.py caps it at the open-files limit
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
    "settle_s": 0.5,  # scenario 4: pauses for RSS to settle before it is read
}
SMOKE = {
    "chat_duration": 1.5,
    "chat_warmup": 0.2,
    "chat_pairs": 3,
    "chat_fans": 1,
    "fan_k": 2,
    "window": 4,
    "chat_workers": None,
    "relay_max_workers": 2,
    "scale_out_baseline": False,
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
    "settle_s": 0.1,
}


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.p = SMOKE if args.smoke else FULL
        self.tmp = Path(tempfile.mkdtemp(prefix="payambar-bench-"))
        self.table = Table()
        self.data: dict = {"scenarios": {}}
        self.failures: list[str] = []
        self.relay_rate: float | None = None
        self.relay_workers: int | None = None  # generator processes the relay needed (scenario 1)
        self.gen_cpu: list[dict] = []

    def server(self, name: str, *, app: str | None = None, ws: str | None = None, keep: bool = False) -> Server:
        d = self.tmp / name
        if not keep and d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True, exist_ok=True)
        return Server(d, app=app, ws=ws or self.args.ws, log_path=self.tmp / f"{name}.log")

    def chat_workers(self) -> int:
        """Generator processes for the chat pattern: `--chat-workers`, else what the relay needed, else 1."""
        return self.p["chat_workers"] or self.relay_workers or 1

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
        check_seq: bool = True,
    ) -> dict:
        cfgs = [
            {
                "url": srv.ws_url,
                "groups": gs,
                "window": window or self.p["window"],
                "rate": rate,
                "prefix": f"{label}{i}",
                "deflate": not self.args.no_deflate,
                "batch": not self.args.no_batch,
                "grace": 5.0,
                "check_seq": check_seq,
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
            "t_window": (t0, t1),
            "sent": sum(d["sent"] for d in done),
            "acked": len(acked),
            "arrived": sum(d["arrived"] for d in done),
            "receipts": sum(d["receipts"] for d in done),
            "dup_arrivals": sum(d["dup_arrivals"] for d in done),
            "unsettled": sum(d["unsettled"] for d in done),
            "closed_unexpectedly": sum(d["closed_unexpectedly"] for d in done),
            "seq_gaps": sum(d["seq_gaps"] for d in done),
            "seq_repeats": sum(d["seq_repeats"] for d in done),
            "frames_in": sum(d["frames_in"] for d in done),
            "batches_in": sum(d["batches_in"] for d in done),
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
        # Every acknowledged message reached its recipient live (the window waits for both).
        res["live_ok"] = (
            res["unsettled"] == 0 and res["arrived"] >= res["acked"] and not res["seq_gaps"] + res["seq_repeats"]
        )
        if check_seq and not res["live_ok"]:
            self.fail(
                f"{label}: live delivery incomplete: {res['unsettled']} unsettled, {res['arrived']} arrived of"
                f" {res['acked']} acked, {res['seq_gaps']} seq gaps, {res['seq_repeats']} repeats"
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

    def cpu_rows(self, tag: str, res: dict) -> None:
        """Server, generator and whole-machine CPU of a chat run, and which of them was the limit."""
        srv = res["server"]
        server, machine = srv.get("cpu_pct") or 0, srv.get("machine_busy_pct") or 0
        n = res["gen_processes"]
        others = others_pct(res)
        self.table.add(
            tag,
            "CPU: server / generator / whole machine (others)",
            f"{server:.0f} % / {res['gen_cpu_pct']:.0f} % ({n} process{'es' if n > 1 else ''},"
            f" busiest {res['gen_cpu_max_process_pct']:.0f} %) / {machine:.0f} % of {100 * CORES}"
            f" ({others:.0f} %{BUSY if others >= BUSY_PCT else ''})",
        )
        self.table.add(tag, "generator CPU per message", res["gen_us_per_msg"], "µs")
        self.table.add(tag, "limited by", limit(res))
        if res["acked"]:
            self.table.add(
                tag,
                "frames to the clients per message (of them batched `updates` frames)",
                f"{res['frames_in'] / res['acked']:.2f} ({res['batches_in'] / res['acked']:.2f})",
            )


CORES = psutil.cpu_count() or 1
BUSY_PCT = 20  # other processes using this much of the machine make wall-clock figures unreliable
BUSY = ": BUSY MACHINE"


def others_pct(res: dict) -> float:
    """CPU used by everything but the server, its PostgreSQL backends and Redis (where measured)
    and the generator during a run (% of one core)."""
    srv = res["server"]
    ours = (srv.get("cpu_pct") or 0) + res["gen_cpu_pct"]
    ours += (res.get("postgres_cpu_pct") or 0) + (res.get("redis_cpu_pct") or 0)  # the database serving it
    return max(0.0, (srv.get("machine_busy_pct") or 0) - ours)


def limit(res: dict) -> str:
    """What held a closed-loop chat run back: the server's core, a generator's core, or the machine."""
    srv = res["server"]
    server, machine = srv.get("cpu_pct") or 0, srv.get("machine_busy_pct") or 0
    workers = srv.get("workers", 1)
    if server >= 90 * workers:
        return f"server ({server:.0f} % of {workers} core{'s' if workers > 1 else ''})"
    if res["gen_cpu_max_process_pct"] >= 90:
        return f"generator (a process at {res['gen_cpu_max_process_pct']:.0f} % of a core)"
    if machine >= 90 * CORES:
        others = others_pct(res)
        return f"machine ({machine:.0f} % of {100 * CORES} busy, {others:.0f} % of it other processes)"
    return "neither core full: latency × window"
