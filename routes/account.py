"""The account's own controls: its sessions (devices) and its API tokens for scripts."""

from __future__ import annotations

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

import security
from routes import contract as c
from routes import validate
from routes.bodies import read_json
from routes.contract import api
from routes.protocol import iso, user_object
from routes.ratelimit import client_address, refuse
from routes.responses import JSON, ApiError
from routes.tokens import require_user
from routes.ws import LOGGED_OUT
from store.accounts import SESSION, TOKEN
from store.rows import User, now_ms

USER_AGENT_MAX = 256
TOKEN_NAME_MAX = 64
MAX_TOKENS = 20
API_TOKEN_TTL_MS = 5 * 365 * 86400 * 1000  # "long-lived": until revoked, or five years


ID_TEXT = {"type": "string", "minLength": 1, "maxLength": 64}
SESSION_ITEM = c.obj(
    ["id", "user_agent", "address", "created_at", "last_active", "current"],
    id=c.STRING,
    user_agent=c.STRING,
    address=c.STRING,
    created_at=c.TIME,
    last_active=c.TIME,
    current=c.BOOLEAN,
)
TOKEN_ITEM = c.obj(
    ["id", "name", "created_at", "last_active"],
    id=c.STRING,
    name=c.STRING,
    token=c.STRING,
    address=c.STRING,
    created_at=c.TIME,
    last_active=c.TIME,
    expires_at=c.TIME,
)


def describe_client(connection: HTTPConnection) -> tuple[str, str]:
    """(user agent, address) of a client, cleaned for showing in a list of sessions."""
    user_agent = connection.headers.get("user-agent", "")[:USER_AGENT_MAX]
    user_agent = "".join(c for c in user_agent if c.isprintable())
    return user_agent, connection.client.host if connection.client else ""


@api(
    "Your sessions: one per device logged in",
    {200: ("Sessions, newest first", c.obj(["sessions"], sessions=c.array(SESSION_ITEM)))},
)
async def sessions(request: Request) -> JSON:
    user_id, session_id = await require_user(request)
    listed = await request.app.state.accounts.live_sessions(user_id, SESSION, session_id)
    for session in listed:
        del session["name"]
        session["created_at"], session["last_active"] = iso(session["created_at"]), iso(session["last_active"])
    return JSON({"sessions": listed})


@api("End one of your sessions; its sockets close", {204: ("Ended", None)}, errors=(404,), path={"session_id": ID_TEXT})
async def end_session(request: Request) -> Response:
    user_id, _ = await require_user(request)
    await _revoke(request, user_id, request.path_params["session_id"], SESSION)
    return Response(status_code=204)


