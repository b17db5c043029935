"""The bench's smoke run keeps working and every acknowledged message is stored exactly once.

It runs `python -m bench.run --smoke` as CI does: every scenario with tiny counts against the
real server started from the Procfile. Speed is not asserted here; figures come from the bench.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_smoke_stores_every_acknowledged_message_exactly_once():
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "stored exactly once" in run.stdout
