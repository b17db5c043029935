"""People: search by username and public profiles."""

from __future__ import annotations

from starlette.requests import Request

from routes import validate
from routes.bodies import query_int
from routes.protocol import user_object
from routes.responses import JSON, ApiError, invalid
from routes.tokens import require_user


async def search(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    prefix = request.query_params.get("q", "")
    if not validate.USERNAME_PREFIX.fullmatch(prefix):
        raise invalid("q", "q is 1 to 32 letters, digits or underscores.")
    limit = query_int(request, "limit", 20, 1, 50)
    users = await request.app.state.store.search_users(prefix, user_id, limit)
    return JSON({"users": [user_object(user) for user in users]})


async def profile(request: Request) -> JSON:
    username = request.path_params["username"]
    store = request.app.state.store
    user = await store.user_by_username(username) if validate.USERNAME.fullmatch(username) else None
    if user is None:
        raise ApiError(404, "user_not_found", "No such user.")
    return JSON(user_object(user))
