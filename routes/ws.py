"""/ws: authenticate with the first frame, then the update stream live, and client commands.

One task reads frames; another writes everything the connection is sent, in order, from the
subscriber's outbox. Every update carries its seq; the writer never sends a seq at or below
the last one sent, which is what makes resume plus live delivery exactly-once.
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from starlette.types import Receive, Scope, Send

import security
from broadcast import Subscriber
from routes import validate, ws_guard
from routes.http import ApiError, authenticate
from routes.messages import send_operation
from routes.ratelimit import too_many
from routes.wire import Disconnected, Wire, app_state
from store import StoreError
from store.operations import MarkDelivered, MarkRead
from store.records import iso, user_dict

log = logging.getLogger("payambar.ws")

AUTH_TIMEOUT_SECONDS = 5.0
REPLAY_PAGE = 1000
MAX_IDS_PER_FRAME = 1000
NOT_AUTHENTICATED, TOO_FAR_BEHIND = 4001, 4008


def _dumps(payload: dict) -> str:
    return orjson.dumps(payload).decode()


def _error(code: str, message: str, ref=None, field: str | None = None) -> dict:
    frame = {"type": "error", "ref": ref, "code": code, "message": message}
    if field:
        frame["field"] = field
    return frame


class Session:
    """One authenticated connection."""

    def __init__(self, websocket: Wire, state, user_id: int, subscriber: Subscriber) -> None:
        self.websocket = websocket
        self.state = state
        self.store = state.store
        self.user_id = user_id
        self.subscriber = subscriber
        self.last_seq = 0
        self.resume_from: int | None = None
        self.session_id = subscriber.session_id
        self.typing_limit = ws_guard.TypingLimit()
        self.expiry: asyncio.TimerHandle | None = None

    def expires_at(self, when: float) -> None:
        """Closes the connection with 4001 when its token expires, unless renewed before."""
        if self.expiry is not None:
            self.expiry.cancel()
        self.expiry = ws_guard.close_when_expired(self.subscriber, when, NOT_AUTHENTICATED)

    def reply(self, payload: dict) -> None:
        self.subscriber.deliver(_dumps(payload))

    # ---- writing -------------------------------------------------------------------------

    async def write_loop(self) -> None:
        websocket, subscriber = self.websocket, self.subscriber
        while True:
            if self.resume_from is not None:
                after, self.resume_from = self.resume_from, None
                await self.replay(after)
            frames = await subscriber.next_frames()
            if subscriber.kicked is not None:
                await websocket.close(subscriber.kicked)
                return
            if subscriber.overflowed:
                return
            if subscriber.closed:
                return
            for seq, text in frames:
                if seq is not None:
                    if seq <= self.last_seq:
                        continue
                    self.last_seq = seq
                await websocket.send_text(text)

    async def replay(self, after: int) -> None:
        """Sends every stored update after the cursor, then carries on from the last sent."""
        while True:
            updates = await self.store.updates_after(self.user_id, after, REPLAY_PAGE)
            for update in updates:
                await self.websocket.send_text(_dumps(update))
            if updates:
                after = updates[-1]["seq"]
                self.last_seq = max(self.last_seq, after)
            if len(updates) < REPLAY_PAGE:
                return

    # ---- reading -------------------------------------------------------------------------

    async def read_loop(self) -> None:
        websocket = self.websocket
        while True:
            try:
                text = await websocket.receive()
            except Disconnected:
                return
            if not isinstance(text, str):
                self.reply(_error("bad_request", "Frames are JSON text, not binary."))
                continue
            await self.handle(text)

    async def handle(self, text: str) -> None:
        try:
            frame = orjson.loads(text)
        except orjson.JSONDecodeError:
            self.reply(_error("bad_json", "A frame must be a JSON object."))
            return
        if not isinstance(frame, dict):
            self.reply(_error("bad_json", "A frame must be a JSON object."))
            return
        ref = frame.get("ref")
        kind = frame.get("type")
        handler = HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            self.reply(_error("bad_request", "Unknown frame type.", ref))
            return
        try:
            await handler(self, frame)
        except ApiError as error:
            self.reply(_error(error.code, error.message, ref, error.field))
        except StoreError as error:
            self.reply(_error(error.code, error.message, ref, getattr(error, "field", None)))
        except Exception:  # whatever the frame held, the connection stays open
            log.exception("a %s frame failed", kind)
            self.reply(_error("bad_request", "The frame could not be handled.", ref))

    def submit(self, operation, ref=None) -> None:
        """Queues a change; only a failure is answered here (success arrives as updates)."""
        future = self.store.submit(operation)
        future.add_done_callback(lambda done: self._report_failure(done, ref))

    def _report_failure(self, future: asyncio.Future, ref) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            return
        if isinstance(error, StoreError):
            self.reply(_error(error.code, error.message, ref))
        else:
            log.error("a change from a connection failed", exc_info=error)
            self.reply(_error("internal", "The change could not be saved; retry it.", ref))

    async def peer(self, username, field: str) -> int:
        if not isinstance(username, str) or not validate.USERNAME.fullmatch(username):
            raise validate.invalid(field, f"{field} must be a username.")
        user_id = await self.store.user_id(username)
        if user_id is None:
            raise ApiError(404, "user_not_found", "No such user.", field)
        return user_id


async def _send(session: Session, frame: dict) -> None:
    wait = session.state.limits.sends_by_user.take(str(session.user_id))
    if wait:
        raise too_many(wait, f"Too many messages; wait {wait} s.")
    operation = await send_operation(
        session.state,
        session.user_id,
        frame,
        lambda name: session.peer(name, "to"),
        origin=session.subscriber,
        ref=frame.get("ref"),
    )
    session.submit(operation, frame.get("ref"))


async def _delivered(session: Session, frame: dict) -> None:
    ids = frame.get("ids")
    if not isinstance(ids, list) or not 0 < len(ids) <= MAX_IDS_PER_FRAME:
        raise validate.invalid("ids", f"ids is a list of 1 to {MAX_IDS_PER_FRAME} message ids.")
    session.submit(MarkDelivered(session.user_id, [validate.positive_id(i, "ids") for i in ids]), frame.get("ref"))


async def _read(session: Session, frame: dict) -> None:
    up_to = validate.positive_id(frame.get("up_to"), "up_to")
    peer_id = await session.peer(frame.get("peer"), "peer")
    session.submit(MarkRead(session.user_id, peer_id, up_to), frame.get("ref"))


async def _typing(session: Session, frame: dict) -> None:
    if not session.typing_limit.allow():
        return  # a flood is dropped here, never forwarded
    peer_id = await session.peer(frame.get("to"), "to")
    if not await ws_guard.may_see_activity(session.state, peer_id, session.user_id, presence=False):
        return  # typing goes only to people both sides have written to, and never past a block
    me = session.store.names.get(session.user_id)
    session.state.broadcaster.send(peer_id, {"type": "typing", "from": me})


async def _resume(session: Session, frame: dict) -> None:
    session.resume_from = validate.cursor(frame.get("after"))
    session.subscriber.wake()


async def _ping(session: Session, frame: dict) -> None:
    session.reply({"type": "pong", "ref": frame.get("ref")})


async def _auth_again(session: Session, frame: dict) -> None:
    """A fresh token for this connection, so it outlives the one it opened with."""
    token = frame.get("token") if isinstance(frame.get("token"), str) else None
    claims = await authenticate(session.state, token)
    if claims is None or claims[0] != session.user_id:
        raise ApiError(401, "unauthorized", "A valid token of this user is needed.")
    expires_at = security.read_token(session.state.settings.secret_key, token)[2]
    session.expires_at(expires_at)
    session.reply({"type": "renewed", "ref": frame.get("ref"), "expires_at": iso(expires_at * 1000)})


HANDLERS = {
    "send": _send,
    "delivered": _delivered,
    "read": _read,
    "typing": _typing,
    "resume": _resume,
    "ping": _ping,
    "auth": _auth_again,
}


async def _authenticate(websocket: Wire, state) -> tuple[int, str, int | None, int] | None:
    """(user id, session id, cursor or None, token expiry) from the first frame, or None after closing."""
    try:
        text = await asyncio.wait_for(websocket.receive(), AUTH_TIMEOUT_SECONDS)
    except TimeoutError:
        await websocket.close(NOT_AUTHENTICATED, "authenticate within 5 seconds")
        return None
    except Disconnected:
        return None
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        frame = None
    if not isinstance(frame, dict) or frame.get("type") != "auth":
        await websocket.close(NOT_AUTHENTICATED, "the first frame must be auth")
        return None
    token = frame.get("token") if isinstance(frame.get("token"), str) else None
    claims = await authenticate(state, token)
    if claims is None:
        await websocket.close(NOT_AUTHENTICATED, "invalid or expired token")
        return None
    after = frame.get("after")
    if after is not None:
        try:
            after = validate.cursor(after)
        except ApiError:
            await websocket.close(NOT_AUTHENTICATED, "after must be a cursor")
            return None
    return claims[0], claims[1], after, security.read_token(state.settings.secret_key, token)[2]


class WebSocketEndpoint:
    """The ASGI app at /ws."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = Wire(receive, send)
        if not ws_guard.origin_allowed(scope, app_state(scope).settings.cors_origins):
            await receive()  # the connect
            await send({"type": "websocket.close", "code": 1008})  # refused before the handshake: 403
            return
        try:
            await websocket.accept()
            await _serve(websocket, app_state(scope))
        except (Disconnected, OSError, RuntimeError):
            pass  # the client went away; nothing is owed to it


