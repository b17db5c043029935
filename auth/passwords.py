"""Passwords and tokens: bcrypt in a worker thread, HS256 JWTs carrying a revocable session id."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import time

import bcrypt
from jose import JWTError, jwt

from auth.fairpool import Busy, FairPool

__all__ = [
    "SCOPES",
    "Busy",
    "hash_password",
    "check_password",
    "count_failure",
    "make_token",
    "read_token",
    "new_session_id",
]

BCRYPT_COST = 12  # the default of BCRYPT_ROUNDS; production refuses less
ALGORITHM = "HS256"

# bcrypt runs on its own threads, never the event loop, and leaves one core to everything else:
# under a login storm logins wait their turn while messages keep flowing. The turns are shared
# fairly between client addresses and accounts (see auth/fairpool.py), so a flood cannot starve others.
_BCRYPT_THREADS = max(1, (os.cpu_count() or 2) - 1)
MAX_WAITING_HASHES = 16 * _BCRYPT_THREADS  # about five seconds of waiting at most, then 429
# The hashing threads run at the lowest CPU priority (nice 19): during a login storm a core they
# contend for goes to the event loop and to messages first, and logins take what is left. Measured
# (bench scenario 6): chat p99 during the storm 27-33 ms at nice 19, 47-52 ms at nice 10, and
# logins answered at the same 3.4-3.5/s (an idle core is still theirs).
BCRYPT_NICE = 19
_bcrypt_pool = FairPool(
    _BCRYPT_THREADS, MAX_WAITING_HASHES, max_waiting_per_key=MAX_WAITING_HASHES // 2, nice=BCRYPT_NICE
)
FAILURE_WEIGHT = 4.0  # a wrong password weighs as much as this many more checks
_WAITING_KEY = "bcrypt-waiting"


def _bcrypt_input(password: str) -> bytes:
    """bcrypt reads at most 72 bytes: a longer password (72 Persian letters are 144 bytes) is
    first digested, so every character of it counts."""
    raw = password.encode()
    return raw if len(raw) <= 72 else base64.b64encode(hashlib.sha256(raw).digest())


async def _in_bcrypt_pool(counters, keys: tuple[str, ...], function, *args):
    """Runs a hash on the pool. `counters` (the broadcaster's backend) counts the hashes waiting
    on every instance that shares it, so a cap holds across instances too."""
    shared = counters is not None and getattr(counters, "shared", False)
    try:
        if shared and await counters.add(_WAITING_KEY, 1, 60) > MAX_WAITING_HASHES * 2:
            raise Busy()
        return await _bcrypt_pool.run(keys, function, *args)
    finally:
        if shared:
            with contextlib.suppress(Exception):  # the count lapses by itself within a minute
                await counters.add(_WAITING_KEY, -1, 60)


async def hash_password(password: str, counters=None, address: str = "", rounds: int = BCRYPT_COST) -> str:
    """A new hash at `rounds` (BCRYPT_ROUNDS); a check reads the rounds from the hash itself, so
    hashes made at another cost keep working."""
    hashed = await _in_bcrypt_pool(counters, (address,), bcrypt.hashpw, _bcrypt_input(password), bcrypt.gensalt(rounds))
    return hashed.decode()


async def check_password(
    password: str, password_hash: str, counters=None, address: str = "", account: str = ""
) -> bool:
    """Whether the password matches; address and account decide its place in the queue."""
    keys = (address, f"account:{account}") if account else (address,)
    return await _in_bcrypt_pool(counters, keys, bcrypt.checkpw, _bcrypt_input(password), password_hash.encode())


def count_failure(address: str, account: str = "") -> None:
    """A wrong password from this address (for this account): the next password checks from
    there (or for that account) wait behind other people's."""
    _bcrypt_pool.add_usage(address, FAILURE_WEIGHT)
    if account:
        _bcrypt_pool.add_usage(f"account:{account}", FAILURE_WEIGHT)


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


SCOPES = ("read", "send", "account")  # what an API token may be given; a browser session has all


def make_token(
    secret_key: str, user_id: int, session_id: str, expires_at_ms: int, scopes: tuple[str, ...] | None = None
) -> str:
    """A signed token for the session; `scopes` limit an API token (None: a browser session's)."""
    claims = {"sub": str(user_id), "sid": session_id, "exp": expires_at_ms // 1000, "iat": int(time.time())}
    if scopes is not None:
        claims["scp"] = " ".join(scopes)
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def read_token(secret_key: str, token: str) -> tuple[int, str, float, frozenset[str] | None] | None:
    """(user id, session id, expiry in seconds, scopes or None for all) from a valid, unexpired
    token; else None."""
    try:
        claims = jwt.decode(token, secret_key, algorithms=[ALGORITHM])
        scopes = claims.get("scp")
        if scopes is not None and not isinstance(scopes, str):
            return None
        granted = None if scopes is None else frozenset(scopes.split())
        return int(claims["sub"]), str(claims["sid"]), int(claims["exp"]), granted
    except (JWTError, KeyError, ValueError, TypeError):
        return None
