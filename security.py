"""Passwords and tokens: bcrypt in a worker thread, HS256 JWTs carrying a revocable session id."""

from __future__ import annotations

import asyncio
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
_waiting = 0


class Busy(Exception):
    """Too many password checks are waiting; the caller should answer 429."""


async def _in_bcrypt_pool(function, *args):
    global _waiting
    if _waiting >= MAX_WAITING_HASHES:
        raise Busy()
    _waiting += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(_bcrypt_pool, function, *args)
    finally:
        _waiting -= 1


async def hash_password(password: str) -> str:
    hashed = await _in_bcrypt_pool(bcrypt.hashpw, password.encode(), bcrypt.gensalt(BCRYPT_COST))
    return hashed.decode()


async def check_password(password: str, password_hash: str) -> bool:
    return await _in_bcrypt_pool(bcrypt.checkpw, password.encode(), password_hash.encode())


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


def make_token(secret_key: str, user_id: int, session_id: str, expires_at_ms: int) -> str:
    claims = {"sub": str(user_id), "sid": session_id, "exp": expires_at_ms // 1000, "iat": int(time.time())}
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def read_token(secret_key: str, token: str) -> tuple[int, str, int] | None:
    """(user id, session id, expiry in seconds) from a valid, unexpired token; else None."""
    try:
        claims = jwt.decode(token, secret_key, algorithms=[ALGORITHM])
        return int(claims["sub"]), str(claims["sid"]), int(claims["exp"])
    except (JWTError, KeyError, ValueError, TypeError):
        return None
