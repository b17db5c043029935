"""People: search by username or display name, and public profiles."""

from __future__ import annotations

from starlette.requests import Request

from routes import validate
from routes.http import JSON, ApiError, invalid, query_int, require_user
from routes.throttle import Throttle
from store.records import user_dict

# Finding someone takes a few searches; a script walking the whole user list meets this.
throttle = Throttle(rate=2.0, burst=60)


async def search(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    throttle.check(user_id)
    text = request.query_params.get("q", "").strip()
    if not text or len(text) > validate.DISPLAY_NAME_MAX:
        raise invalid("q", f"q is 1 to {validate.DISPLAY_NAME_MAX} characters.")
    limit = query_int(request, "limit", 20, 1, 50)
    by_username = validate.USERNAME_PREFIX.fullmatch(text) is not None
    users = await request.app.state.store.search_users(text, user_id, limit, by_username)
    return JSON({"users": users})


async def profile(request: Request) -> JSON:
    username = request.path_params["username"]
    row = await request.app.state.store.user_by_username(username) if validate.USERNAME.fullmatch(username) else None
    if row is None:
        raise ApiError(404, "user_not_found", "No such user.")
    return JSON(user_dict(row))
