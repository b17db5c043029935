"""GET /health: 200 while the database (and Redis, where configured) answer, 503 when not."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from routes import contract as c
from routes.contract import api
from routes.responses import JSON


async def _answers(check) -> bool:
    try:
        return bool(await asyncio.wait_for(check(), 2.0))
    except Exception:  # any failure to answer is what this endpoint reports
        return False


@api(
    "Whether the server, its database and its Redis (where configured) answer",
    {
        200: ("Up", c.obj(["status"], status=c.STRING, database=c.STRING, connections=c.INTEGER)),
        503: ("Something it needs does not answer", c.obj(["status"], status=c.STRING)),
    },
    public=True,
)
async def health(request: Request) -> JSON:
    state = request.app.state
    database_ok = await _answers(state.store.ping)
    body = {"status": "ok", "database": "ok" if database_ok else "unavailable"}
    healthy = database_ok
    if state.settings.redis_url:
        redis_ok = await _answers(state.broadcaster.ping)
        body["redis"] = "ok" if redis_ok else "down"
        healthy = healthy and redis_ok
    if not healthy:
        body["status"] = "unavailable"
    # Nothing more for anonymous callers: connection counts are on /metrics, behind its token.
    return JSON(body, 200 if healthy else 503)
