"""The browser's security code (public/call.js `shortCode`) on docs/calls.md's test vector."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.calls.test_call_code import CODE, ONE, TWO

COMPUTE = "async ([a, b]) => (await import('/call.js')).shortCode(a, b)"


def sdp(fingerprint: str) -> str:
    """An SDP as a browser writes it, the fingerprint in lower case."""
    algorithm, value = fingerprint.split(" ")
    return f"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:{algorithm} {value.lower()}\r\n"


def test_both_sides_compute_the_documents_code_whichever_is_local(people):
    page = people.open()
    page.goto("/")
    assert page.evaluate(COMPUTE, [sdp(ONE), sdp(TWO)]) == CODE
    assert page.evaluate(COMPUTE, [sdp(TWO), sdp(ONE)]) == CODE
    assert page.evaluate(COMPUTE, [sdp(ONE), "v=0\r\n"]) is None  # no fingerprint, no code
