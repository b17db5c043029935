"""GET /health: 200 while the database answers, 503 when it does not."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from routes.http import JSON


async def health(request: Request) -> JSON:
    state = request.app.state
    try:
        database_ok = await asyncio.wait_for(state.store.ping(), 2.0)
    except Exception:  # any failure to answer is what this endpoint reports
        database_ok = False
    # Nothing more for anonymous callers: connection counts are on /metrics, behind its token.
    body = {"status": "ok" if database_ok else "unavailable", "database": "ok" if database_ok else "unavailable"}
    return JSON(body, 200 if database_ok else 503)
