"""The one token check, for HTTP and WebSocket alike, and the one username lookup."""

from __future__ import annotations

import time

from starlette.requests import Request

from auth.limits import client_host
from auth.passwords import read_token
from store import SESSION
from wire import validate
from wire.responses import ApiError

Claims = tuple[int, str, float, frozenset[str] | None]  # user id, session id, expiry, scopes (None: all)
_verified: dict[str, Claims] = {}
VERIFIED_LIMIT = 50_000


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def verified_claims(secret_key: str, token: str) -> Claims | None:
    """(user id, session id, expiry, scopes) of a token, checking its signature once and its expiry
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


async def authenticate(app_state, token: str | None) -> Claims | None:
    """(user id, session id, expiry, scopes) for a token of a live session, else None: the session
    behind the token must still be live, so a logout takes effect at once."""
    if not token:
        return None
    claims = verified_claims(app_state.settings.secret_key, token)
    if claims is None:
        return None
    if await app_state.store.session_user(claims[1]) != claims[0]:
        return None
    return claims


READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def require_user(request: Request, scope: str | None = None) -> tuple[int, str]:
    """(user id, session id) of the caller. An API token must carry the scope the call needs:
    `read` for reading (GET, HEAD), `send` for every other call, unless the handler names
    another (`account` for the account's own settings)."""
    claims = await authenticate(request.app.state.services, bearer_token(request))
    if claims is None:
        raise ApiError(401, "unauthorized", "A valid token is needed.", headers={"WWW-Authenticate": "Bearer"})
    needed = scope or ("read" if request.method in READING_METHODS else "send")
    if claims[3] is not None and needed not in claims[3]:
        raise ApiError(403, "insufficient_scope", f"This API token may not do that: it needs the {needed} scope.")
    request.app.state.services.accounts.touch_session(claims[1], client_host(request))
    return claims[0], claims[1]


async def require_browser_session(request: Request) -> tuple[int, str]:
    """(user id, session id) of a caller logged in on a device: what can take the account over
    (ending sessions, making tokens, the password, deleting it) is never done with an API token."""
    user_id, session_id = await require_user(request, "account")
    if await request.app.state.services.accounts.session_kind(user_id, session_id) != SESSION:
        raise ApiError(403, "session_required", "Only a logged-in device can do this, with the password; not a token.")
    return user_id, session_id


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
