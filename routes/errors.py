"""Every failure leaves as the one JSON error shape; no traceback ever reaches a client."""

from __future__ import annotations

import asyncio
import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from routes.http import JSON, ApiError, error_body, error_response
from routes.ratelimit import REFUSAL_PAUSE_SECONDS
from security import Busy

log = logging.getLogger("payambar")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request", 413: "payload_too_large"}


async def api_error(request: Request, error: ApiError) -> Response:
    return error_response(error)


async def http_error(request: Request, error: HTTPException) -> Response:
    code = _HTTP_CODES.get(error.status_code, "error")
    message = "Not found." if error.status_code == 404 else str(error.detail)
    return JSON(error_body(code, message), error.status_code, headers=error.headers)


async def busy_error(request: Request, error: Busy) -> Response:
    await asyncio.sleep(REFUSAL_PAUSE_SECONDS)
    body = error_body("rate_limited", "Too many logins at once; try again in a moment.")
    return JSON(body, 429, headers={"Retry-After": "2"})


async def unexpected_error(request: Request, error: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return JSON(error_body("internal", "Something went wrong on the server."), 500)


HANDLERS = {ApiError: api_error, HTTPException: http_error, Busy: busy_error, Exception: unexpected_error}
