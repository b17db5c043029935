"""The call screen's security code (docs/calls.md, "The security code"): the document's test
vector, computed here from the written steps and by the browser's own `shortCode` (tests/browser/test_call_code.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

DOC = (Path(__file__).resolve().parents[2] / "docs" / "calls.md").read_text()
ONE = "sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3A:7D:1C:24:0E:7A:B6:1D:85:1D:9C:52"
TWO = "sha-256 76:3E:19:2C:C5:A6:1B:7A:84:F5:B7:42:69:39:08:63:4F:43:CD:88:E5:6E:9E:49:7C:59:B6:90:92:CF:4F:51"
CODE = "7756 9226"


def code_of(first: str, second: str) -> str:
    digest = hashlib.sha256("\n".join(sorted([first, second])).encode()).digest()
    digits = f"{int.from_bytes(digest[:4], 'big') % 100_000_000:08d}"
    return f"{digits[:4]} {digits[4:]}"


def test_the_documents_vector_follows_from_its_steps():
    assert ONE in DOC and TWO in DOC and f"code: {CODE}" in DOC
    assert hashlib.sha256(f"{ONE}\n{TWO}".encode()).hexdigest() in DOC
    assert code_of(ONE, TWO) == code_of(TWO, ONE) == CODE
