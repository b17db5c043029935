"""What a person may do with a call, checked the same way whether it came as a WebSocket frame
(`call_invite`, `call_answer`, …) or an HTTP request (`POST /api/calls`, …): the fields are
validated here, who may call whom is decided here, and the state machine does the rest."""

from __future__ import annotations

import re

from auth.tokens import user_id_of
from calls.machine import MEDIA, Call
from calls.turn import ice_servers
from live import activity
from wire.responses import ApiError, invalid

MAX_SIGNAL_CHARS = 32_768  # a sealed offer: an SDP (≈ 6 KB) in an envelope with prekey entries for a few devices
DEVICE = re.compile(r"[A-Za-z0-9_-]{8,64}")
CALL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def signal_of(body: dict) -> str:
    """The opaque signal: text the server keeps and relays, never reads."""
    signal = body.get("signal")
    if not isinstance(signal, str) or not signal:
        raise invalid("signal", "signal is the offer, answer or candidate as text.")
    if len(signal) > MAX_SIGNAL_CHARS:
        raise ApiError(413, "signal_too_large", f"A signal is at most {MAX_SIGNAL_CHARS} characters.", "signal")
    return signal


def device_of(body: dict) -> str:
    device = body.get("device")
    if not isinstance(device, str) or not DEVICE.fullmatch(device):
        raise invalid("device", "device is 8-64 letters, digits, _ or - naming this device.")
    return device


def call_id_of(body: dict) -> str:
    call_id = body.get("call_id")
    if not isinstance(call_id, str) or not CALL_ID.fullmatch(call_id):
        raise ApiError(404, "call_not_found", "No such call.")
    return call_id


async def require_may_call(state, caller_id: int, callee_id: int) -> None:
    """Calls go between people who may see each other's activity: a chat in which both have
    written, and no block either way (the same answer for both, so a block is not revealed)."""
    if caller_id == callee_id:
        raise ApiError(403, "call_not_allowed", "You cannot call yourself.")
    allowed = not await state.accounts.is_deleted(callee_id) and await activity.may_see_activity(
        state.accounts, caller_id, callee_id, presence=False
    )
    if not allowed:
        raise ApiError(403, "call_not_allowed", "You can call people you have both written to.")


async def invite(state, user_id: int, body: dict, ref=None) -> Call:
    media = body.get("media", "audio")
    if media not in MEDIA:
        raise invalid("media", "media is audio or video.")
    device, signal = device_of(body), signal_of(body)
    callee_id = await user_id_of(state, body.get("to"), "to")
    await require_may_call(state, user_id, callee_id)
    await state.limits.call_invites_by_user.check(str(user_id), "Too many calls; wait {wait} s.", fail_open=True)
    await state.store.load_names([user_id, callee_id])  # the frames name both
    return state.calls.invite(user_id, callee_id, media, device, signal, ref)


async def ringing(state, user_id: int, body: dict) -> Call:
    return state.calls.ringing(user_id, call_id_of(body), device_of(body))


async def answer(state, user_id: int, body: dict) -> Call:
    call_id, device, signal = call_id_of(body), device_of(body), signal_of(body)
    return state.calls.answer(user_id, call_id, device, signal)


async def signal(state, user_id: int, body: dict) -> Call:
    call_id, device, text = call_id_of(body), device_of(body), signal_of(body)
    return state.calls.signal(user_id, call_id, device, text)


async def decline(state, user_id: int, body: dict) -> Call:
    return state.calls.decline(user_id, call_id_of(body))


async def hangup(state, user_id: int, body: dict) -> Call:
    failed = body.get("failed", False)
    if not isinstance(failed, bool):
        raise invalid("failed", "failed is true when the call broke, false when it was hung up.")
    return state.calls.hangup(user_id, call_id_of(body), device_of(body), failed)


async def connected(state, user_id: int, body: dict) -> Call:
    relayed = body.get("relayed")
    if not isinstance(relayed, bool):
        raise invalid("relayed", "relayed is whether the selected candidate pair is a TURN relay.")
    return state.calls.connected(user_id, call_id_of(body), relayed)


ACTIONS = {
    "ringing": ringing,
    "answer": answer,
    "signal": signal,
    "decline": decline,
    "hangup": hangup,
    "connected": connected,
}


async def ice_servers_for(state, user_id: int, peer) -> dict:
    """Short-lived TURN credentials for a call with `peer`: only to someone who may call them."""
    await state.limits.ice_requests_by_user.check(str(user_id), fail_open=True)
    peer_id = await user_id_of(state, peer, "peer")
    await require_may_call(state, user_id, peer_id)
    settings = state.settings.calls
    return ice_servers(settings.turn_urls, settings.turn_secret, user_id, settings.turn_lifetime)
