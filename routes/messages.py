"""Conversations and messages over HTTP."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from auth.tokens import require_user, user_id_of
from chat import sending
from chat.encryption import envelope_or_plaintext
from live import activity
from server.services import services_of
from settings import Settings
from store import ChangeWithheld, ChatSettings
from wire import contract as c
from wire import validate
from wire.bodies import query_int, read_json
from wire.contract import api
from wire.protocol import chat_settings_object, iso, message_object, user_object
from wire.responses import JSON


def send_body(settings: Settings) -> dict:
    return c.obj(
        ["to", "client_id"],
        to=c.USERNAME,
        text=c.message_text(settings),
        envelope=c.ENVELOPE,
        client_id=c.CLIENT_ID,
        reply_to={"type": ["integer", "null"], "minimum": 1, "maximum": 2**62 - 1},
        forward_of={"type": ["integer", "null"], "minimum": 1, "maximum": 2**62 - 1},
    )


WRITTEN = {"required": ["text"], "properties": {"forward_of": {"type": "null"}}, "not": {"required": ["envelope"]}}
FORWARDED = {
    "required": ["forward_of"],
    "properties": {"forward_of": {"type": "integer"}},
    "not": {"anyOf": [{"required": ["text"]}, {"required": ["envelope"]}]},
}
ENCRYPTED = {
    "required": ["envelope"],
    "properties": {"forward_of": {"type": "null"}, "envelope": {"type": "string"}},
    "not": {"required": ["text"]},
}
CHAT = c.obj(
    ["peer", "last_message", "unread_count", "first_unread_id", "updated_at", *c.CHAT_SETTINGS["required"]],
    peer=c.ref("User"),
    last_message=c.ref("Message"),
    unread_count=c.INTEGER,
    first_unread_id={"type": ["integer", "null"]},
    updated_at=c.TIME,
    **c.CHAT_SETTINGS["properties"],
)


@api(
    "Your chats: pinned ones first (the newest pin on top), then the most recent first",
    {200: ("Chats", c.obj(["conversations"], conversations=c.array(CHAT)))},
    query={"limit": c.integer(1, 500, 200)},
)
async def conversations(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    limit = query_int(request, "limit", 200, 1, 500)
    chats = await state.store.conversations(user_id, limit)
    peer_ids = [chat.peer.id for chat in chats]
    online = await state.broadcaster.online(peer_ids)
    # online and last seen only where the peer's last_seen_visibility lets this user see them
    visible = await state.accounts.may_see_last_seen(user_id, peer_ids)
    deleted = await state.accounts.deleted_among(peer_ids)
    own_settings = await state.store.chat_settings(user_id)
    names = state.store.names
    body = []
    for chat in chats:
        peer_id = chat.peer.id
        peer = user_object(chat.peer)
        peer["online"] = peer_id in online and peer_id in visible
        peer["last_seen"] = iso(chat.peer.last_seen) if peer_id in visible else None
        if peer_id in deleted:
            peer["deleted"] = True
        last_message = message_object(chat.last_message, names, user_id)
        body.append(
            {
                "peer": peer,
                "last_message": last_message,
                "unread_count": chat.unread_count,
                "first_unread_id": chat.first_unread_id,
                "updated_at": last_message["created_at"],
                **chat_settings_object(own_settings.get(peer_id, ChatSettings())),
            }
        )
    body.sort(key=lambda chat: chat["pinned_at"] or "", reverse=True)  # stable: the rest stay most recent first
    return JSON({"conversations": body})


@api(
    "A page of a chat's history, oldest first within the page",
    {200: ("Messages", c.obj(["messages", "has_more"], messages=c.array(c.ref("Message")), has_more=c.BOOLEAN))},
    errors=(404,),
    path={"username": c.USERNAME},
    query={"before": c.integer(1, 2**62), "after": c.integer(0, 2**62), "limit": c.integer(1, 100, 50)},
    description="Without after: the page just older than before (or the newest page); has_more says older"
    " ones exist. With after: the page just newer than after (and older than before, if given); has_more"
    " says more newer ones exist.",
)
async def history(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    before = query_int(request, "before", None, 1, 2**62)
    after = query_int(request, "after", None, 0, 2**62)
    limit = query_int(request, "limit", 50, 1, 100)
    other = await user_id_of(state, request.path_params["username"])
    if after is None:
        messages, has_more = await state.store.history(user_id, other, before, limit)
    else:
        messages, has_more = await state.store.history_after(user_id, other, after, before, limit)
    names = state.store.names
    return JSON({"messages": [message_object(m, names, user_id) for m in messages], "has_more": has_more})


@api(
    "Send a message (or forward one with forward_of); a retry with the same client_id answers the same message",
    {201: ("The new message", c.ref("Message")), 200: ("The message sent before", c.ref("Message"))},
    errors=(404, 409, 413, 429),
    body=lambda settings: send_body(settings) | {"anyOf": [WRITTEN, FORWARDED, ENCRYPTED]},
    description="One of text (a message written), forward_of (a message forwarded as it is) or envelope (an"
    " end-to-end encrypted message, docs/e2ee.md). Between two people who both have keys only envelope is"
    " accepted (409 encryption_required); to someone without keys an envelope is 409 peer_not_encrypted.",
)
async def send(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    await state.limits.sends_by_user.check(str(user_id), "Too many messages; wait {wait} s.", fail_open=True)
    body = await read_json(request)
    operation = await sending.send_operation(state, user_id, body, lambda name: user_id_of(state, name, "to"))
    message, is_new = await state.store.send_message(operation)
    return JSON(message_object(message, state.store.names, user_id), 201 if is_new else 200)


# An edit says what the message becomes: new text, or a new envelope.
EDITED = [
    {"required": ["text"], "properties": {"text": {"type": "string"}}},
    {"required": ["envelope"], "properties": {"envelope": {"type": "string"}}},
]


@api(
    "Edit your message: new text, or in an end-to-end encrypted chat a new envelope",
    {200: ("The message", c.ref("Message"))},
    errors=(403, 404, 409, 413),
    path={"message_id": c.ID},
    body=lambda settings: c.obj(text=c.message_text(settings), envelope=c.ENVELOPE) | {"anyOf": EDITED},
    description="text in a plaintext chat, envelope (and no text) in an encrypted one; the other is a 409.",
)
async def edit(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    message_id = validate.path_message_id(request.path_params["message_id"])
    body = await read_json(request)
    envelope = None
    parties = await state.store.message_parties(message_id)
    if parties is not None and user_id in parties:  # anyone else is told there is no such message
        writes_text = body.get("text") not in (None, "")
        envelope = await envelope_or_plaintext(state, *parties, body.get("envelope"), writes_text)
    text = "" if envelope is not None else validate.message_text(body.get("text"), state.settings.max_message_length)
    if await state.accounts.is_withheld(message_id):
        message = await state.store.writer.run(ChangeWithheld(user_id, message_id, text, envelope))
    else:
        message = await state.store.edit_message(user_id, message_id, text, envelope)
    return JSON(message_object(message, state.store.names, user_id))


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
    state = services_of(request)
    scope = request.query_params.get("for", "both")
    if scope not in ("me", "both"):
        raise validate.invalid("for", "for is me or both.")
    if scope == "me":
        await state.store.hide_message(user_id, validate.path_message_id(request.path_params["message_id"]))
        return Response(status_code=204)
    message_id = validate.path_message_id(request.path_params["message_id"])
    if await state.accounts.is_withheld(message_id):
        message = await state.store.writer.run(ChangeWithheld(user_id, message_id, None))
    else:
        message = await state.store.delete_message(user_id, message_id)
    return JSON(message_object(message, state.store.names, user_id))


@api(
    "Mark what this person sent you read, up to a message",
    {200: ("Done", c.obj(["read_up_to"], read_up_to=c.INTEGER))},
    errors=(404,),
    path={"username": c.USERNAME},
    body=c.obj(["up_to"], up_to=c.ID),
)
async def mark_read(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    other = await user_id_of(state, request.path_params["username"])
    body = await read_json(request)
    up_to = validate.positive_id(body.get("up_to"), "up_to")
    tell_peer = not await activity.apart(state.accounts, user_id, other)
    return JSON({"read_up_to": await state.store.mark_read_up_to(user_id, other, up_to, tell_peer)})


@api(
    "Clear a chat for yourself: every message so far is hidden from you (the other person keeps them)",
    {200: ("The newest message hidden (null: the chat had none)", c.obj(up_to=c.ID | {"type": ["integer", "null"]}))},
    errors=(404, 429),
    path={"username": c.USERNAME},
)
async def clear(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    other = await user_id_of(state, request.path_params["username"])
    await state.limits.sends_by_user.check(str(user_id), "Too many changes; wait {wait} s.", fail_open=True)
    return JSON({"up_to": await state.store.clear_chat(user_id, other)})
