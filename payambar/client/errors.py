"""The client's errors that more than one of its modules raise."""

from __future__ import annotations

import httpx


class ApiFailed(Exception):
    def __init__(self, response: httpx.Response) -> None:
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        error = body.get("error", {}) if isinstance(body, dict) else {}
        super().__init__(f"{response.status_code} {error.get('code')}: {error.get('message')}")
        self.status, self.code = response.status_code, error.get("code")


class PeerNotEncrypted(Exception):
    """The person has no keys; a plaintext send needs allow_plaintext=True."""
