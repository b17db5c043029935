"""What every HTTP route shares: JSON in and out, the one error shape, the one token check."""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from security import read_token

MAX_BODY_BYTES = 64 * 1024


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ApiError(Exception):
    """Raised anywhere in a route; becomes {"error": {...}} with its status code."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, headers: dict | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


def error_body(code: str, message: str, field: str | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return {"error": body}


def error_response(error: ApiError) -> JSON:
    return JSON(error_body(error.code, error.message, error.field), error.status, headers=error.headers)


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_input", message, field)


async def read_json(request: Request) -> dict:
    """The request body as a JSON object; 413 when too large, 400 when not JSON."""
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, "payload_too_large", "The request body is larger than 64 KiB.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, "payload_too_large", "The request body is larger than 64 KiB.")
    if not body:
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "bad_json", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "The request body must be a JSON object.")
    return data


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


_verified: dict[str, tuple[int, str, float]] = {}  # token -> (user id, session id, expiry)
VERIFIED_LIMIT = 50_000


def _verified_claims(secret_key: str, token: str) -> tuple[int, str] | None:
    """The token's claims, checking its signature once and its expiry every time."""
    known = _verified.get(token)
    if known is not None and known[2] > time.time():
        return known[0], known[1]
    claims = read_token(secret_key, token)
    if claims is None:
        return None
    if len(_verified) >= VERIFIED_LIMIT:
        _verified.clear()
    _verified[token] = (claims[0], claims[1], claims[2])
    return claims[0], claims[1]


async def authenticate(app_state, token: str | None) -> tuple[int, str] | None:
    """(user id, session id) for a token of a live session, else None. The one token check:
    the session behind the token must still be live, so a logout takes effect at once."""
    if not token:
        return None
    claims = _verified_claims(app_state.settings.secret_key, token)
    if claims is None:
        return None
    user_id, session_id = claims
    if await app_state.store.session_user(session_id) != user_id:
        return None
    return claims


async def require_user(request: Request) -> tuple[int, str]:
    claims = await authenticate(request.app.state, bearer_token(request))
    if claims is None:
        raise ApiError(401, "unauthorized", "A valid token is needed.", headers={"WWW-Authenticate": "Bearer"})
    request.app.state.accounts.touch_session(claims[1], request.client.host if request.client else "")
    return claims


def query_int(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"{name} must be a whole number.") from None
    if not low <= value <= high:
        raise invalid(name, f"{name} must be between {low} and {high}.")
    return value
