"""GET /health: 200 while the database (and Redis, where configured) answer, 503 when not."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from server.services import services_of
from wire import contract as c
from wire.contract import api
from wire.responses import JSON


async def _answers(check) -> bool:
    try:
        return bool(await asyncio.wait_for(check(), 2.0))
    except Exception:  # any failure to answer is what this endpoint reports
        return False


@api(
    "Whether the server, its database and its Redis (where configured) answer",
    {
        200: ("Up", c.obj(["status"], status=c.STRING, database=c.STRING, backup=c.STRING, connections=c.INTEGER)),
        503: ("Something it needs does not answer", c.obj(["status"], status=c.STRING)),
    },
    public=True,
)
async def health(request: Request) -> JSON:
    state = services_of(request)
    database_ok = await _answers(state.store.ping)
    body = {"status": "ok", "database": "ok" if database_ok else "unavailable"}
    healthy = database_ok
    if state.settings.redis_url:
        redis_ok = await _answers(state.broadcaster.ping)
        body["redis"] = "ok" if redis_ok else "down"
        healthy = healthy and redis_ok
    if state.replication is not None:
        # Green while behind: a slow bucket must not take the messenger down; the log says it.
        body["backup"] = "behind" if state.replication.behind else "ok"
    if not healthy:
        body["status"] = "unavailable"
    # Nothing more for anonymous callers: connection counts are on /metrics, behind its token.
    return JSON(body, 200 if healthy else 503)