async def _serve(websocket: Wire, state) -> None:
    identity = await _authenticate(websocket, state)
    if identity is None:
        return
    user_id, session_id, after, expires_at = identity
    store = state.store
    subscriber = Subscriber(user_id, session_id, state.settings.outbox_limit)
    session = Session(websocket, state, user_id, subscriber)
    session.expires_at(expires_at)
    peer_ids = await store.peer_ids(user_id)
    # Subscribed before the cursor is read: whatever commits from here on is in the outbox.
    await state.realtime.attach(subscriber, peer_ids)
    tasks: list[asyncio.Task] = []
    try:
        user_row, cursor = await store.user_and_last_seq(user_id)
        user = user_dict(user_row, private=True)
        await websocket.send_text(_dumps({"type": "ready", "user": user, "cursor": cursor}))
        if after is None:
            session.last_seq = cursor
        else:
            session.resume_from = after
        visible = [p for p in peer_ids if await ws_guard.may_see_activity(state, user_id, p)]
        for frame in state.realtime.online_peers(visible):
            session.reply(frame)
        writer = asyncio.create_task(session.write_loop())
        reader = asyncio.create_task(session.read_loop())
        tasks = [writer, reader]
        # A client that stops reading blocks the writer inside a send; the outbox overflowing
        # then ends the connection from here, since no close frame could get through.
        subscriber.on_overflow = writer.cancel
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except (Disconnected, OSError, RuntimeError):
        pass
    finally:
        if session.expiry is not None:
            session.expiry.cancel()
        state.realtime.detach(subscriber)
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, Disconnected, OSError, RuntimeError):
                pass
            except Exception:
                log.exception("a connection's task failed")
        if subscriber.overflowed:
            await _close_quickly(websocket, TOO_FAR_BEHIND, "too far behind; resume from your cursor")
        else:
            await _close_quickly(websocket, 1000, "")


async def _close_quickly(websocket: Wire, code: int, reason: str) -> None:
    try:
        await asyncio.wait_for(websocket.close(code, reason), 1.0)
    except (TimeoutError, RuntimeError, OSError, Disconnected):
        pass  # the transport is closed when this endpoint returns
