"""The load bench: `python -m bench.run` (full, ~10 min) or `python -m bench.run --smoke` (seconds).

Starts the real server as the Procfile does (production settings, a fresh data folder per
scenario), drives it from separate generator processes, prints one table, writes JSON to
bench/results/, and exits non-zero when a correctness check fails (an acknowledged message
not stored exactly once, a catch-up out of order or with gaps, a scenario that errored).

The scenarios are the modules of `bench/scenarios/` (listed there, in run order); what they
share is `bench/context.py`; servers are started and watched by `bench/proc.py`.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback

import psutil

from bench.context import RESULTS, Bench
from bench.proc import ROOT, raise_nofile
from bench.report import write_json
from bench.scenarios import SCENARIOS


def quiet_check(b: Bench) -> float:
    """Machine CPU busy (of 100 % for all cores) before starting; wait for quiet if asked."""
    deadline = time.monotonic() + (b.args.wait_quiet or 0)
    while True:
        busy = psutil.cpu_percent(interval=1.0)
        if busy < 15 or time.monotonic() >= deadline:
            break
        print(f"  machine busy ({busy:.0f} % of all cores): waiting for quiet", flush=True)
        time.sleep(4)
    if busy >= 15:
        print(f"  WARNING: the machine was {busy:.0f} % busy before the run: figures are unreliable", flush=True)
    return busy


def selected(module, only: set[str] | None, smoke: bool) -> bool:
    """Whether a scenario runs: all by default; `--only` picks by key (or a key it also covers);
    scenarios needing more than SQLite stay out of the smoke unless named."""
    keys = {module.KEY, *getattr(module, "ALSO", ())}
    if only is not None:
        return bool(keys & only)
    return getattr(module, "IN_SMOKE", True) or not smoke


def run(b: Bench) -> int:
    only = set(b.args.only.split(",")) if b.args.only else None
    b.data["machine_busy_before_pct"] = quiet_check(b)
    started = time.monotonic()
    for module in SCENARIOS:
        if not selected(module, only, b.args.smoke):
            continue
        print(f"[{time.monotonic() - started:6.1f}s] scenario {module.KEY}: {module.TITLE}", flush=True)
        try:
            module.run(b)
        except Exception as e:
            traceback.print_exc()
            b.fail(f"scenario {module.KEY} raised {e!r}")
    elapsed = time.monotonic() - started
    finish(b, elapsed)
    return 1 if b.failures else 0


def finish(b: Bench, elapsed: float) -> None:
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
        "smoke": b.args.smoke,
        "elapsed_s": elapsed,
        "deflate_offered": not b.args.no_deflate,
        "batch_asked": not b.args.no_batch,
        "generator_cpu": b.gen_cpu,
        "failures": b.failures,
    }
    b.data["meta"] = meta
    b.data["table"] = b.table.rows
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{'smoke' if b.args.smoke else 'full'}-{stamp}.json"
    write_json(RESULTS / name, b.data)
    write_json(RESULTS / ("latest-smoke.json" if b.args.smoke else "latest.json"), b.data)
    print()
    print(
        f"Payambar bench — {meta['date']}, commit {meta['commit']}, {meta['machine']}"
        f"{' (SMOKE: tiny counts, figures mean nothing)' if b.args.smoke else ''}"
    )
    print(f"machine busy before the run: {b.data.get('machine_busy_before_pct', 0):.0f} % of all cores")
    print(b.table.render())
    for g in b.gen_cpu:
        print(f"generator CPU in {g['scenario']}: {g['pct']:.0f} % of one core over {g['processes']} process(es)")
    print(f"JSON: {RESULTS / name}   ({elapsed:.1f}s)")
    if b.failures:
        print("FAILED:\n  " + "\n  ".join(b.failures))
    if not b.args.keep:
        shutil.rmtree(b.tmp, ignore_errors=True)
    else:
        print(f"data kept in {b.tmp}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="seconds-long run with tiny counts; asserts correctness only")
    ap.add_argument("--only", help="comma-separated scenario numbers, e.g. 1,2 (6 runs with 3)")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the server in scenarios 2, 3, 4 (the ramp), 5, 8 and 9 (each instance; raw stacks in results/)",
    )
    ap.add_argument("--no-deflate", action="store_true", help="clients do not offer permessage-deflate")
    ap.add_argument(
        "--no-batch", action="store_true", help='clients do not ask for batched frames ("batch": true in auth)'
    )
    ap.add_argument("--ws", help="override the Procfile's --ws for every server (scenario 4 compares its own list)")
    ap.add_argument("--wait-quiet", type=float, default=0, help="wait up to this many seconds for an idle machine")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data folders")
    ap.add_argument(
        "--chat-workers",
        type=int,
        help="generator processes for the chat pattern (default: stepped in scenario 1 until the relay stops rising)",
    )
    ap.add_argument("--window", type=int, help="messages in flight per sender in scenarios 1 and 2 (default 4)")
    args = ap.parse_args(argv)
    raise_nofile()
    b = Bench(args)
    if args.chat_workers:
        b.p = {**b.p, "chat_workers": args.chat_workers}
    if args.window:
        b.p = {**b.p, "window": args.window}
    return run(b)


if __name__ == "__main__":
    sys.exit(main())