@api(
    "Your API tokens (without the tokens themselves)", {200: ("Tokens", c.obj(["tokens"], tokens=c.array(TOKEN_ITEM)))}
)
async def tokens(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    listed = await request.app.state.accounts.live_sessions(user_id, TOKEN)
    for token in listed:
        del token["current"], token["user_agent"]
        token["created_at"], token["last_active"] = iso(token["created_at"]), iso(token["last_active"])
    return JSON({"tokens": listed})


@api(
    "Make a long-lived API token for a script; it is shown this once",
    {201: ("The token", TOKEN_ITEM | {"required": ["id", "name", "token", "created_at", "expires_at"]})},
    errors=(409, 429),
    body=c.obj(
        ["name"], name={"type": "string", "minLength": 1, "maxLength": TOKEN_NAME_MAX, "format": "visible-text"}
    ),
)
async def create_token(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    body = await read_json(request)
    name = validate.text_field(body.get("name"), "name", TOKEN_NAME_MAX, allow_empty=False, one_line=True)
    state = request.app.state
    wait = await state.limits.token_creations_by_user.take(str(user_id))
    if wait:
        raise await refuse(wait, "Too many new tokens; try again later.")
    if len(await state.accounts.live_sessions(user_id, TOKEN)) >= MAX_TOKENS:
        raise ApiError(409, "too_many_tokens", f"An account keeps at most {MAX_TOKENS} tokens; revoke one first.")
    token_id = security.new_session_id()
    expires_at = now_ms() + API_TOKEN_TTL_MS
    await state.store.create_session(token_id, user_id, expires_at)
    user_agent, address = describe_client(request)
    await state.accounts.describe_session(token_id, TOKEN, name, user_agent, address)
    token = security.make_token(state.settings.secret_key, user_id, token_id, expires_at)
    answer = {"id": token_id, "name": name, "token": token, "created_at": iso(now_ms()), "expires_at": iso(expires_at)}
    return JSON(answer, 201)


@api("Revoke an API token", {204: ("Revoked", None)}, errors=(404,), path={"token_id": ID_TEXT})
async def revoke_token(request: Request) -> Response:
    user_id, _ = await require_user(request)
    await _revoke(request, user_id, request.path_params["token_id"], TOKEN)
    return Response(status_code=204)


async def _revoke(request: Request, user_id: int, session_id: str, kind: str) -> None:
    state = request.app.state
    if len(session_id) > 64 or await state.accounts.session_kind(user_id, session_id) != kind:
        raise ApiError(404, "not_found", "No such session." if kind == SESSION else "No such token.")
    await state.store.revoke_session(user_id, session_id)
    state.broadcaster.revoke(session_id, LOGGED_OUT)


# ---- blocks -------------------------------------------------------------------------------------


@api(
    "People you block, most recent first",
    {200: ("Blocked people", c.obj(["users"], users=c.array(c.ref("User"))))},
)
async def blocked(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    rows = await request.app.state.accounts.blocked_users(user_id)
    return JSON({"users": [user_object(User(*row)) for row in rows]})


@api(
    "Block someone: their messages are accepted from them but never reach you, and they no longer see"
    " your online state, typing or profile changes",
    {204: ("Blocked (or already blocked)", None)},
    errors=(404, 409, 429),
    path={"username": c.USERNAME},
)
async def block(request: Request) -> Response:
    user_id, other = await _block_target(request)
    await request.app.state.accounts.block(user_id, other)
    return Response(status_code=204)


@api("Lift a block", {204: ("Not blocked", None)}, errors=(404, 409, 429), path={"username": c.USERNAME})
async def unblock(request: Request) -> Response:
    user_id, other = await _block_target(request)
    await request.app.state.accounts.unblock(user_id, other)
    return Response(status_code=204)


async def _block_target(request: Request) -> tuple[int, int]:
    user_id, _ = await require_user(request)
    state = request.app.state
    username = request.path_params["username"]
    other = await state.store.user_id(username) if validate.USERNAME.fullmatch(username) else None
    if other is None:
        raise ApiError(404, "user_not_found", "No such user.")
    if other == user_id:
        raise ApiError(409, "cannot_block_yourself", "You cannot block yourself.")
    wait = await state.limits.block_changes_by_user.take(str(user_id))
    if wait:
        raise await refuse(wait, "Too many block changes; try again later.")
    return user_id, other


# ---- deleting the account ---------------------------------------------------------------------


@api(
    "Delete your account: every session and token ends, your messages are deleted for both sides,"
    " your profile is gone and your username stays reserved for 30 days",
    {204: ("Deleted", None)},
    errors=(403, 429),
    body=c.obj(["password"], password=c.STRING | {"minLength": 1}),
)
async def delete_account(request: Request) -> Response:
    user_id, _ = await require_user(request)
    body = await read_json(request)
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise validate.invalid("password", "Give your password to delete the account.")
    state = request.app.state
    failures, address = state.limits.password_failures_by_user, client_address(request)
    wait = await failures.retry_after(str(user_id))
    if wait:
        raise await refuse(wait, "Too many wrong passwords; try again later.")
    stored_hash = await state.store.password_hash(user_id)
    counters = state.broadcaster.backend
    if len(password) > validate.PASSWORD_MAX or not await security.check_password(
        password, stored_hash, counters, address
    ):
        await failures.hit(str(user_id))
        security.count_failure(address)
        raise ApiError(403, "wrong_password", "The password is wrong.", "password")
    for session_id in await state.store.revoke_other_sessions(user_id, ""):
        state.broadcaster.revoke(session_id, LOGGED_OUT)
    await state.accounts.delete_account(user_id)
    return Response(status_code=204)
