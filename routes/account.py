"""The account's own controls: its sessions (devices) and its API tokens for scripts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from auth import passwords
from auth.clients import describe_client
from auth.confirm import confirm_password
from auth.limits import client_address, refuse
from auth.tokens import require_browser_session, require_user
from server.services import services_of
from store import SESSION, TOKEN, User, now_ms
from wire import contract as c
from wire import validate
from wire.bodies import read_json
from wire.close_codes import LOGGED_OUT
from wire.contract import api
from wire.protocol import iso, user_object
from wire.responses import JSON, ApiError

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
SCOPE = {"type": "string", "enum": list(passwords.SCOPES)}
SCOPES_FIELD = c.array(SCOPE) | {"uniqueItems": True, "maxItems": len(passwords.SCOPES)}
DEFAULT_SCOPES = ("read", "send")  # a token that may manage the account must ask for it
PASSWORD_FIELD = c.STRING | {"minLength": 1, "description": "your password: only a logged-in device may do this"}
TOKEN_ITEM = c.obj(
    ["id", "name", "scopes", "created_at", "last_active"],
    id=c.STRING,
    name=c.STRING,
    scopes=SCOPES_FIELD,
    token=c.STRING,
    address=c.STRING,
    created_at=c.TIME,
    last_active=c.TIME,
    expires_at=c.TIME,
)


@api(
    "Your sessions: one per device logged in",
    {200: ("Sessions, newest first", c.obj(["sessions"], sessions=c.array(SESSION_ITEM)))},
    scopes=("account",),
)
async def sessions(request: Request) -> JSON:
    user_id, session_id = await require_user(request, "account")
    listed = await services_of(request).accounts.live_sessions(user_id, SESSION, session_id)
    for session in listed:
        del session["name"], session["scopes"]
        session["created_at"], session["last_active"] = iso(session["created_at"]), iso(session["last_active"])
    return JSON({"sessions": listed})


@api(
    "End one of your sessions; its sockets close",
    {204: ("Ended", None)},
    errors=(403, 404, 429),
    path={"session_id": ID_TEXT},
    body=c.obj(["password"], password=PASSWORD_FIELD),
    scopes=(),
)
async def end_session(request: Request) -> Response:
    user_id, _ = await require_browser_session(request)
    await _confirm(request, user_id, await read_json(request))
    await _revoke(request, user_id, request.path_params["session_id"], SESSION)
    return Response(status_code=204)


@api(
    "Your API tokens (without the tokens themselves)",
    {200: ("Tokens", c.obj(["tokens"], tokens=c.array(TOKEN_ITEM)))},
    scopes=("account",),
)
async def tokens(request: Request) -> JSON:
    user_id, _ = await require_user(request, "account")
    listed = await services_of(request).accounts.live_sessions(user_id, TOKEN)
    for token in listed:
        del token["current"], token["user_agent"]
        token["scopes"] = token["scopes"] or list(passwords.SCOPES)  # made before scopes: all of them
        token["created_at"], token["last_active"] = iso(token["created_at"]), iso(token["last_active"])
    return JSON({"tokens": listed})


@api(
    "Make a long-lived API token for a script; it is shown this once",
    {201: ("The token", TOKEN_ITEM | {"required": ["id", "name", "scopes", "token", "created_at", "expires_at"]})},
    errors=(403, 409, 429),
    body=c.obj(
        ["name", "password"],
        name={"type": "string", "minLength": 1, "maxLength": TOKEN_NAME_MAX, "format": "visible-text"},
        scopes=SCOPES_FIELD | {"minItems": 1, "description": "default: read and send"},
        password=PASSWORD_FIELD,
    ),
    scopes=(),
)
async def create_token(request: Request) -> JSON:
    user_id, _ = await require_browser_session(request)
    body = await read_json(request)
    name = validate.text_field(body.get("name"), "name", TOKEN_NAME_MAX, allow_empty=False, one_line=True)
    scopes = _scopes(body.get("scopes", list(DEFAULT_SCOPES)))
    await _confirm(request, user_id, body)
    state = services_of(request)
    wait = await state.limits.token_creations_by_user.take(str(user_id))
    if wait:
        raise await refuse(wait, "Too many new tokens; try again later.")
    if len(await state.accounts.live_sessions(user_id, TOKEN)) >= MAX_TOKENS:
        raise ApiError(409, "too_many_tokens", f"An account keeps at most {MAX_TOKENS} tokens; revoke one first.")
    token_id = passwords.new_session_id()
    expires_at = now_ms() + API_TOKEN_TTL_MS
    await state.store.create_session(token_id, user_id, expires_at)
    user_agent, address = describe_client(request)
    await state.accounts.describe_session(token_id, TOKEN, name, user_agent, address, " ".join(scopes))
    token = passwords.make_token(state.settings.secret_key, user_id, token_id, expires_at, scopes)
    answer = {
        "id": token_id,
        "name": name,
        "scopes": list(scopes),
        "token": token,
        "created_at": iso(now_ms()),
        "expires_at": iso(expires_at),
    }
    return JSON(answer, 201)


def _scopes(value) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or any(scope not in passwords.SCOPES for scope in value):
        raise validate.invalid("scopes", f"scopes is a list of some of: {', '.join(passwords.SCOPES)}.")
    return tuple(scope for scope in passwords.SCOPES if scope in value)


async def _confirm(request: Request, user_id: int, body: dict) -> None:
    """The password, for what could take the account over (a wrong one is 403, too many 429)."""
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise validate.invalid("password", "Give your password.")
    state = services_of(request)
    await confirm_password(state, user_id, password, client_address(request), "password", "The password is wrong.")


@api(
    "Revoke an API token",
    {204: ("Revoked", None)},
    errors=(404,),
    path={"token_id": ID_TEXT},
    scopes=("account",),
)
async def revoke_token(request: Request) -> Response:
    user_id, _ = await require_user(request, "account")
    await _revoke(request, user_id, request.path_params["token_id"], TOKEN)
    return Response(status_code=204)


async def _revoke(request: Request, user_id: int, session_id: str, kind: str) -> None:
    state = services_of(request)
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
    rows = await services_of(request).accounts.blocked_users(user_id)
    return JSON({"users": [user_object(User(*row)) for row in rows]})


@api(
    "Block someone: their messages are accepted from them but never reach you, and they no longer see"
    " your online state, typing or profile changes",
    {204: ("Blocked (or already blocked)", None)},
    errors=(404, 409, 429),
    path={"username": c.USERNAME},
    scopes=("account",),
)
async def block(request: Request) -> Response:
    user_id, other = await _block_target(request)
    await services_of(request).accounts.block(user_id, other)
    return Response(status_code=204)


@api(
    "Lift a block",
    {204: ("Not blocked", None)},
    errors=(404, 409, 429),
    path={"username": c.USERNAME},
    scopes=("account",),
)
async def unblock(request: Request) -> Response:
    user_id, other = await _block_target(request)
    await services_of(request).accounts.unblock(user_id, other)
    return Response(status_code=204)


async def _block_target(request: Request) -> tuple[int, int]:
    user_id, _ = await require_user(request, "account")
    state = services_of(request)
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
    body=c.obj(["password"], password=PASSWORD_FIELD),
    scopes=(),
)
async def delete_account(request: Request) -> Response:
    user_id, _ = await require_browser_session(request)
    await _confirm(request, user_id, await read_json(request))
    state = services_of(request)
    for session_id in await state.store.revoke_other_sessions(user_id, ""):
        state.broadcaster.revoke(session_id, LOGGED_OUT)
    await state.accounts.delete_account(user_id)
    return Response(status_code=204)
