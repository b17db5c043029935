"""What a send or an edit needs to know about end-to-end encryption: whether its chat is
encrypted (both people have keys), and whether an envelope is one. The server never opens one."""

from __future__ import annotations

from payambar.e2ee import envelope as env
from payambar.e2ee.primitives import unb64
from wire import validate
from wire.responses import ApiError


async def chat_is_encrypted(state, user_id: int, peer_id: int) -> bool:
    """Both people have published keys (for a chat with oneself, that person has)."""
    return len(await state.store.users_with_keys({user_id, peer_id})) == len({user_id, peer_id})


async def envelope_or_plaintext(state, user_id: int, peer_id: int, raw, writes_text: bool) -> bytes | None:
    """The envelope's bytes, or None for a plaintext send; refuses the wrong one for the chat.
    writes_text: whether the request carries anything else the server would read (text,
    a forward of a plaintext message)."""
    encrypted = await chat_is_encrypted(state, user_id, peer_id)
    if raw is None:
        if encrypted:
            raise ApiError(
                409,
                "encryption_required",
                "Both people in this chat have end-to-end encryption keys: send an envelope, never plaintext.",
                "envelope",
            )
        return None
    if not encrypted:
        raise ApiError(
            409,
            "peer_not_encrypted",
            "End-to-end encryption needs keys on both sides; one side has none, so this chat is plaintext.",
            "envelope",
        )
    if writes_text:
        raise validate.invalid("text", "An encrypted message carries its text inside the envelope: leave text out.")
    return checked_envelope(state, raw, to_self=user_id == peer_id)


def checked_envelope(state, raw, to_self: bool = False) -> bytes:
    if not isinstance(raw, str):
        raise validate.invalid("envelope", "envelope is the envelope's bytes in base64url.")
    if len(raw) > 4 * state.settings.max_envelope_bytes // 3 + 4:  # too long before it is even decoded
        raise _too_large(state)
    try:
        data = unb64(raw)
    except ValueError:
        raise validate.invalid("envelope", "envelope is the envelope's bytes in base64url, without padding.") from None
    if len(data) > state.settings.max_envelope_bytes:
        raise _too_large(state)
    try:
        count = env.check(data)
    except env.BadEnvelope as error:
        raise validate.invalid("envelope", f"Not a version 1 envelope: {error}.") from None
    if count == 0 and not to_self:
        raise validate.invalid("envelope", "An envelope to someone else names at least one of their devices.")
    return data


def _too_large(state) -> ApiError:
    limit = state.settings.max_envelope_bytes
    return ApiError(413, "envelope_too_large", f"An envelope is at most {limit} bytes.", "envelope")
