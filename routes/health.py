"""GET /health: 200 while the database answers, 503 when it does not."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from routes import contract as c
from routes.contract import api
from routes.http import JSON


@api(
    "Whether the server and its database answer",
    {
        200: ("Up", c.obj(["status"], status=c.STRING, database=c.STRING, connections=c.INTEGER)),
        503: ("The database does not answer", c.obj(["status"], status=c.STRING)),
    },
    public=True,
)
async def health(request: Request) -> JSON:
    state = request.app.state
    try:
        database_ok = await asyncio.wait_for(state.store.ping(), 2.0)
    except Exception:  # any failure to answer is what this endpoint reports
        database_ok = False
    body = {
        "status": "ok" if database_ok else "unavailable",
        "database": "ok" if database_ok else "unavailable",
        "connections": state.broadcaster.connection_count,
    }
    return JSON(body, 200 if database_ok else 503)
