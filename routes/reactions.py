"""Reactions and pins of messages over HTTP: a person's one reaction to a message of their chat
(an emoji in a plaintext chat, an envelope of inner kind `reaction` in an encrypted one), and the
chat's pinned messages, which both people see."""

from __future__ import annotations

import unicodedata

from starlette.requests import Request

from auth.limits import REACTIONS_PER_MINUTE
from auth.tokens import require_user, user_id_of
from chat.encryption import chat_is_encrypted, checked_envelope
from server.services import services_of
from wire import contract as c
from wire import validate
from wire.bodies import read_json
from wire.contract import api
from wire.protocol import message_object
from wire.responses import JSON, ApiError, invalid

EMOJI_MAX = 16  # code points: a family or a flag, with its joiners and modifiers
REACTION_ENVELOPE_BYTES = 32_768  # a reaction is a few bytes inside: this is many devices' prekey entries
_JOINERS = {"\u200d", "\ufe0f", "\ufe0e", "\u20e3"}  # zero-width joiner, variation selectors, keycap

REACTION_BODY = c.obj(
    emoji={
        "type": "string",
        "minLength": 1,
        "maxLength": EMOJI_MAX,
        "format": "emoji",
        "description": "in a plaintext chat: one emoji (a symbol with its modifiers and joiners)",
    },
    envelope=c.ENVELOPE | {"type": "string", "description": "in an encrypted chat: inner kind reaction"},
    client_id=c.CLIENT_ID | {"description": "the envelope's client_id (bound by its associated data)"},
) | {"anyOf": [{"required": ["emoji"]}, {"required": ["envelope", "client_id"]}]}
MESSAGE_PATH = {"message_id": c.ID}


def emoji_of(value) -> str:
    """One emoji (a symbol with its modifiers, joiners and tags), never letters, digits or controls."""
    if not isinstance(value, str) or not 1 <= len(value) <= EMOJI_MAX:
        raise invalid("emoji", f"emoji is one emoji of at most {EMOJI_MAX} code points.")
    symbols = 0
    for char in value:
        kind = unicodedata.category(char)
        if kind == "So":
            symbols += 1
        elif not (kind in ("Sk", "Mn", "Me") or char in _JOINERS or 0xE0020 <= ord(char) <= 0xE007F):
            raise invalid("emoji", "emoji is an emoji: letters, digits, spaces and control characters are not.")
    if not symbols:
        raise invalid("emoji", "emoji is an emoji.")
    return value


async def _parties(state, user_id: int, message_id: int) -> tuple[int, int]:
    parties = await state.store.message_parties(message_id)
    if parties is None or user_id not in parties:  # anyone else is told there is no such message
        raise ApiError(404, "message_not_found", "No such message.")
    return parties


async def _peer_and_block(state, user_id: int, message_id: int) -> tuple[int, bool]:
    """The other person of the message's chat, and whether a block stands between them either way."""
    sender_id, recipient_id = await _parties(state, user_id, message_id)
    peer_id = recipient_id if user_id == sender_id else sender_id
    apart = await state.accounts.blocks(peer_id, user_id) or await state.accounts.blocks(user_id, peer_id)
    return peer_id, apart


def _reaction(state, body: dict, encrypted: bool, to_self: bool) -> dict:
    """{emoji} for a plaintext chat, {envelope, client_id} for an encrypted one; the other is 409."""
    if encrypted:
        if "emoji" in body:
            raise ApiError(
                409, "encryption_required", "This chat is end-to-end encrypted: send the reaction sealed.", "envelope"
            )
        if "envelope" not in body:
            raise invalid("envelope", "envelope is the sealed reaction (inner kind reaction).")
        raw = body["envelope"]
        if isinstance(raw, str) and len(raw) > 4 * REACTION_ENVELOPE_BYTES // 3 + 4:
            limit = REACTION_ENVELOPE_BYTES
            raise ApiError(413, "envelope_too_large", f"A reaction is at most {limit} bytes.", "envelope")
        checked_envelope(state, raw, to_self=to_self)
        return {"envelope": raw, "client_id": validate.client_id(body.get("client_id"))}
    if "envelope" in body:
        raise ApiError(
            409, "peer_not_encrypted", "This chat is not end-to-end encrypted: send the emoji itself.", "envelope"
        )
    return {"emoji": emoji_of(body.get("emoji"))}


@api(
    "React to a message of your chat: your one reaction to it, set or replaced",
    {200: ("The message with its reactions", c.ref("Message"))},
    errors=(404, 409, 413, 429),
    path=MESSAGE_PATH,
    body=REACTION_BODY,
    description="emoji in a plaintext chat; envelope and client_id (an envelope of inner kind reaction,"
    " docs/e2ee.md §7.3) in an end-to-end encrypted one, the other is a 409. Each person has one reaction"
    " per message; both people's devices get a reaction update with the message. Across a block the reaction"
    f" is kept from the other person. {REACTIONS_PER_MINUTE} a minute.",
)
async def react(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    await state.limits.reactions_by_user.check(str(user_id), "Too many reactions; wait {wait} s.")
    message_id = validate.path_message_id(request.path_params["message_id"])
    body = await read_json(request)
    peer_id, apart = await _peer_and_block(state, user_id, message_id)
    encrypted = await chat_is_encrypted(state, user_id, peer_id)
    reaction = _reaction(state, body, encrypted, to_self=user_id == peer_id)
    message = await state.store.react(user_id, message_id, reaction, withheld=apart)
    return JSON(message_object(message, state.store.names, user_id))


@api(
    "Take back your reaction to a message",
    {200: ("The message with its reactions", c.ref("Message"))},
    errors=(404, 409, 429),
    path=MESSAGE_PATH,
)
async def unreact(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    await state.limits.reactions_by_user.check(str(user_id), "Too many reactions; wait {wait} s.")
    message_id = validate.path_message_id(request.path_params["message_id"])
    _, apart = await _peer_and_block(state, user_id, message_id)
    message = await state.store.react(user_id, message_id, None, withheld=apart)
    return JSON(message_object(message, state.store.names, user_id))


async def _pin(request: Request, pinned: bool) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    await state.limits.chat_settings_by_user.check(str(user_id), "Too many chat changes; wait {wait} s.")
    message_id = validate.path_message_id(request.path_params["message_id"])
    await _parties(state, user_id, message_id)
    message = await state.store.pin_message(user_id, message_id, pinned)
    return JSON(message_object(message, state.store.names, user_id))


@api(
    "Pin a message in its chat, for both people",
    {200: ("The message, pinned_at set", c.ref("Message"))},
    errors=(404, 409, 429),
    path=MESSAGE_PATH,
    description="Either person may pin any message of the chat; both people's devices get a pin update."
    " At most 50 pinned at once (409 too_many_pinned). The server learns which message is pinned, not what it says.",
)
async def pin(request: Request) -> JSON:
    return await _pin(request, True)


@api(
    "Unpin a message, for both people",
    {200: ("The message, pinned_at null", c.ref("Message"))},
    errors=(404, 409, 429),
    path=MESSAGE_PATH,
)
async def unpin(request: Request) -> JSON:
    return await _pin(request, False)


@api(
    "The chat's pinned messages, the newest pin first",
    {200: ("Pinned messages", c.obj(["messages"], messages=c.array(c.ref("Message"))))},
    errors=(404,),
    path={"username": c.USERNAME},
)
async def pinned(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    peer_id = await user_id_of(state, request.path_params["username"])
    found = await state.store.pinned_messages(user_id, peer_id)
    return JSON({"messages": [message_object(message, state.store.names, user_id) for message in found]})
