"""What every HTTP answer is made of: JSON bodies and the one error shape."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from wire.protocol import error_body


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


def error_response(status: int, code: str, message: str, field: str | None = None, headers=None) -> JSON:
    return JSON(error_body(code, message, field), status, headers=headers)


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_input", message, field)


def rate_limited(retry_after: int, message: str = "Too many requests; try again later.") -> ApiError:
    return ApiError(429, "rate_limited", message, headers={"Retry-After": str(max(1, int(retry_after)))})
