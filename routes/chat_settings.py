"""A person's own settings of a chat over HTTP: PATCH /api/conversations/{username}."""

from __future__ import annotations

from starlette.requests import Request

from auth.tokens import require_user, user_id_of
from server.services import services_of
from store import MAX_PINNED, MUTED_ALWAYS, now_ms
from wire import contract as c
from wire.bodies import read_json
from wire.contract import api
from wire.protocol import chat_settings_object
from wire.responses import JSON, invalid

MUTE_SECONDS = {"1h": 3600, "8h": 8 * 3600, "1d": 86400}
MUTES = [*MUTE_SECONDS, "always", "off"]
FLAGS = ("pinned", "archived", "marked_unread")


@api(
    "Change your own settings of a chat: pin, mute, archive, mark unread",
    {200: ("The chat's settings after the change", c.CHAT_SETTINGS)},
    errors=(404, 409, 429),
    path={"username": c.USERNAME},
    body=c.obj(
        pinned=c.BOOLEAN,
        mute={"type": "string", "enum": MUTES},
        archived=c.BOOLEAN,
        marked_unread=c.BOOLEAN,
    ),
    description="Only what the body names changes (an empty body changes nothing and answers the settings)."
    " mute is 1h, 8h or 1d from now, always, or off; a muted chat"
    f" sends no Web Push until muted_until. At most {MAX_PINNED} chats are pinned (409 too_many_pinned)."
    " Your other devices get a chat_settings update. Nobody else ever sees these settings.",
)
async def change(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    await state.limits.chat_settings_by_user.check(str(user_id), "Too many chat changes; wait {wait} s.")
    peer_id = await user_id_of(state, request.path_params["username"])
    changes = _changes(await read_json(request))
    await state.store.load_names((user_id, peer_id))
    settings, _ = await state.store.change_chat_settings(user_id, peer_id, changes)
    return JSON(chat_settings_object(settings))


def _changes(body: dict) -> dict:
    changes = {}
    for name in FLAGS:
        if name in body:
            if not isinstance(body[name], bool):
                raise invalid(name, f"{name} is true or false.")
            changes[name] = body[name]
    if "mute" in body:
        mute = body["mute"]
        if mute not in MUTES:
            raise invalid("mute", "mute is one of " + ", ".join(MUTES) + ".")
        changes["muted_until"] = _muted_until(mute)
    return changes


def _muted_until(mute: str) -> int | None:
    if mute == "off":
        return None
    if mute == "always":
        return MUTED_ALWAYS
    return now_ms() + MUTE_SECONDS[mute] * 1000
