"""Schemathesis hooks for the fuzz test: how to log in, how to make the values the document
marks with formats JSON Schema cannot express, and short long-polls."""

from __future__ import annotations

import base64
import os

import requests
import schemathesis
from hypothesis import strategies as st

BASE_URL = os.environ["FUZZ_BASE_URL"]
USERNAME, PASSWORD = os.environ["FUZZ_USERNAME"], os.environ["FUZZ_PASSWORD"]

# A name or message must show something: letters, digits, punctuation or symbols, maybe spaced.
_shown = st.characters(categories=["L", "N", "P", "S"])
schemathesis.openapi.format("visible-text", st.text(alphabet=_shown, min_size=1, max_size=24))
# A tus PATCH body is bytes; a few of them are enough to be refused or appended.
schemathesis.openapi.media_type("application/offset+octet-stream", st.binary(max_size=256))
# An envelope with a well-formed layout (docs/e2ee.md §7.1: one ratchet entry); the server never
# opens one, so the rest may be any bytes.
_ENVELOPE_HEAD = b"\x01" + b"\x01" * 8 + (1).to_bytes(8, "big") + b"\x01"
_ENTRY = b"\x02" * 8 + b"\x00" + b"\x03" * 32 + b"\x00" * 8 + b"\x04" * 48
_envelope = st.binary(min_size=60, max_size=120).map(
    lambda tail: base64.urlsafe_b64encode(_ENVELOPE_HEAD + _ENTRY + tail).rstrip(b"=").decode()
)
schemathesis.openapi.format("e2ee-envelope", _envelope)
# A reaction's emoji: the app's quick row and a few built of several code points.
schemathesis.openapi.format("emoji", st.sampled_from(["👍", "❤️", "😂", "🔥", "🙏", "👨‍👩‍👧", "🇮🇷", "👍🏽"]))
schemathesis.openapi.format("plain-text", st.text(alphabet=st.characters(categories=["L", "N", "P", "S", "Zs"])))


@schemathesis.auth(refresh_interval=None)
class Login:
    """The fuzzing account's token; a new one when a case logged it out or revoked it."""

    token: str | None = None

    def get(self, case, ctx):
        headers = {"authorization": f"Bearer {self.token}"}
        if self.token is None or requests.get(f"{BASE_URL}/api/me", headers=headers, timeout=10).status_code != 200:
            body = {"username": USERNAME, "password": PASSWORD}
            answer = requests.post(f"{BASE_URL}/api/auth/login", json=body, timeout=30)
            answer.raise_for_status()
            Login.token = answer.json()["token"]
        return self.token

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    # A long-poll waits up to `timeout` seconds (25 by default) when nothing is new; a fuzz run
    # makes that one second, which is still within every rule the document states.
    if case.operation.path != "/api/updates":
        return
    query = case.query if case.query is not None else {}
    timeout = query.get("timeout")
    if timeout is None or (not isinstance(timeout, bool) and str(timeout).isdigit() and 1 < int(timeout) <= 60):
        query["timeout"] = 1
        case.query = query
