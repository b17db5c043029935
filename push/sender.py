"""Sending one Web Push message: the payload encrypted for the subscription (RFC 8291,
aes128gcm), a VAPID token for the push service (RFC 8292), one HTTPS POST with a timeout.

The crypto is the libraries' (http_ece, py_vapid); it runs in a worker thread, and the POST goes
through an async client, so the event loop only waits.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import http_ece
import httpcore
import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from push import keys
from push.endpoint import PublicOnlyBackend

log = logging.getLogger("payambar.push")

TIMEOUT_SECONDS = 10.0
TOKEN_LIFETIME_SECONDS = 12 * 3600  # RFC 8292 allows up to 24 h; renewed at half-life
MAX_CONNECTIONS = 16


@dataclass(frozen=True, slots=True)
class Subscription:
    endpoint: str
    p256dh: str  # base64url, the browser's P-256 public key
    auth: str  # base64url, 16 bytes


def encrypt(payload: bytes, subscription: Subscription) -> bytes:
    """The aes128gcm body for this subscription, with a fresh sender key and salt."""
    return http_ece.encrypt(
        payload,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=keys.b64url_decode(subscription.p256dh),
        auth_secret=keys.b64url_decode(subscription.auth),
        version="aes128gcm",
    )


def _transport(ssl_context: ssl.SSLContext, allow_private: bool) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, trust_env=False)
    if not allow_private:
        # httpx takes no network backend of its own; its pool is replaced by the same pool
        # connecting through the public-only backend (httpx is pinned in requirements.txt).
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, max_connections=MAX_CONNECTIONS, network_backend=PublicOnlyBackend()
        )
    return transport


class Sender:
    def __init__(self, private_key: str, subject: str, allow_private: bool = False, ca_file: str = "") -> None:
        self.signer = keys.load(private_key)
        self.public_key = keys.public_key(self.signer)
        self.subject = subject
        ssl_context = ssl.create_default_context()
        if ca_file:
            ssl_context.load_verify_locations(ca_file)
        self.client = httpx.AsyncClient(
            transport=_transport(ssl_context, allow_private),
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS),
        )
        self._tokens: dict[str, tuple[str, float]] = {}  # push service origin -> (header, renew at)

    def _authorization(self, endpoint: str) -> str:
        url = urlsplit(endpoint)
        audience = f"{url.scheme}://{url.netloc}"
        known = self._tokens.get(audience)
        if known and known[1] > time.time():
            return known[0]
        expires = int(time.time()) + TOKEN_LIFETIME_SECONDS
        header = self.signer.sign({"aud": audience, "sub": self.subject, "exp": expires})["Authorization"]
        if len(self._tokens) > 1000:
            self._tokens.clear()
        self._tokens[audience] = (header, time.time() + TOKEN_LIFETIME_SECONDS / 2)
        return header

    def _prepare(self, payload: bytes, subscription: Subscription) -> tuple[bytes, str]:
        return encrypt(payload, subscription), self._authorization(subscription.endpoint)

    async def send(self, subscription: Subscription, payload: bytes, ttl: int, urgency: str, topic: str) -> int:
        """POSTs the message; the push service's status, or 0 when it could not be reached."""
        body, authorization = await asyncio.to_thread(self._prepare, payload, subscription)
        headers = {
            "Authorization": authorization,
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(ttl),
            "Urgency": urgency,
            "Topic": topic,
        }
        try:
            async with self.client.stream("POST", subscription.endpoint, content=body, headers=headers) as answer:
                return answer.status_code  # the answer's body is never read: it is not needed
        except httpx.HTTPError as error:
            log.info("push to %s failed: %s", urlsplit(subscription.endpoint).hostname, error)
            return 0

    async def close(self) -> None:
        await self.client.aclose()
