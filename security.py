"""Passwords and tokens: bcrypt in a worker thread, HS256 JWTs carrying a revocable session id."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import bcrypt
from jose import JWTError, jwt

BCRYPT_COST = 12
ALGORITHM = "HS256"

# bcrypt runs on its own threads, never the event loop, and leaves one core to everything else:
# under a login storm logins wait their turn while messages keep flowing.
_BCRYPT_THREADS = max(1, (os.cpu_count() or 2) - 1)
_bcrypt_pool = ThreadPoolExecutor(max_workers=_BCRYPT_THREADS, thread_name_prefix="bcrypt")
MAX_WAITING_HASHES = 16 * _BCRYPT_THREADS  # about five seconds of waiting at most, then 429
PASSWORD_MAX_BYTES = 72  # bcrypt reads no further: longer passwords are refused, never cut
_WAITING_KEY = "bcrypt-waiting"
_waiting = 0  # this process's hashes waiting or running


class Busy(Exception):
    """Too many password checks are waiting; the caller should answer 429."""


def password_fits(password: str) -> bool:
    return len(password.encode()) <= PASSWORD_MAX_BYTES


async def _in_bcrypt_pool(counters, function, *args):
    """Runs a hash on the pool. `counters` (the broadcaster's backend) counts the hashes waiting
    on every instance that shares it, so the cap holds across instances."""
    global _waiting
    if _waiting >= MAX_WAITING_HASHES:
        raise Busy()
    _waiting += 1
    shared = counters is not None and not getattr(counters, "immediate", True)
    try:
        if shared and await counters.add(_WAITING_KEY, 1, 60) > MAX_WAITING_HASHES * 2:
            raise Busy()
        return await asyncio.get_running_loop().run_in_executor(_bcrypt_pool, function, *args)
    finally:
        _waiting -= 1
        if shared:
            with contextlib.suppress(Exception):  # the count lapses by itself within a minute
                await counters.add(_WAITING_KEY, -1, 60)


async def hash_password(password: str, counters=None) -> str:
    hashed = await _in_bcrypt_pool(counters, bcrypt.hashpw, password.encode(), bcrypt.gensalt(BCRYPT_COST))
    return hashed.decode()


async def check_password(password: str, password_hash: str, counters=None) -> bool:
    if not password_fits(password):
        password = ""  # still hashed, so a refusal takes as long as any other
    return await _in_bcrypt_pool(counters, bcrypt.checkpw, password.encode(), password_hash.encode())


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


def make_token(secret_key: str, user_id: int, session_id: str, expires_at_ms: int) -> str:
    claims = {"sub": str(user_id), "sid": session_id, "exp": expires_at_ms // 1000, "iat": int(time.time())}
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def read_token(secret_key: str, token: str) -> tuple[int, str, float] | None:
    """(user id, session id, expiry in seconds) from a valid, unexpired token; else None."""
    try:
        claims = jwt.decode(token, secret_key, algorithms=[ALGORITHM])
        return int(claims["sub"]), str(claims["sid"]), int(claims["exp"])
    except (JWTError, KeyError, ValueError, TypeError):
        return None
