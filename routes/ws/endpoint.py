"""/ws: authenticate with the first frame, then the update stream live, and client commands.

One task reads frames (`commands.py`); another writes everything the client is sent, in
order, from its send queue (`live/outgoing.py`).
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from starlette.types import Receive, Scope, Send

from auth.limits import clean_host
from auth.tokens import authenticate
from live import activity
from live.client import Client
from live.outgoing import send_out
from live.transport import Disconnected, Transport
from routes.ws import commands
from store import StoreError
from wire import validate
from wire.close_codes import NOT_AUTHENTICATED, POLICY_VIOLATION, TOO_FAR_BEHIND, TRY_AGAIN_LATER
from wire.protocol import error_frame, ready_frame
from wire.responses import ApiError

log = logging.getLogger("payambar.ws")

AUTH_TIMEOUT_SECONDS = 5.0


class SocketApp:
    """The ASGI app at /ws."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = Transport(receive, send)
        if not activity.origin_allowed(scope, scope["app"].state.services.settings.cors_origins):
            await receive()  # the connect
            await send({"type": "websocket.close", "code": POLICY_VIOLATION})  # refused before the handshake: 403
            return
        try:
            await transport.accept()
            peer = scope.get("client")
            await _serve(transport, scope["app"].state.services, clean_host(peer[0] if peer else ""))
        except (Disconnected, OSError, RuntimeError):
            pass  # the client went away; nothing is owed to it
        except StoreError as error:
            log.warning("a client ended: %s", error.code)
            await _close_quickly(transport, TRY_AGAIN_LATER, error.code)


async def _authenticate(transport: Transport, state) -> tuple | None:
    """(user id, session id, cursor or None, batch, token expiry, scopes) from the first frame,
    or None after closing."""
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
    if claims[3] is not None and "read" not in claims[3]:
        await transport.close(NOT_AUTHENTICATED, "this API token lacks the read scope")
        return None
    after = frame.get("after")
    if after is not None:
        try:
            after = validate.cursor(after)
        except ApiError:
            await transport.close(NOT_AUTHENTICATED, "after must be a cursor")
            return None
    return claims[0], claims[1], after, frame.get("batch") is True, claims[2], claims[3]


async def _read_loop(client: Client) -> None:
    transport = client.transport
    while True:
        try:
            text = await transport.receive()
        except Disconnected:
            return
        if not isinstance(text, str):
            client.reply(error_frame("bad_request", "Frames are JSON text, not binary."))
            continue
        await commands.handle(client, text)


async def _serve(transport: Transport, state, address: str) -> None:
    identity = await _authenticate(transport, state)
    if identity is None:
        return
    user_id, session_id, after, batch, expires_at, scopes = identity
    store, broadcaster = state.store, state.broadcaster
    subscriber = broadcaster.new_subscriber(user_id, session_id, state.settings.send_queue_limit)
    client = Client(transport, state, user_id, session_id, subscriber, address)
    client.batch = batch
    client.scopes = scopes
    client.touch()
    client.expires_at(expires_at, NOT_AUTHENTICATED)
    peer_ids = await store.peer_ids(user_id)
    # Subscribed before the cursor is read: whatever commits from here on is in the send queue.
    await state.presence.connected(subscriber, peer_ids)
    tasks: list[asyncio.Task] = []
    try:
        user, cursor = await store.user_and_last_seq(user_id)
        await transport.send_text(ready_frame(user, cursor))
        # The client has everything up to its cursor (clamped to the stream's end); the rest is
        # replayed first, and live updates carry on from there.
        client.last_seq = cursor if after is None else min(after, cursor)
        if after is not None:
            client.resume_from = client.last_seq
        visible = [p for p in peer_ids if await activity.may_see_activity(state.accounts, user_id, p)]
        for frame in await state.presence.online_peers(visible):
            client.reply(frame)
        writer = asyncio.create_task(send_out(client))
        reader = asyncio.create_task(_read_loop(client))
        tasks = [writer, reader]
        # A client that stops reading blocks the writer inside a send; the send queue overflowing
        # then ends the client from here, since no close frame could get through.
        subscriber.on_overflow = writer.cancel
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except (Disconnected, OSError, RuntimeError):
        pass
    finally:
        await _teardown(client, tasks)


async def _teardown(client: Client, tasks: list[asyncio.Task]) -> None:
    subscriber = client.subscriber
    kicked = subscriber.kicked
    if client.expiry is not None:
        client.expiry.cancel()
    await client.state.viewing.forget(client.user_id, subscriber)
    try:
        await client.state.presence.disconnected(subscriber)
    except Exception as error:
        log.warning("counting a client out failed: %s", error)
    for task in tasks:
        task.cancel()
    for task in tasks:
        try:
            await task
        except (asyncio.CancelledError, Disconnected, OSError, RuntimeError):
            pass
        except StoreError as error:  # the database away (or full): one line, no traceback
            log.warning("a client's task ended: %s", error.code)
        except Exception:
            log.exception("a client's task failed")
    if kicked is not None:
        await _close_quickly(client.transport, kicked, "session ended")
    elif subscriber.overflowed:
        await _close_quickly(client.transport, TOO_FAR_BEHIND, "too far behind; resume from your cursor")
    else:
        await _close_quickly(client.transport, 1000, "")


async def _close_quickly(transport: Transport, code: int, reason: str) -> None:
    try:
        await asyncio.wait_for(transport.close(code, reason), 1.0)
    except (TimeoutError, RuntimeError, OSError, Disconnected):
        pass  # the transport is closed when this endpoint returns
