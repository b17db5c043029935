"""What /ws checks beyond the token: where the page that opened it came from, when its token
runs out, how fast one connection may type, and who may see typing and presence."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from urllib.parse import urlsplit

from starlette.types import Scope

TYPING_FRAMES = 10  # typing frames one connection may send ...
TYPING_WINDOW_SECONDS = 5.0  # ... within this long; the rest are dropped


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def origin_allowed(scope: Scope, cors_origins: tuple[str, ...]) -> bool:
    """A browser names the page's origin; it must be this app or an origin CORS_ORIGINS allows.
    Clients that are not browsers send no Origin and are let through (the token still counts)."""
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    if "*" in cors_origins or origin in cors_origins:
        return True
    host = _header(scope, b"host")
    return host is not None and urlsplit(origin).netloc.lower() == host.lower()


class TypingLimit:
    """Typing frames of one connection: a few per window, the rest dropped."""

    __slots__ = ("_sent",)

    def __init__(self) -> None:
        self._sent: deque[float] = deque(maxlen=TYPING_FRAMES)

    def allow(self) -> bool:
        now = time.monotonic()
        if len(self._sent) == TYPING_FRAMES and now - self._sent[0] < TYPING_WINDOW_SECONDS:
            return False
        self._sent.append(now)
        return True


async def apart(accounts, user_id: int, other_id: int) -> bool:
    """Whether either of the two blocks the other: then no receipt, typing or presence crosses."""
    return await accounts.blocks(user_id, other_id) or await accounts.blocks(other_id, user_id)


async def may_see_activity(accounts, viewer_id: int, subject_id: int, presence: bool = True) -> bool:
    """Whether the viewer may see the subject's presence (or, with presence False, typing): they
    share a chat in which both have written, neither blocks the other, and for presence the
    subject's last seen is not hidden from everyone."""
    if await apart(accounts, viewer_id, subject_id):
        return False
    if presence and await accounts.visibility(subject_id) == "nobody":
        return False
    return subject_id in await accounts.mutual(viewer_id, [subject_id])


async def presence_audience(accounts, subject_id: int, peer_ids: list[int]) -> list[int]:
    """The peers that may see the subject's presence."""
    return [peer_id for peer_id in peer_ids if await may_see_activity(accounts, peer_id, subject_id)]


def close_when_expired(subscriber, expires_at: float, code: int) -> asyncio.TimerHandle:
    """Kicks the connection with `code` when its token expires (seconds since the epoch)."""
    delay = max(0.0, expires_at - time.time())
    return asyncio.get_running_loop().call_later(min(delay, 10 * 365 * 86400), subscriber.kick, code)
