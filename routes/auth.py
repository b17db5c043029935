"""Accounts: register, log in, refresh, log out, the user's own profile and password."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from auth import passwords
from auth.clients import describe_client
from auth.confirm import confirm_password
from auth.limits import client_address, counted_address, refuse
from auth.tokens import require_browser_session, require_user
from server.services import Services, services_of
from store import SESSION, TOKEN, VISIBILITIES, Conflict, User, now_ms
from wire import contract as c
from wire import validate
from wire.bodies import read_json
from wire.close_codes import LOGGED_OUT
from wire.contract import api
from wire.protocol import iso, profile_frame, user_object
from wire.responses import JSON, ApiError


def _counters(request: Request):
    return services_of(request).counters


async def _token_answer(request: Request, user: User, session_id: str | None = None) -> dict:
    state = services_of(request)
    expires_at = now_ms() + state.settings.token_ttl * 1000
    if session_id is None:
        session_id = passwords.new_session_id()
        await state.store.create_session(session_id, user.id, expires_at)
        await state.accounts.describe_session(session_id, SESSION, None, *describe_client(request))
    else:
        await state.store.extend_session(session_id, user.id, expires_at)
    token = passwords.make_token(state.settings.secret_key, user.id, session_id, expires_at)
    return {"token": token, "expires_at": iso(expires_at), "user": await _own_profile(state, user.id, user)}


@api(
    "Create an account",
    {201: ("A token for the new account", c.ref("Session"))},
    errors=(409, 429),
    body=c.obj(
        ["username", "password"],
        username=c.USERNAME,
        password=c.PASSWORD,
        display_name=c.DISPLAY_NAME | {"type": ["string", "null"], "minLength": 0, "description": "empty: username"},
    ),
    public=True,
)
async def register(request: Request) -> JSON:
    body = await read_json(request)
    username = validate.username(body.get("username"))
    password = validate.password(body.get("password"))
    display_name = body.get("display_name")
    if display_name is None or display_name == "":
        display_name = username
    display_name = validate.display_name(display_name)
    state = services_of(request)
    store = state.store
    taken_by = await store.user_id(username)
    if taken_by is not None and await state.accounts.release_username_if_due(taken_by):
        store._ids.pop(username.lower(), None)  # the old account keeps its row under another key
        taken_by = None
    if taken_by is not None:
        raise ApiError(409, "username_taken", "That username is taken.", "username")
    address = client_address(request)
    wait = await state.limits.registrations_by_address.take(address)
    if wait:
        raise await refuse(wait, "Too many new accounts from this address; try again later.")
    password_hash = await passwords.hash_password(password, _counters(request), address, state.settings.bcrypt_rounds)
    try:
        user = await store.create_user(username, display_name, password_hash)
    except Conflict:
        raise ApiError(409, "username_taken", "That username is taken.", "username") from None
    return JSON(await _token_answer(request, user), 201)


@api(
    "Log in",
    {200: ("A token for a new session", c.ref("Session"))},
    errors=(401, 429),
    body=c.obj(["username", "password"], username=c.STRING | {"minLength": 1}, password=c.STRING | {"minLength": 1}),
    public=True,
)
async def login(request: Request) -> JSON:
    body = await read_json(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise ApiError(422, "invalid_input", "Give a username and a password.", "username")
    state = services_of(request)
    limits = state.limits
    address, username_key = client_address(request), username.lower()[:32]
    pair = f"{username_key}|{address}"
    # Refused before any hashing: a flood of guesses costs the server next to nothing.
    wait = max(
        await limits.login_failures_by_pair.retry_after(pair),
        await limits.login_failures_by_address.retry_after(address),
    )
    # Usernames are public (profiles), so an unknown one is refused without a password check.
    user = await state.store.user_by_username(username) if validate.USERNAME.fullmatch(username) else None
    if user and await state.accounts.is_deleted(user.id):
        user = None
    known = await _logged_in_from(state, user, address)
    if not wait and not known:
        # Guesses at the account from everywhere close it only to addresses it never logged in
        # from: a stranger's flood cannot keep the owner out. A try from a stranger counts before
        # its check (and is given back if right), so a burst cannot start more checks than that.
        wait = await limits.login_failures_by_username.retry_after(username_key)
        if not wait:
            await limits.login_failures_by_username.hit(username_key)
    if wait:
        raise await refuse(wait, "Too many failed logins; try again later.")
    stored_hash = await state.store.password_hash(user.id) if user else None
    # An address the account knows waits apart from the guesses at the account.
    account_key = "" if known else username_key
    matches = (
        stored_hash is not None
        and len(password) <= validate.PASSWORD_MAX
        and await passwords.check_password(password, stored_hash, _counters(request), address, account_key)
    )
    if user is None or not matches:
        await limits.login_failures_by_pair.hit(pair)
        await limits.login_failures_by_address.hit(address)
        passwords.count_failure(address, account_key)
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    await limits.login_failures_by_pair.reset(pair)
    if not known:
        await limits.login_failures_by_username.hit(username_key, -1)
    answer = await _token_answer(request, user)
    state.accounts.forget_login_addresses(user.id)  # this address is one of them from now on
    return JSON(answer)


async def _logged_in_from(state, user: User | None, address: str) -> bool:
    """Whether this address (IPv6: its /64) has logged in to the account before."""
    if user is None:
        return False
    return any(counted_address(known) == address for known in await state.accounts.login_addresses(user.id))


@api("A fresh token for this session", {200: ("The fresh token", c.ref("Session"))}, errors=(403,))
async def refresh(request: Request) -> JSON:
    user_id, session_id = await require_user(request)
    if await services_of(request).accounts.session_kind(user_id, session_id) == TOKEN:
        raise ApiError(403, "forbidden", "An API token lives until it is revoked; it needs no refresh.")
    user = await _signed_in_user(services_of(request), user_id)
    return JSON(await _token_answer(request, user, session_id))


@api("End this session", {204: ("Logged out; the token stops working", None)}, scopes=("read",))
async def logout(request: Request) -> Response:
    user_id, session_id = await require_user(request, "read")  # any token may end itself
    state = services_of(request)
    await state.store.revoke_session(user_id, session_id)
    state.broadcaster.revoke(session_id, LOGGED_OUT)
    return Response(status_code=204)


@api("Your profile", {200: ("You", c.ref("User"))})
async def me(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    return JSON(await _own_profile(services_of(request), user_id))


async def _signed_in_user(state: Services, user_id: int) -> User:
    """The person whose token was just checked; gone only when the account was deleted since."""
    user = await state.store.user_by_id(user_id)
    if user is None:
        raise ApiError(401, "unauthorized", "A valid token is needed.", headers={"WWW-Authenticate": "Bearer"})
    return user


async def _own_profile(state, user_id: int, user: User | None = None) -> dict:
    body = user_object(user or await state.store.user_by_id(user_id), private=True)
    body["last_seen_visibility"] = await state.accounts.visibility(user_id)
    return body


@api(
    "Change display name, bio or who sees when you were last online",
    {200: ("You", c.ref("User"))},
    body=c.obj(
        display_name=c.DISPLAY_NAME,
        bio=c.BIO,
        last_seen_visibility={"type": "string", "enum": list(VISIBILITIES)},
    ),
    scopes=("account",),
)
async def update_me(request: Request) -> JSON:
    user_id, _ = await require_user(request, "account")
    body = await read_json(request)
    changes = {}
    if "display_name" in body:
        changes["display_name"] = validate.display_name(body["display_name"])
    if "bio" in body:
        changes["bio"] = validate.text_field(body["bio"], "bio", validate.BIO_MAX)
    state = services_of(request)
    if "last_seen_visibility" in body:
        visibility = body["last_seen_visibility"]
        if visibility not in VISIBILITIES:
            raise validate.invalid("last_seen_visibility", "last_seen_visibility is everyone, contacts or nobody.")
        await state.accounts.set_visibility(user_id, visibility)
    if changes:
        await state.store.update_profile(user_id, **changes)
    user = await _signed_in_user(state, user_id)
    if changes:
        frame = profile_frame(user)
        state.broadcaster.send(user_id, frame)  # the person's other devices show the change too
        for peer_id in await state.store.peer_ids(user_id):
            if not await state.accounts.blocks(user_id, peer_id):  # a blocked person sees no profile changes
                state.broadcaster.send(peer_id, frame)
    return JSON(await _own_profile(state, user_id, user))


@api(
    "Change your password; every other session ends",
    {200: ("A token for this session", c.ref("Session"))},
    errors=(403, 429),
    body=c.obj(
        ["current_password", "new_password"], current_password=c.STRING | {"minLength": 1}, new_password=c.PASSWORD
    ),
    scopes=(),
)
async def change_password(request: Request) -> JSON:
    user_id, session_id = await require_browser_session(request)
    body = await read_json(request)
    current = body.get("current_password")
    if not isinstance(current, str) or not current:
        raise validate.invalid("current_password", "Give the current password.")
    new = validate.password(body.get("new_password"), "new_password")
    state = services_of(request)
    address = client_address(request)
    await confirm_password(state, user_id, current, address, "current_password", "The current password is wrong.")
    await state.store.update_profile(
        user_id,
        password_hash=await passwords.hash_password(new, _counters(request), address, state.settings.bcrypt_rounds),
    )
    for revoked in await state.store.revoke_other_sessions(user_id, session_id):
        state.broadcaster.revoke(revoked, LOGGED_OUT)
    user = await _signed_in_user(state, user_id)
    return JSON(await _token_answer(request, user, session_id))
