"""The frames a client may send once authenticated, one handler each, in one table."""

from __future__ import annotations

import logging

import orjson

from routes import validate, ws_guard
from routes.messages import send_operation
from routes.protocol import error_frame, iso, pong_frame, typing_frame
from routes.push import viewing_frame
from routes.ratelimit import too_many
from routes.responses import ApiError
from routes.tokens import authenticate
from routes.ws.connection import Connection
from store import StoreError
from store.operations import MarkDelivered, MarkRead

MAX_IDS_PER_FRAME = 1000
NOT_AUTHENTICATED = 4001  # the close code of a connection whose token expired

log = logging.getLogger("payambar.ws")


async def _send(connection: Connection, frame: dict) -> None:
    wait = await connection.state.limits.sends_by_user.take(str(connection.user_id), fail_open=True)
    if wait:
        raise too_many(wait, f"Too many messages; wait {wait} s.")
    operation = await send_operation(
        connection.state,
        connection.user_id,
        frame,
        lambda name: connection.user_id_of(name, "to"),
        origin=connection.subscriber.id,
        ref=frame.get("ref"),
    )
    connection.submit(operation, frame.get("ref"))


async def _delivered(connection: Connection, frame: dict) -> None:
    ids = frame.get("ids")
    if not isinstance(ids, list) or not 0 < len(ids) <= MAX_IDS_PER_FRAME:
        raise validate.invalid("ids", f"ids is a list of 1 to {MAX_IDS_PER_FRAME} message ids.")
    operation = MarkDelivered(connection.user_id, [validate.positive_id(i, "ids") for i in ids])
    connection.submit(operation, frame.get("ref"))


async def _read(connection: Connection, frame: dict) -> None:
    up_to = validate.positive_id(frame.get("up_to"), "up_to")
    peer_id = await connection.user_id_of(frame.get("peer"), "peer")
    connection.submit(MarkRead(connection.user_id, peer_id, up_to), frame.get("ref"))


async def _typing(connection: Connection, frame: dict) -> None:
    if not connection.typing_limit.allow():
        return  # a flood is dropped here, never forwarded
    peer_id = await connection.user_id_of(frame.get("to"), "to")
    if not await ws_guard.may_see_activity(connection.state, peer_id, connection.user_id, presence=False):
        return  # typing goes only to people both sides have written to, and never past a block
    me = connection.store.names.get(connection.user_id)
    if me is not None:
        connection.state.broadcaster.send(peer_id, typing_frame(me))


async def _resume(connection: Connection, frame: dict) -> None:
    connection.resume_from = validate.cursor(frame.get("after"))
    connection.subscriber.wake()


async def _ping(connection: Connection, frame: dict) -> None:
    connection.reply(pong_frame(frame.get("ref")))


async def _auth_again(connection: Connection, frame: dict) -> None:
    """A fresh token for this connection, so it outlives the one it opened with."""
    token = frame.get("token")
    claims = await authenticate(connection.state, token if isinstance(token, str) else None)
    if claims is None or claims[0] != connection.user_id:
        raise ApiError(401, "unauthorized", "A valid token of this user is needed.")
    connection.expires_at(claims[2], NOT_AUTHENTICATED)
    renewed = {"type": "renewed", "ref": frame.get("ref"), "expires_at": iso(int(claims[2]) * 1000)}
    connection.reply(orjson.dumps(renewed).decode())


HANDLERS = {
    "send": _send,
    "delivered": _delivered,
    "read": _read,
    "typing": _typing,
    "resume": _resume,
    "ping": _ping,
    "auth": _auth_again,
    "viewing": viewing_frame,
}


async def handle(connection: Connection, text: str) -> None:
    """Runs one client frame; whatever is wrong with it is answered with an error frame."""
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        frame = None
    if not isinstance(frame, dict):
        connection.reply(error_frame("bad_json", "A frame must be a JSON object."))
        return
    ref = frame.get("ref")
    if not isinstance(ref, str | int | float | type(None)) or isinstance(ref, bool):
        ref = None
    kind = frame.get("type")
    handler = HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is None:
        connection.reply(error_frame("bad_request", "Unknown frame type.", ref))
        return
    connection.touch()
    try:
        await handler(connection, frame)
    except ApiError as error:
        connection.reply(error_frame(error.code, error.message, ref, error.field))
    except StoreError as error:
        connection.reply(error_frame(error.code, error.message, ref, error.field))
    except Exception:  # whatever the frame held, the connection stays open
        log.exception("a %s frame failed", kind)
        connection.reply(error_frame("bad_request", "The frame could not be handled.", ref))
