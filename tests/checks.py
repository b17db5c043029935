"""Checks shared by the HTTP-contract tests: the one error shape, and users made in parallel."""

from __future__ import annotations

import asyncio

import httpx
from helpers import Api, register

ERROR_STATUSES = {400, 401, 403, 404, 405, 409, 413, 422, 429}


def assert_error(response: httpx.Response, status: int, code: str | None = None, field: str | None = None) -> dict:
    """The response is the documented error shape with this status (and code and field, when given)."""
    assert response.status_code == status, f"{response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"], body
    assert set(error) <= {"code", "message", "field"}, body
    if code is not None:
        assert error["code"] == code, body
    if field is not None:
        assert error.get("field") == field, body
    if status == 422:
        assert error["code"] == "invalid_input" and error.get("field"), body
    return error


def assert_sane(response: httpx.Response) -> None:
    """Never a server error, never a traceback; any error answer has the documented shape."""
    assert response.status_code < 500, f"{response.request.method} {response.request.url}: {response.text}"
    assert "Traceback" not in response.text
    if response.status_code >= 400:
        assert response.status_code in ERROR_STATUSES, f"{response.request.method} {response.request.url}"
        assert_error(response, response.status_code)


async def register_many(server, count: int) -> list[Api]:
    return list(await asyncio.gather(*(register(server) for _ in range(count))))


async def close_all(*apis: Api) -> None:
    await asyncio.gather(*(api.close() for api in apis))
