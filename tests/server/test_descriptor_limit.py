"""Every connection is a descriptor: the server takes the most open files the system allows and
says in one line when that caps how many connections it can hold."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

PROBE = """
import logging, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (256, {hard}))
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(message)s")
from server import process
process.raise_descriptor_limit()
print("limit", *resource.getrlimit(resource.RLIMIT_NOFILE))
"""


def _probe(hard: int) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(hard=hard)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_soft_limit_is_raised_to_the_hard_one_and_a_low_hard_limit_is_named():
    output = _probe(4096)
    assert "limit 4096 4096" in output
    said = [line for line in output.splitlines() if "open-files" in line]
    assert len(said) == 1 and said[0].startswith("INFO")
    assert "limit 4096" in said[0] and "3996 connections" in said[0]


def test_a_generous_hard_limit_is_taken_without_a_word():
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard >= 65_536:
        output = _probe(65_536)
        assert "limit 65536 65536" in output and "open-files" not in output
    else:  # this machine's own hard limit is lower: lowering is all a process may do
        output = _probe(hard)
        assert f"limit {hard} {hard}" in output and f"open-files limit {hard}" in output
