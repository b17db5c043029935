"""The frames a client may send once authenticated, one handler each, in one table."""

from __future__ import annotations

import logging

import orjson

from auth.tokens import authenticate
from calls import commands as calls
from chat.sending import send_operation
from live import activity
from live.client import Client
from store import MarkDelivered, MarkRead, StoreError
from wire import validate
from wire.close_codes import NOT_AUTHENTICATED
from wire.protocol import error_frame, iso, pong_frame, typing_frame
from wire.responses import ApiError

MAX_IDS_PER_FRAME = 1000

log = logging.getLogger("payambar.ws")


async def _send(client: Client, frame: dict) -> None:
    await client.state.limits.sends_by_user.check(
        str(client.user_id), "Too many messages; wait {wait} s.", fail_open=True
    )
    operation = await send_operation(
        client.state,
        client.user_id,
        frame,
        lambda name: client.user_id_of(name, "to"),
        origin=client.subscriber.id,
        ref=frame.get("ref"),
    )
    client.submit(operation, frame.get("ref"))


async def _delivered(client: Client, frame: dict) -> None:
    ids = frame.get("ids")
    if not isinstance(ids, list) or not 0 < len(ids) <= MAX_IDS_PER_FRAME:
        raise validate.invalid("ids", f"ids is a list of 1 to {MAX_IDS_PER_FRAME} message ids.")
    operation = MarkDelivered(client.user_id, [validate.positive_id(i, "ids") for i in ids])
    client.submit(operation, frame.get("ref"))


async def _read(client: Client, frame: dict) -> None:
    up_to = validate.positive_id(frame.get("up_to"), "up_to")
    peer_id = await client.user_id_of(frame.get("peer"), "peer")
    tell_peer = not await activity.apart(client.state.accounts, client.user_id, peer_id)
    client.submit(MarkRead(client.user_id, peer_id, up_to, tell_peer), frame.get("ref"))


async def _typing(client: Client, frame: dict) -> None:
    if not client.typing_limit.allow():
        return  # a flood is dropped here, never forwarded
    peer_id = await client.user_id_of(frame.get("to"), "to")
    if not await activity.may_see_activity(client.state.accounts, peer_id, client.user_id, presence=False):
        return  # typing goes only to people both sides have written to, and never past a block
    me = client.store.names.get(client.user_id)
    if me is not None:
        client.state.broadcaster.send(peer_id, typing_frame(me))


async def _resume(client: Client, frame: dict) -> None:
    client.resume_from = validate.cursor(frame.get("after"))
    client.subscriber.wake()


async def _ping(client: Client, frame: dict) -> None:
    client.reply(pong_frame(frame.get("ref")))


async def _auth_again(client: Client, frame: dict) -> None:
    """A fresh token for this client, so it outlives the one it opened with."""
    token = frame.get("token")
    claims = await authenticate(client.state, token if isinstance(token, str) else None)
    if claims is None or claims[0] != client.user_id or claims[3] != client.scopes:
        raise ApiError(401, "unauthorized", "A valid token of this user, with the same scopes, is needed.")
    client.expires_at(claims[2], NOT_AUTHENTICATED)
    renewed = {"type": "renewed", "ref": frame.get("ref"), "expires_at": iso(int(claims[2]) * 1000)}
    client.reply(orjson.dumps(renewed).decode())


async def viewing_frame(client, frame: dict) -> None:
    """{"type": "viewing", "peer": username or null}: no answer."""
    peer = frame.get("peer")
    if peer is not None:
        validate.username(peer, "peer")
    await client.state.viewing.set(client.user_id, client.subscriber, peer)


# Frames that change something, which an API token may send only with the send scope.
SENDING = frozenset({"send", "delivered", "read", "typing", "viewing"})


async def _call_invite(client: Client, frame: dict) -> None:
    await calls.invite(client.state, client.user_id, frame, frame.get("ref"))


def _call_command(action):
    """A call frame: its answer is the `call` frames the change sends both people."""

    async def handle_call(client: Client, frame: dict) -> None:
        await action(client.state, client.user_id, frame)

    return handle_call


HANDLERS = {
    "send": _send,
    "delivered": _delivered,
    "read": _read,
    "typing": _typing,
    "resume": _resume,
    "ping": _ping,
    "auth": _auth_again,
    "viewing": viewing_frame,
    "call_invite": _call_invite,
    **{f"call_{name}": _call_command(action) for name, action in calls.ACTIONS.items()},
}


async def handle(client: Client, text: str) -> None:
    """Runs one client frame; whatever is wrong with it is answered with an error frame."""
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        frame = None
    if not isinstance(frame, dict):
        client.reply(error_frame("bad_json", "A frame must be a JSON object."))
        return
    ref = frame.get("ref")
    if not isinstance(ref, str | int | float | type(None)) or isinstance(ref, bool):
        ref = None
    kind = frame.get("type")
    handler = HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is None:
        client.reply(error_frame("bad_request", "Unknown frame type.", ref))
        return
    if kind in SENDING and not client.may("send"):
        client.reply(error_frame("insufficient_scope", "This API token may not do that: it needs the send scope.", ref))
        return
    client.touch()
    try:
        await handler(client, frame)
    except ApiError as error:
        client.reply(error_frame(error.code, error.message, ref, error.field))
    except StoreError as error:
        client.reply(error_frame(error.code, error.message, ref, error.field))
    except Exception:  # whatever the frame held, the client stays open
        log.exception("a %s frame failed", kind)
        client.reply(error_frame("bad_request", "The frame could not be handled.", ref))
