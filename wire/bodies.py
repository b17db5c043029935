"""Reading requests: JSON bodies with a size limit, and whole-number query parameters."""

from __future__ import annotations

from typing import overload

import orjson
from starlette.requests import Request

from wire.responses import ApiError, invalid

MAX_BODY_BYTES = 64 * 1024


async def read_json(request: Request, limit: int = MAX_BODY_BYTES) -> dict:
    """The request body as a JSON object; 413 when larger than `limit` bytes, 400 when not JSON."""
    too_large = ApiError(413, "payload_too_large", f"The request body is larger than {limit // 1024} KiB.")
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    if not body:
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "bad_json", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "The request body must be a JSON object.")
    return data


@overload
def query_int(request: Request, name: str, default: int, low: int, high: int) -> int: ...
@overload
def query_int(request: Request, name: str, default: None, low: int, high: int) -> int | None: ...


def query_int(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"{name} must be a whole number.") from None
    if not low <= value <= high:
        raise invalid(name, f"{name} must be between {low} and {high}.")
    return value
