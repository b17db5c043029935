"""Message search over HTTP: GET /api/search."""

from __future__ import annotations

from starlette.requests import Request

from auth.tokens import require_user, user_id_of
from server.services import services_of
from wire import contract as c
from wire.bodies import query_int
from wire.contract import api
from wire.protocol import message_object
from wire.responses import JSON, invalid

MAX_QUERY_LENGTH = 256
# Two searches a second for a minute: far more than a person typing queries, key by key.


@api(
    "Search your messages, newest first",
    {200: ("Matches", c.obj(["messages", "has_more"], messages=c.array(c.ref("Message")), has_more=c.BOOLEAN))},
    errors=(404, 429),
    query={
        "q": c.required({"type": "string", "minLength": 1, "maxLength": MAX_QUERY_LENGTH, "pattern": "\\S"}),
        "peer": c.USERNAME,
        "before": c.integer(1, 2**62),
        "limit": c.integer(1, 50, 20),
    },
)
async def search(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    await services_of(request).limits.searches_by_user.check(str(user_id))
    text = request.query_params.get("q", "")
    if not text.strip():
        raise invalid("q", "q must not be empty.")
    if len(text) > MAX_QUERY_LENGTH:
        raise invalid("q", f"q is at most {MAX_QUERY_LENGTH} characters.")
    peer = request.query_params.get("peer")
    store = services_of(request).store
    other = await user_id_of(services_of(request), peer, "peer") if peer else None
    before = query_int(request, "before", None, 1, 2**62)
    limit = query_int(request, "limit", 20, 1, 50)
    found, has_more = await store.search_messages(user_id, other, text, before, limit)
    return JSON(
        {"messages": [message_object(message, store.names, user_id) for message in found], "has_more": has_more}
    )
