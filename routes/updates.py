"""GET /api/updates: the update stream by long-poll, for scripts and where WebSockets fail."""

from __future__ import annotations

import asyncio
import time

from starlette.requests import Request

from broadcast import Subscriber
from routes import contract as c
from routes.contract import api
from routes.http import JSON, query_int, require_user


@api(
    "Your update stream after a cursor; waits up to `timeout` seconds for one",
    {200: ("Updates", c.obj(["updates", "cursor"], updates=c.array(c.ref("Update")), cursor=c.INTEGER))},
    query={"after": c.CURSOR, "timeout": c.integer(0, 60, 25), "limit": c.integer(1, 1000, 100)},
)
async def long_poll(request: Request) -> JSON:
    user_id, session_id = await require_user(request)
    after = query_int(request, "after", None, 0, 2**62)
    timeout = query_int(request, "timeout", 25, 0, 60)
    limit = query_int(request, "limit", 100, 1, 1000)
    state = request.app.state
    store = state.store
    subscriber = Subscriber(user_id, session_id)
    # Subscribed before the first read, so nothing committed meanwhile can slip between.
    await state.realtime.attach(subscriber, await store.peer_ids(user_id))
    try:
        last = await store.last_seq(user_id)
        after = last if after is None else min(after, last)
        deadline = time.monotonic() + timeout
        updates = await store.updates_after(user_id, after, limit)
        while not updates and not subscriber.kicked:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(subscriber.next_frames(), remaining)
            except TimeoutError:
                break
            updates = await store.updates_after(user_id, after, limit)
    finally:
        state.realtime.detach(subscriber)
    undelivered = store.undelivered(user_id, updates)
    if undelivered:
        delivered = set(await store.mark_delivered(user_id, undelivered))
        for update in updates:
            if update["type"] == "message" and update["message"]["id"] in delivered:
                update["message"]["status"] = "delivered"
    cursor = updates[-1]["seq"] if updates else after
    return JSON({"updates": updates, "cursor": cursor})
