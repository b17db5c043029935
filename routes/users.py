"""People: search by username or display name, and public profiles."""

from __future__ import annotations

from starlette.requests import Request

from auth.tokens import require_user
from server.services import services_of
from wire import contract as c
from wire import validate
from wire.bodies import query_int
from wire.contract import api
from wire.protocol import user_object
from wire.responses import JSON, ApiError, invalid

# Finding someone takes a few searches; a script walking the whole user list meets this.


@api(
    "Find people: usernames starting with q, then display names with a word starting with q",
    {200: ("Matches, yourself excluded", c.obj(["users"], users=c.array(c.ref("User"))))},
    errors=(429,),
    query={
        "q": c.required({"type": "string", "minLength": 1, "maxLength": 64, "pattern": "\\S"}),
        "limit": c.integer(1, 50, 20),
    },
)
async def search(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    await services_of(request).limits.people_lookups_by_user.check(str(user_id))
    text = request.query_params.get("q", "").strip()
    if not text or len(text) > validate.DISPLAY_NAME_MAX:
        raise invalid("q", f"q is 1 to {validate.DISPLAY_NAME_MAX} characters.")
    limit = query_int(request, "limit", 20, 1, 50)
    by_username = validate.USERNAME_PREFIX.fullmatch(text) is not None
    users = await services_of(request).store.search_users(text, user_id, limit, by_username)
    accounts = services_of(request).accounts
    return JSON({"users": [user_object(user) for user in users if not await accounts.is_deleted(user.id)]})


@api("A public profile", {200: ("The user", c.ref("User"))}, errors=(404,), path={"username": c.USERNAME}, public=True)
async def profile(request: Request) -> JSON:
    username = request.path_params["username"]
    store = services_of(request).store
    user = await store.user_by_username(username) if validate.USERNAME.fullmatch(username) else None
    if user is None or await services_of(request).accounts.is_deleted(user.id):
        raise ApiError(404, "user_not_found", "No such user.")
    return JSON(user_object(user))
