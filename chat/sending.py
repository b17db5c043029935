"""A send, from a request body or a WebSocket frame to the store operation that commits it:
the text or the forwarded original, the attached file, the reply, and whether a block withholds it."""

from __future__ import annotations

from chat.encryption import envelope_or_plaintext
from media.blobs import UPLOAD_ID
from store import Message, SendMessage, Status, WithheldSend
from wire import validate
from wire.protocol import dumps
from wire.responses import ApiError


async def send_operation(state, user_id: int, body: dict, resolve_peer, origin=None, ref=None) -> SendMessage:
    """Checks a send request (HTTP body or WebSocket frame) and makes its store operation."""
    forward_of = validate.optional_id(body.get("forward_of"), "forward_of")
    raw_envelope = body.get("envelope")
    forwarded_from = None
    sealed_file = None
    if forward_of is None:
        file_id, attachment, sealed_file = await attached_file(state, user_id, body.get("file_id"))
        text = body.get("text")
        if raw_envelope is not None or (file_id is not None and text in (None, "")):
            text = ""  # an envelope holds its own text; a file may go without a caption
        else:
            text = validate.message_text(text, state.settings.max_message_length)
    else:
        if raw_envelope is not None:
            raise validate.invalid(
                "forward_of", "An encrypted forward is a new envelope (kind forward): leave forward_of out."
            )
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
    writes_text = forward_of is not None or body.get("text") not in (None, "")
    envelope = await envelope_or_plaintext(state, user_id, recipient_id, raw_envelope, writes_text)
    if sealed_file is not None and sealed_file != (envelope is not None):
        raise _file_mismatch(envelope is not None)
    if reply_to is not None and not await state.store.message_in_chat(reply_to, user_id, recipient_id):
        # not a message this conversation has: as absent as a message that never existed
        raise ApiError(404, "message_not_found", "reply_to is not a message of this conversation.", "reply_to")
    fields = (text, client_id, reply_to, origin, ref, forwarded_from, file_id, attachment, envelope)
    if await state.accounts.blocks(recipient_id, user_id):  # accepted as ever, kept from the blocker
        return WithheldSend(user_id, recipient_id, *fields)
    if recipient_id == user_id:  # Saved Messages: a note to yourself is read as it is written
        return SendMessage(user_id, recipient_id, *fields, status=Status.READ)
    return SendMessage(user_id, recipient_id, *fields)


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


def _file_mismatch(encrypted_chat: bool) -> ApiError:
    """A file that the chat's people could not open, or that the server could read in a sealed chat."""
    if encrypted_chat:
        return ApiError(
            409,
            "file_not_encrypted",
            "In an end-to-end encrypted chat a file goes up sealed by its sender (tus metadata `encrypted 1`).",
            "file_id",
        )
    return ApiError(
        409,
        "file_encrypted",
        "A sealed file goes with an envelope; in a plaintext chat nobody could open it.",
        "file_id",
    )


async def attached_file(state, user_id: int, file_id) -> tuple[str | None, str | None, bool | None]:
    """(file id, the file object as JSON, whether it is sealed) of a file the sender uploaded;
    (None, None, None) without one."""
    if file_id is None:
        return None, None, None
    if not isinstance(file_id, str) or not UPLOAD_ID.fullmatch(file_id):
        raise validate.invalid("file_id", "file_id must be the id of a file you uploaded.")
    found = await state.files.file(file_id)
    if found is None or found.owner_id != user_id:
        raise ApiError(404, "file_not_found", "No such file.")
    return file_id, dumps(found.as_dict()), found.encrypted
