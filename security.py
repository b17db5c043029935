"""Passwords and tokens: bcrypt in a worker thread, HS256 JWTs carrying a revocable session id."""

from __future__ import annotations

import asyncio
import secrets
import time

import bcrypt
from jose import JWTError, jwt

BCRYPT_COST = 12
ALGORITHM = "HS256"


async def hash_password(password: str) -> str:
    salt = bcrypt.gensalt(BCRYPT_COST)
    hashed = await asyncio.to_thread(bcrypt.hashpw, password.encode(), salt)
    return hashed.decode()


async def check_password(password: str, password_hash: str) -> bool:
    return await asyncio.to_thread(bcrypt.checkpw, password.encode(), password_hash.encode())


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


def make_token(secret_key: str, user_id: int, session_id: str, expires_at_ms: int) -> str:
    claims = {"sub": str(user_id), "sid": session_id, "exp": expires_at_ms // 1000, "iat": int(time.time())}
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def read_token(secret_key: str, token: str) -> tuple[int, str] | None:
    """(user id, session id) from a valid, unexpired token; None for anything else."""
    try:
        claims = jwt.decode(token, secret_key, algorithms=[ALGORITHM])
        return int(claims["sub"]), str(claims["sid"])
    except (JWTError, KeyError, ValueError, TypeError):
        return None
