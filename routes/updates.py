"""GET /api/updates: the update stream by long-poll, for scripts and where WebSockets fail."""

from __future__ import annotations

import asyncio
import time

import orjson
from starlette.requests import Request

from auth.tokens import require_user
from server.services import services_of
from store import undelivered
from wire import contract as c
from wire.bodies import query_int
from wire.contract import api
from wire.protocol import update_object
from wire.responses import JSON

CALL_FRAME = '{"type":"call",'


@api(
    "Your update stream after a cursor; waits up to `timeout` seconds for one",
    {
        200: (
            "Updates, and the `call` frames sent meanwhile",
            c.obj(
                ["updates", "cursor"],
                updates=c.array(c.ref("Update")),
                cursor=c.INTEGER,
                calls=c.array({"type": "object", "description": "`call` frames (docs/calls.md)"}),
            ),
        )
    },
    query={"after": c.CURSOR, "timeout": c.integer(0, 60, 25), "limit": c.integer(1, 1000, 100)},
)
async def long_poll(request: Request) -> JSON:
    user_id, session_id = await require_user(request)
    after = query_int(request, "after", None, 0, 2**62)
    timeout = query_int(request, "timeout", 25, 0, 60)
    limit = query_int(request, "limit", 100, 1, 1000)
    state = services_of(request)
    store = state.store
    subscriber = state.broadcaster.new_subscriber(user_id, session_id)
    # Subscribed before the first read, so nothing committed meanwhile can slip between.
    await state.presence.connected(subscriber, await store.peer_ids(user_id))
    try:
        last = await store.last_seq(user_id)
        after = last if after is None else min(after, last)
        deadline = time.monotonic() + timeout
        updates = await store.updates_after(user_id, after, limit)
        call_frames: list[str] = []
        while not updates and not call_frames and not subscriber.kicked:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                frames = await asyncio.wait_for(subscriber.next_frames(), min(remaining, 5.0))
            except TimeoutError:
                frames = []  # look again: a notice may have been lost on its way between instances
            # A call cannot wait for the next poll; a device that misses one of its frames
            # (between two polls) fills the gap from GET /api/calls/{id}?after=n.
            call_frames.extend(text for seq, text, _ in frames if seq is None and text.startswith(CALL_FRAME))
            updates = await store.updates_after(user_id, after, limit)
    finally:
        await state.presence.disconnected(subscriber)
    delivered = set()
    waiting = undelivered(user_id, updates)
    if waiting:
        delivered = set(await store.mark_delivered(user_id, waiting))
    body = []
    for update in updates:
        item = update_object(update, store.names)
        if item["type"] == "message" and item["message"]["id"] in delivered:
            item["message"]["status"] = "delivered"
        body.append(item)
    cursor = updates[-1].seq if updates else after
    answer = {"updates": body, "cursor": cursor}
    if call_frames:
        answer["calls"] = [orjson.Fragment(text) for text in call_frames]
    return JSON(answer)
