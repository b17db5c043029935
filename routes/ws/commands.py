"""The frames a client may send once authenticated, one handler each, in one table."""

from __future__ import annotations

import orjson

from routes import validate
from routes.messages import send_operation
from routes.protocol import error_frame, pong_frame, typing_frame
from routes.push import viewing_frame
from routes.responses import ApiError
from routes.ws.connection import Connection
from store import StoreError
from store.operations import MarkDelivered, MarkRead

MAX_IDS_PER_FRAME = 1000


async def _send(connection: Connection, frame: dict) -> None:
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
    peer_id = await connection.user_id_of(frame.get("to"), "to")
    me = connection.store.names.get(connection.user_id)
    if me is not None:
        connection.state.broadcaster.send(peer_id, typing_frame(me))


async def _resume(connection: Connection, frame: dict) -> None:
    connection.resume_from = validate.cursor(frame.get("after"))
    connection.subscriber.wake()


async def _ping(connection: Connection, frame: dict) -> None:
    connection.reply(pong_frame(frame.get("ref")))


async def _auth_again(connection: Connection, frame: dict) -> None:
    raise ApiError(400, "bad_request", "This connection is already authenticated.")


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
    try:
        await handler(connection, frame)
    except ApiError as error:
        connection.reply(error_frame(error.code, error.message, ref, error.field))
    except StoreError as error:
        connection.reply(error_frame(error.code, error.message, ref, error.field))
