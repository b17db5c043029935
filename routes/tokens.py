"""The one token check, for HTTP and WebSocket alike, and the one username lookup."""

from __future__ import annotations

import time

from starlette.requests import Request

from routes import validate
from routes.responses import ApiError
from security import read_token

_verified: dict[str, tuple[int, str, float]] = {}  # token -> (user id, session id, expiry)
VERIFIED_LIMIT = 50_000


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def verified_claims(secret_key: str, token: str) -> tuple[int, str, float] | None:
    """(user id, session id, expiry) of a token, checking its signature once and its expiry
    every time. Only the signature is remembered: the session is checked on every use."""
    known = _verified.get(token)
    if known is not None and known[2] > time.time():
        return known
    claims = read_token(secret_key, token)
    if claims is None:
        return None
    if len(_verified) >= VERIFIED_LIMIT:
        _verified.clear()
    _verified[token] = claims
    return claims


async def authenticate(app_state, token: str | None) -> tuple[int, str, float] | None:
    """(user id, session id, expiry) for a token of a live session, else None: the session
    behind the token must still be live, so a logout takes effect at once."""
    if not token:
        return None
    claims = verified_claims(app_state.settings.secret_key, token)
    if claims is None:
        return None
    if await app_state.store.session_user(claims[1]) != claims[0]:
        return None
    return claims


async def require_user(request: Request) -> tuple[int, str]:
    claims = await authenticate(request.app.state, bearer_token(request))
    if claims is None:
        raise ApiError(401, "unauthorized", "A valid token is needed.", headers={"WWW-Authenticate": "Bearer"})
    request.app.state.accounts.touch_session(claims[1], request.client.host if request.client else "")
    return claims[0], claims[1]


async def user_id_of(app_state, username, field: str = "username") -> int:
    """The id of the user with this name; 404 when there is none. In a path (`field` is
    "username") a malformed name is simply not found; in a body it is invalid input."""
    if not isinstance(username, str) or not validate.USERNAME.fullmatch(username):
        if field != "username":
            raise validate.invalid(field, f"{field} must be a username.")
        raise ApiError(404, "user_not_found", "No such user.")
    found = await app_state.store.user_id(username)
    if found is None:
        raise ApiError(404, "user_not_found", "No such user.", None if field == "username" else field)
    return found
