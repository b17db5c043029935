"""People: search by username and public profiles."""

from __future__ import annotations

from starlette.requests import Request

from routes import contract as c
from routes import validate
from routes.contract import api
from routes.http import JSON, ApiError, invalid, query_int, require_user
from store.records import user_dict


@api(
    "Find people by username prefix",
    {200: ("Matches, yourself excluded", c.obj(["users"], users=c.array(c.ref("User"))))},
    query={"q": c.required(c.USERNAME_PREFIX), "limit": c.integer(1, 50, 20)},
)
async def search(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    prefix = request.query_params.get("q", "")
    if not validate.USERNAME_PREFIX.fullmatch(prefix):
        raise invalid("q", "q is 1 to 32 letters, digits or underscores.")
    limit = query_int(request, "limit", 20, 1, 50)
    state = request.app.state
    users = await state.store.search_users(prefix, user_id, limit)
    users = [user for user in users if not state.accounts.is_deleted(state.store._ids.get(user["username"].lower()))]
    return JSON({"users": users})


@api("A public profile", {200: ("The user", c.ref("User"))}, errors=(404,), path={"username": c.USERNAME}, public=True)
async def profile(request: Request) -> JSON:
    username = request.path_params["username"]
    row = await request.app.state.store.user_by_username(username) if validate.USERNAME.fullmatch(username) else None
    if row is None or request.app.state.accounts.is_deleted(row[0]):
        raise ApiError(404, "user_not_found", "No such user.")
    return JSON(user_dict(row))
