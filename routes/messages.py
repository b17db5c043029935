"""Conversations and messages over HTTP."""

from __future__ import annotations

from starlette.requests import Request

from routes import contract as c
from routes import validate
from routes.contract import api
from routes.http import JSON, ApiError, query_int, read_json, require_user
from routes.ratelimit import too_many
from store import Conflict, Forbidden, NotFound, StoreError
from store.accounts import ChangeWithheld, WithheldSend
from store.operations import SendMessage

CHAT = c.obj(
    ["peer", "last_message", "unread_count", "updated_at"],
    peer=c.ref("User"),
    last_message=c.ref("Message"),
    unread_count=c.INTEGER,
    updated_at=c.TIME,
)


def store_error(error: StoreError) -> ApiError:
    status = {NotFound: 404, Forbidden: 403, Conflict: 409}.get(type(error), 400)
    if getattr(error, "field", None):
        status = 422
    return ApiError(status, error.code, error.message, getattr(error, "field", None))


async def peer_id(request: Request, username: str, field: str = "username") -> int:
    if not isinstance(username, str) or not validate.USERNAME.fullmatch(username):
        if field != "username":
            raise validate.invalid(field, f"{field} must be a username.")
        raise ApiError(404, "user_not_found", "No such user.")
    found = await request.app.state.store.user_id(username)
    if found is None:
        raise ApiError(404, "user_not_found", "No such user.")
    return found


@api(
    "Your chats, most recent first",
    {200: ("Chats", c.obj(["conversations"], conversations=c.array(CHAT)))},
    query={"limit": c.integer(1, 500, 200)},
)
async def conversations(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = request.app.state
    limit = query_int(request, "limit", 200, 1, 500)
    chats = await state.store.conversations(user_id, limit, state.broadcaster.is_online)
    await hide_last_seen(state, user_id, [chat["peer"] for chat in chats])
    for chat in chats:
        if state.accounts.is_deleted(await state.store.user_id(chat["peer"]["username"])):
            chat["peer"]["deleted"] = True
    return JSON({"conversations": chats})


async def hide_last_seen(state, viewer_id: int, peers: list[dict]) -> None:
    """Blanks online and last seen of the peers whose privacy setting keeps them from the viewer."""
    ids = {peer["username"]: await state.store.user_id(peer["username"]) for peer in peers}
    allowed = await state.accounts.may_see_last_seen(viewer_id, [i for i in ids.values() if i is not None])
    for peer in peers:
        if ids[peer["username"]] not in allowed:
            peer["online"], peer["last_seen"] = False, None


@api(
    "A page of a chat's history, oldest first within the page",
    {200: ("Messages", c.obj(["messages", "has_more"], messages=c.array(c.ref("Message")), has_more=c.BOOLEAN))},
    errors=(404,),
    path={"username": c.USERNAME},
    query={"before": c.integer(1, 2**62), "limit": c.integer(1, 100, 50)},
)
async def history(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    other = await peer_id(request, request.path_params["username"])
    before = query_int(request, "before", None, 1, 2**62)
    limit = query_int(request, "limit", 50, 1, 100)
    messages, has_more = await request.app.state.store.history(user_id, other, before, limit)
    return JSON({"messages": messages, "has_more": has_more})


@api(
    "Send a message; a retry with the same client_id answers the same message",
    {201: ("The new message", c.ref("Message")), 200: ("The message sent before", c.ref("Message"))},
    errors=(404, 429),
    body=c.obj(
        ["to", "text", "client_id"],
        to=c.USERNAME,
        text=c.message_text,
        client_id=c.CLIENT_ID,
        reply_to={"type": ["integer", "null"], "minimum": 1, "maximum": 2**62 - 1},
    ),
)
async def send(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    wait = request.app.state.limits.sends_by_user.take(str(user_id))
    if wait:
        raise too_many(wait, f"Too many messages; wait {wait} s.")
    body = await read_json(request)
    operation = await send_operation(request.app.state, user_id, body, lambda name: peer_id(request, name, "to"))
    try:
        message, is_new = await request.app.state.store.send_message(operation)
    except StoreError as error:
        raise store_error(error) from None
    return JSON(message, 201 if is_new else 200)


async def send_operation(state, user_id: int, body: dict, resolve_peer, origin=None, ref=None) -> SendMessage:
    """Checks a send request (HTTP body or WebSocket frame) and makes its store operation."""
    text = validate.message_text(body.get("text"), state.settings.max_message_length)
    client_id = validate.client_id(body.get("client_id"))
    reply_to = validate.optional_id(body.get("reply_to"), "reply_to")
    recipient_id = await resolve_peer(body.get("to"))
    if reply_to is not None and not await state.store.message_in_chat(reply_to, user_id, recipient_id):
        # not a message this conversation has: as absent as a message that never existed
        raise ApiError(404, "message_not_found", "reply_to is not a message of this conversation.", "reply_to")
    if state.accounts.is_deleted(recipient_id):
        raise ApiError(404, "user_not_found", "No such user.", "to")
    if state.accounts.blocks(recipient_id, user_id):
        return WithheldSend(user_id, recipient_id, text, client_id, reply_to, origin, ref)  # accepted, no tell
    return SendMessage(user_id, recipient_id, text, client_id, reply_to, origin, ref)


@api(
    "Edit your message",
    {200: ("The message", c.ref("Message"))},
    errors=(403, 404, 409),
    path={"message_id": c.ID},
    body=c.obj(["text"], text=c.message_text),
)
async def edit(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    message_id = _path_id(request)
    body = await read_json(request)
    text = validate.message_text(body.get("text"), request.app.state.settings.max_message_length)
    try:
        if await request.app.state.accounts.is_withheld(message_id):
            return JSON(await request.app.state.store.writer.run(ChangeWithheld(user_id, message_id, text)))
        return JSON(await request.app.state.store.edit_message(user_id, message_id, text))
    except StoreError as error:
        raise store_error(error) from None


@api(
    "Delete your message for both sides",
    {200: ("The message, deleted", c.ref("Message"))},
    errors=(403, 404, 409),
    path={"message_id": c.ID},
)
async def delete(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    message_id = _path_id(request)
    try:
        if await request.app.state.accounts.is_withheld(message_id):
            return JSON(await request.app.state.store.writer.run(ChangeWithheld(user_id, message_id, None)))
        return JSON(await request.app.state.store.delete_message(user_id, message_id))
    except StoreError as error:
        raise store_error(error) from None


@api(
    "Mark what this person sent you read, up to a message",
    {200: ("Done", c.obj(["read_up_to"], read_up_to=c.INTEGER))},
    errors=(404,),
    path={"username": c.USERNAME},
    body=c.obj(["up_to"], up_to=c.ID),
)
async def mark_read(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    other = await peer_id(request, request.path_params["username"])
    body = await read_json(request)
    up_to = validate.positive_id(body.get("up_to"), "up_to")
    read_up_to = await request.app.state.store.mark_read_up_to(user_id, other, up_to)
    return JSON({"read_up_to": read_up_to})


def _path_id(request: Request) -> int:
    raw = request.path_params["message_id"]
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 2**62:
        raise ApiError(404, "message_not_found", "No such message.")
    return int(raw)
