"""The bench's smoke runs keep working and every acknowledged message is stored exactly once.

They run `python -m bench.run --smoke` as CI does: every scenario with tiny counts against the
real server started from the Procfile. Speed is not asserted here; figures come from the bench.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def smoke(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_bench_smoke_stores_every_acknowledged_message_exactly_once():
    run = smoke()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "stored exactly once" in run.stdout


def services_missing() -> str | None:
    if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], capture_output=True).returncode != 0:
        return "no PostgreSQL on 127.0.0.1:5432"
    if shutil.which("redis-server") is None:
        return "no redis-server installed (the bench starts its own on a free port)"
    return None


def test_bench_scale_out_smoke_two_instances_and_two_workers_deliver_every_message_once():
    """Scenarios 9 and 10: two instances on PostgreSQL + Redis (recipients on the other instance)
    and WEB_CONCURRENCY=2: every acked message stored once, arrived live, streams without gaps."""
    why = services_missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide PostgreSQL and redis-server for the scale-out smoke: {why}")
        pytest.skip(why)
    run = smoke("--only", "9,10")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "skipped" not in run.stdout, run.stdout[-4000:]
    for tag in ("9 PG+Redis, 2 instances", "10 WEB_CONCURRENCY=2"):
        rows = [line for line in run.stdout.splitlines() if line.startswith(f"| {tag}")]
        assert any("stored exactly once" in r and "| yes" in r for r in rows), rows
        assert any("arrived live" in r and "| yes" in r for r in rows), rows
