"""Every failure leaves as the one JSON error shape; no traceback ever reaches a client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from auth.limits import REFUSAL_PAUSE_SECONDS
from auth.passwords import Busy
from broadcast.base import BackendUnavailable
from counters import CountersUnavailable
from store import StoreError
from wire.responses import ApiError, error_response

log = logging.getLogger("payambar")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request", 413: "payload_too_large"}


async def api_error(request: Request, error: ApiError) -> Response:
    return error_response(error.status, error.code, error.message, error.field, error.headers)


async def store_error(request: Request, error: StoreError) -> Response:
    """The store's refusals, each kind with its own status (404, 403, 409, 422, 503, 507)."""
    headers = {"Retry-After": "2"} if error.status == 503 else None  # the database is away for a moment
    return error_response(error.status, error.code, error.message, error.field, headers)


async def http_error(request: Request, error: HTTPException) -> Response:
    code = _HTTP_CODES.get(error.status_code, "error")
    message = "Not found." if error.status_code == 404 else str(error.detail)
    return error_response(error.status_code, code, message, headers=error.headers)


async def busy_error(request: Request, error: Busy) -> Response:
    await asyncio.sleep(REFUSAL_PAUSE_SECONDS)
    headers = {"Retry-After": "2"}
    return error_response(429, "rate_limited", "Too many logins at once; try again in a moment.", headers=headers)


async def backend_unavailable(request: Request, error: BackendUnavailable) -> Response:
    headers = {"Retry-After": "2"}
    return error_response(503, "unavailable", "Shared state is unreachable; try again shortly.", headers=headers)


async def client_gone(request: Request, error: ClientDisconnect) -> Response:
    # The client left before its request body arrived: nothing to log, no one to answer.
    return error_response(499, "client_closed_request", "The request body did not arrive.")


async def unexpected_error(request: Request, error: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return error_response(500, "internal", "Something went wrong on the server.")


# Each handler takes the exception type it is keyed by, which no single Callable type says.
HANDLERS: dict[type[Exception], Callable[..., Awaitable[Response]]] = {
    ApiError: api_error,
    StoreError: store_error,
    HTTPException: http_error,
    Busy: busy_error,
    BackendUnavailable: backend_unavailable,
    CountersUnavailable: backend_unavailable,
    ClientDisconnect: client_gone,
    Exception: unexpected_error,
}
