"""People: search by username or display name, and public profiles."""

from __future__ import annotations

from starlette.requests import Request

from routes import contract as c
from routes import validate
from routes.bodies import query_int
from routes.contract import api
from routes.protocol import user_object
from routes.responses import JSON, ApiError, invalid
from routes.throttle import Throttle
from routes.tokens import require_user

# Finding someone takes a few searches; a script walking the whole user list meets this.
throttle = Throttle("people", limit=120, window_seconds=60)


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
    await throttle.check(request.app.state, user_id)
    text = request.query_params.get("q", "").strip()
    if not text or len(text) > validate.DISPLAY_NAME_MAX:
        raise invalid("q", f"q is 1 to {validate.DISPLAY_NAME_MAX} characters.")
    limit = query_int(request, "limit", 20, 1, 50)
    by_username = validate.USERNAME_PREFIX.fullmatch(text) is not None
    users = await request.app.state.store.search_users(text, user_id, limit, by_username)
    accounts = request.app.state.accounts
    return JSON({"users": [user_object(user) for user in users if not await accounts.is_deleted(user.id)]})


@api("A public profile", {200: ("The user", c.ref("User"))}, errors=(404,), path={"username": c.USERNAME}, public=True)
async def profile(request: Request) -> JSON:
    username = request.path_params["username"]
    store = request.app.state.store
    user = await store.user_by_username(username) if validate.USERNAME.fullmatch(username) else None
    if user is None or await request.app.state.accounts.is_deleted(user.id):
        raise ApiError(404, "user_not_found", "No such user.")
    return JSON(user_object(user))
