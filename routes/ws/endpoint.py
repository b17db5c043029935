"""/ws: authenticate with the first frame, then the update stream live, and client commands.

One task reads frames (`commands.py`); another writes everything the connection is sent, in
order, from its outbox (`pump.py`).
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from starlette.types import Receive, Scope, Send

from routes import validate, ws_guard
from routes.protocol import error_frame, ready_frame
from routes.responses import ApiError
from routes.tokens import authenticate
from routes.ws import commands
from routes.ws.connection import Connection
from routes.ws.pump import pump
from routes.ws.transport import Disconnected, Transport
from store import StoreError

log = logging.getLogger("payambar.ws")

AUTH_TIMEOUT_SECONDS = 5.0
NOT_AUTHENTICATED, LOGGED_OUT, TOO_FAR_BEHIND = 4001, 4003, 4008
TRY_AGAIN_LATER = 1013  # the database is away: the client comes back after a pause


class WebSocketEndpoint:
    """The ASGI app at /ws."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = Transport(receive, send)
        if not ws_guard.origin_allowed(scope, scope["app"].state.settings.cors_origins):
            await receive()  # the connect
            await send({"type": "websocket.close", "code": 1008})  # refused before the handshake: 403
            return
        try:
            await transport.accept()
            client = scope.get("client")
            await _serve(transport, scope["app"].state, client[0] if client else "")
        except (Disconnected, OSError, RuntimeError):
            pass  # the client went away; nothing is owed to it
        except StoreError as error:
            log.warning("a connection ended: %s", error.code)
            await _close_quickly(transport, TRY_AGAIN_LATER, error.code)


async def _authenticate(transport: Transport, state) -> tuple[int, str, int | None, bool, float] | None:
    """(user id, session id, cursor or None, batch, token expiry) from the first frame, or None
    after closing."""
    try:
        text = await asyncio.wait_for(transport.receive(), AUTH_TIMEOUT_SECONDS)
    except TimeoutError:
        await transport.close(NOT_AUTHENTICATED, "authenticate within 5 seconds")
        return None
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        frame = None
    if not isinstance(frame, dict) or frame.get("type") != "auth":
        await transport.close(NOT_AUTHENTICATED, "the first frame must be auth")
        return None
    token = frame.get("token")
    claims = await authenticate(state, token if isinstance(token, str) else None)
    if claims is None:
        await transport.close(NOT_AUTHENTICATED, "invalid or expired token")
        return None
    after = frame.get("after")
    if after is not None:
        try:
            after = validate.cursor(after)
        except ApiError:
            await transport.close(NOT_AUTHENTICATED, "after must be a cursor")
            return None
    return claims[0], claims[1], after, frame.get("batch") is True, claims[2]


async def _read_loop(connection: Connection) -> None:
    transport = connection.transport
    while True:
        try:
            text = await transport.receive()
        except Disconnected:
            return
        if not isinstance(text, str):
            connection.reply(error_frame("bad_request", "Frames are JSON text, not binary."))
            continue
        await commands.handle(connection, text)


async def _serve(transport: Transport, state, address: str) -> None:
    identity = await _authenticate(transport, state)
    if identity is None:
        return
    user_id, session_id, after, batch, expires_at = identity
    store, broadcaster = state.store, state.broadcaster
    subscriber = broadcaster.new_subscriber(user_id, session_id, state.settings.outbox_limit)
    connection = Connection(transport, state, user_id, session_id, subscriber, address)
    connection.batch = batch
    connection.touch()
    connection.expires_at(expires_at, NOT_AUTHENTICATED)
    peer_ids = await store.peer_ids(user_id)
    # Subscribed before the cursor is read: whatever commits from here on is in the outbox.
    await state.presence.connected(subscriber, peer_ids)
    tasks: list[asyncio.Task] = []
    try:
        user, cursor = await store.user_and_last_seq(user_id)
        await transport.send_text(ready_frame(user, cursor))
        # The client has everything up to its cursor (clamped to the stream's end); the rest is
        # replayed first, and live updates carry on from there.
        connection.last_seq = cursor if after is None else min(after, cursor)
        if after is not None:
            connection.resume_from = connection.last_seq
        visible = [p for p in peer_ids if await ws_guard.may_see_activity(state, user_id, p)]
        for frame in await state.presence.online_peers(visible):
            connection.reply(frame)
        writer = asyncio.create_task(pump(connection))
        reader = asyncio.create_task(_read_loop(connection))
        tasks = [writer, reader]
        # A client that stops reading blocks the writer inside a send; the outbox overflowing
        # then ends the connection from here, since no close frame could get through.
        subscriber.on_overflow = writer.cancel
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except (Disconnected, OSError, RuntimeError):
        pass
    finally:
        await _teardown(connection, tasks)


async def _teardown(connection: Connection, tasks: list[asyncio.Task]) -> None:
    subscriber = connection.subscriber
    kicked = subscriber.kicked
    if connection.expiry is not None:
        connection.expiry.cancel()
    await connection.state.viewing.forget(connection.user_id, subscriber)
    try:
        await connection.state.presence.disconnected(subscriber)
    except Exception as error:
        log.warning("counting a connection out failed: %s", error)
    for task in tasks:
        task.cancel()
    for task in tasks:
        try:
            await task
        except (asyncio.CancelledError, Disconnected, OSError, RuntimeError):
            pass
        except StoreError as error:  # the database away (or full): one line, no traceback
            log.warning("a connection's task ended: %s", error.code)
        except Exception:
            log.exception("a connection's task failed")
    if kicked is not None:
        await _close_quickly(connection.transport, kicked, "session ended")
    elif subscriber.overflowed:
        await _close_quickly(connection.transport, TOO_FAR_BEHIND, "too far behind; resume from your cursor")
    else:
        await _close_quickly(connection.transport, 1000, "")


async def _close_quickly(transport: Transport, code: int, reason: str) -> None:
    try:
        await asyncio.wait_for(transport.close(code, reason), 1.0)
    except (TimeoutError, RuntimeError, OSError, Disconnected):
        pass  # the transport is closed when this endpoint returns
