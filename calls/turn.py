"""TURN credentials by the TURN REST API scheme coturn implements with `use-auth-secret`.

The username is `<expiry>:<user id>` (expiry in seconds since the epoch) and the password is
base64(HMAC-SHA1(secret, username)). coturn recomputes the HMAC from the shared secret and
refuses a username whose expiry has passed, so no TURN password is ever stored or shared."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

MAX_LIFETIME_SECONDS = 3600


def turn_password(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def url_rank(url: str) -> int:
    """turns: first (TLS, usually on 443, passes filters that block everything else), then TURN
    over UDP, then TURN over TCP, then STUN."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "turns":
        return 0
    if scheme == "turn":
        return 2 if "transport=tcp" in url.lower() else 1
    return 3


def ice_servers(urls: tuple[str, ...], secret: str, user_id: int, lifetime: int, now: float | None = None) -> dict:
    """The RTCIceServer list for one user, and when its credentials stop working. Without TURN
    configured the list holds only what is configured (STUN or nothing): direct candidates."""
    lifetime = min(lifetime, MAX_LIFETIME_SECONDS)
    expires = int(now if now is not None else time.time()) + lifetime
    ordered = sorted(urls, key=url_rank)
    relays = [url for url in ordered if url_rank(url) < 3]
    stuns = [url for url in ordered if url_rank(url) == 3]
    servers: list[dict] = []
    if relays and secret:
        username = f"{expires}:{user_id}"
        servers.append({"urls": relays, "username": username, "credential": turn_password(secret, username)})
    if stuns:
        servers.append({"urls": stuns})
    return {"ice_servers": servers, "expires_at": expires, "relay": bool(relays and secret)}
