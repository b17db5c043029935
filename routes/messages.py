"""Conversations and messages over HTTP."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from media.blobs import UPLOAD_ID
from routes import contract as c
from routes import validate
from routes.bodies import query_int, read_json
from routes.contract import api
from routes.protocol import dumps, iso, message_object, user_object
from routes.ratelimit import too_many
from routes.responses import JSON, ApiError
from routes.tokens import require_user, user_id_of
from store.accounts import ChangeWithheld, WithheldSend
from store.operations import SendMessage
from store.rows import Message

SEND_BODY = c.obj(
    ["to", "client_id"],
    to=c.USERNAME,
    text=c.message_text,
    client_id=c.CLIENT_ID,
    reply_to={"type": ["integer", "null"], "minimum": 1, "maximum": 2**62 - 1},
    forward_of={"type": ["integer", "null"], "minimum": 1, "maximum": 2**62 - 1},
)
WRITTEN = {"required": ["text"], "properties": {"forward_of": {"type": "null"}}}
FORWARDED = {
    "required": ["forward_of"],
    "properties": {"forward_of": {"type": "integer"}},
    "not": {"required": ["text"]},
}
CHAT = c.obj(
    ["peer", "last_message", "unread_count", "updated_at"],
    peer=c.ref("User"),
    last_message=c.ref("Message"),
    unread_count=c.INTEGER,
    updated_at=c.TIME,
)


@api(
    "Your chats, most recent first",
    {200: ("Chats", c.obj(["conversations"], conversations=c.array(CHAT)))},
    query={"limit": c.integer(1, 500, 200)},
)
async def conversations(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = request.app.state
    limit = query_int(request, "limit", 200, 1, 500)
    chats = await state.store.conversations(user_id, limit)
    peer_ids = [chat.peer.id for chat in chats]
    online = await state.broadcaster.online(peer_ids)
    # online and last seen only where the peer's last_seen_visibility lets this user see them
    visible = await state.accounts.may_see_last_seen(user_id, peer_ids)
    deleted = await state.accounts.deleted_among(peer_ids)
    names = state.store.names
    body = []
    for chat in chats:
        peer_id = chat.peer.id
        peer = user_object(chat.peer)
        peer["online"] = peer_id in online and peer_id in visible
        peer["last_seen"] = iso(chat.peer.last_seen) if peer_id in visible else None
        if peer_id in deleted:
            peer["deleted"] = True
        last_message = message_object(chat.last_message, names)
        body.append(
            {
                "peer": peer,
                "last_message": last_message,
                "unread_count": chat.unread_count,
                "updated_at": last_message["created_at"],
            }
        )
    return JSON({"conversations": body})


@api(
    "A page of a chat's history, oldest first within the page",
    {200: ("Messages", c.obj(["messages", "has_more"], messages=c.array(c.ref("Message")), has_more=c.BOOLEAN))},
    errors=(404,),
    path={"username": c.USERNAME},
    query={"before": c.integer(1, 2**62), "limit": c.integer(1, 100, 50)},
)
async def history(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = request.app.state
    other = await user_id_of(state, request.path_params["username"])
    before = query_int(request, "before", None, 1, 2**62)
    limit = query_int(request, "limit", 50, 1, 100)
    messages, has_more = await state.store.history(user_id, other, before, limit)
    names = state.store.names
    return JSON({"messages": [message_object(m, names) for m in messages], "has_more": has_more})


@api(
    "Send a message (or forward one with forward_of); a retry with the same client_id answers the same message",
    {201: ("The new message", c.ref("Message")), 200: ("The message sent before", c.ref("Message"))},
    errors=(404, 409, 429),
    body=lambda settings: SEND_BODY(settings) | {"anyOf": [WRITTEN, FORWARDED]},
    description="Either text (a message written) or forward_of (a message forwarded as it is), not both.",
)
async def send(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = request.app.state
    wait = await state.limits.sends_by_user.take(str(user_id), fail_open=True)
    if wait:
        raise too_many(wait, f"Too many messages; wait {wait} s.")
    body = await read_json(request)
    operation = await send_operation(state, user_id, body, lambda name: user_id_of(state, name, "to"))
    message, is_new = await state.store.send_message(operation)
    return JSON(message_object(message, state.store.names), 201 if is_new else 200)


async def send_operation(state, user_id: int, body: dict, resolve_peer, origin=None, ref=None) -> SendMessage:
    """Checks a send request (HTTP body or WebSocket frame) and makes its store operation."""
    forward_of = validate.optional_id(body.get("forward_of"), "forward_of")
    forwarded_from = None
    if forward_of is None:
        file_id, attachment = await attached_file(state, user_id, body.get("file_id"))
        text = body.get("text")
        if file_id is not None and text in (None, ""):
            text = ""  # a file may go without a caption
        else:
            text = validate.message_text(text, state.settings.max_message_length)
    else:
        if body.get("file_id") is not None:
            raise validate.invalid("file_id", "A forwarded message keeps its own file: leave file_id out.")
        original, forwarded_from = await _forwarded(state, user_id, forward_of, body.get("text"))
        # Its file goes along: the new message is what lets the new recipient fetch it.
        text, file_id, attachment = original.text, original.file_id, original.attachment
    client_id = validate.client_id(body.get("client_id"))
    reply_to = validate.optional_id(body.get("reply_to"), "reply_to")
    recipient_id = await resolve_peer(body.get("to"))
    if await state.accounts.is_deleted(recipient_id):
        raise ApiError(404, "user_not_found", "No such user.", "to")
    if reply_to is not None and not await state.store.message_in_chat(reply_to, user_id, recipient_id):
        # not a message this conversation has: as absent as a message that never existed
        raise ApiError(404, "message_not_found", "reply_to is not a message of this conversation.", "reply_to")
    if await state.accounts.blocks(recipient_id, user_id):  # accepted as ever, kept from the blocker
        return WithheldSend(
            user_id, recipient_id, text, client_id, reply_to, origin, ref, forwarded_from, file_id, attachment
        )
    return SendMessage(
        user_id, recipient_id, text, client_id, reply_to, origin, ref, forwarded_from, file_id, attachment
    )


async def _forwarded(state, user_id: int, message_id: int, text) -> tuple[Message, str]:
    """(the message, its original author) of a message the user may forward: one of their chats', not hidden
    from them, not deleted. Its text is taken as it is, so an attribution cannot be put on words
    its author never wrote."""
    original = await state.store.visible_message(message_id, user_id)
    if original is None:
        raise ApiError(404, "message_not_found", "No such message.")
    if original.deleted:
        raise ApiError(409, "message_deleted", "The message was deleted.")
    if text is not None and text != original.text:
        raise validate.invalid("text", "A forwarded message keeps its text: leave text out.")
    return original, original.forwarded_from or state.store.names[original.sender_id]


async def attached_file(state, user_id: int, file_id) -> tuple[str | None, str | None]:
    """(file id, the file object as JSON) of a file the sender uploaded; (None, None) without one."""
    if file_id is None:
        return None, None
    if not isinstance(file_id, str) or not UPLOAD_ID.fullmatch(file_id):
        raise validate.invalid("file_id", "file_id must be the id of a file you uploaded.")
    found = await state.files.file(file_id)
    if found is None or found.owner_id != user_id:
        raise ApiError(404, "file_not_found", "No such file.")
    return file_id, dumps(found.as_dict())


@api(
    "Edit your message",
    {200: ("The message", c.ref("Message"))},
    errors=(403, 404, 409),
    path={"message_id": c.ID},
    body=c.obj(["text"], text=c.message_text),
)
async def edit(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = request.app.state
    message_id = _path_id(request)
    body = await read_json(request)
    text = validate.message_text(body.get("text"), state.settings.max_message_length)
    if await state.accounts.is_withheld(message_id):
        message = await state.store.writer.run(ChangeWithheld(user_id, message_id, text))
    else:
        message = await state.store.edit_message(user_id, message_id, text)
    return JSON(message_object(message, state.store.names))


@api(
    "Delete your message for both sides, or with for=me hide any message of your chats from yourself",
    {200: ("The message, deleted for both", c.ref("Message")), 204: ("Hidden from you", None)},
    errors=(403, 404, 409),
    path={"message_id": c.ID},
    query={"for": {"type": "string", "enum": ["me", "both"], "default": "both"}},
)
async def delete(request: Request) -> Response:
    """?for=me hides the message from the caller only (204); otherwise it is deleted for both."""
    user_id, _ = await require_user(request)
    state = request.app.state
    scope = request.query_params.get("for", "both")
    if scope not in ("me", "both"):
        raise validate.invalid("for", "for is me or both.")
    if scope == "me":
        await state.store.hide_message(user_id, _path_id(request))
        return Response(status_code=204)
    message_id = _path_id(request)
    if await state.accounts.is_withheld(message_id):
        message = await state.store.writer.run(ChangeWithheld(user_id, message_id, None))
    else:
        message = await state.store.delete_message(user_id, message_id)
    return JSON(message_object(message, state.store.names))


@api(
    "Mark what this person sent you read, up to a message",
    {200: ("Done", c.obj(["read_up_to"], read_up_to=c.INTEGER))},
    errors=(404,),
    path={"username": c.USERNAME},
    body=c.obj(["up_to"], up_to=c.ID),
)
async def mark_read(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = request.app.state
    other = await user_id_of(state, request.path_params["username"])
    body = await read_json(request)
    up_to = validate.positive_id(body.get("up_to"), "up_to")
    return JSON({"read_up_to": await state.store.mark_read_up_to(user_id, other, up_to)})


def _path_id(request: Request) -> int:
    raw = request.path_params["message_id"]
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 2**62:
        raise ApiError(404, "message_not_found", "No such message.")
    return int(raw)
