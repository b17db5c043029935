"""The wire format, in one place: every JSON object and frame the server sends is shaped here,
for live delivery and for replay alike."""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson

from store import ChatSettings, Message, Status, Update, UpdateKind, User

STATUS_NAMES = {Status.SENT: "sent", Status.DELIVERED: "delivered", Status.READ: "read", Status.READ_QUIETLY: "read"}
UPDATE_TYPES = {
    UpdateKind.MESSAGE: "message",
    UpdateKind.STATUS: "status",
    UpdateKind.EDIT: "edit",
    UpdateKind.DELETE: "delete",
    UpdateKind.READ_BY_PEER: "read",
    UpdateKind.READ_BY_SELF: "read",
    UpdateKind.REACTION: "reaction",
    UpdateKind.PIN: "pin",
}

_DAYS: dict[int, str] = {}  # days since 1970 -> "YYYY-MM-DDT", formatted once each
_TWO_DIGITS = [f"{n:02d}" for n in range(60)]
_THREE_DIGITS = [f"{n:03d}" for n in range(1000)]


def _base64url(data: bytes) -> str:
    """Bytes as JSON carries them (docs/e2ee.md §1): base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    seconds, millis = divmod(ms, 1000)
    days, second_of_day = divmod(seconds, 86400)
    day = _DAYS.get(days)
    if day is None:
        if len(_DAYS) > 100_000:
            _DAYS.clear()
        day = _DAYS[days] = time.strftime("%Y-%m-%dT", time.gmtime(days * 86400))
    hours, rest = divmod(second_of_day, 3600)
    minutes, second = divmod(rest, 60)
    return f"{day}{_TWO_DIGITS[hours]}:{_TWO_DIGITS[minutes]}:{_TWO_DIGITS[second]}.{_THREE_DIGITS[millis]}Z"


def dumps(value: Any) -> str:
    """JSON text, the one serializer of the app."""
    return orjson.dumps(value).decode()


def message_object(message: Message, names: dict[int, str], viewer: int | None = None) -> dict[str, Any]:
    """A message as `viewer` sees it: a message read across a block is "read" only to its reader
    (to anyone else, and when the viewer is not said, "delivered")."""
    status = STATUS_NAMES[message.status]
    if message.status == Status.READ_QUIETLY and viewer != message.recipient_id:
        status = "delivered"
    return {
        "id": message.id,
        "client_id": message.client_id,
        "sender": names[message.sender_id],
        "recipient": names[message.recipient_id],
        "text": message.text,
        "reply_to": message.reply_to,
        "created_at": iso(message.created_at),
        "edited_at": iso(message.edited_at),
        "deleted": bool(message.deleted),
        "status": status,
        "forwarded_from": message.forwarded_from,
        "attachment": None if message.attachment is None else orjson.Fragment(message.attachment),
        "envelope": None if message.envelope is None else _base64url(message.envelope),
        "call": None if message.call is None else orjson.Fragment(message.call),
        "reactions": reactions_object(message, names, viewer) if message.reactions else [],
        "pinned_at": iso(message.pinned_at),
    }


def reactions_object(message: Message, names: dict[int, str], viewer: int | None) -> list[dict[str, Any]]:
    """Each person's reaction as `viewer` sees it: {user, emoji} in a plaintext chat, {user,
    envelope, client_id} in an encrypted one; one kept from the other person (a block) only to its writer."""
    if message.deleted:
        return []
    shown = []
    for entry in orjson.loads(message.reactions or "[]"):
        if entry.get("withheld") and viewer != entry["user_id"]:
            continue
        reaction = {"user": names.get(entry["user_id"]), "at": iso(entry["at"])}
        for key in ("emoji", "envelope", "client_id"):
            if key in entry:
                reaction[key] = entry[key]
        shown.append(reaction)
    return shown


def chat_settings_object(settings: ChatSettings) -> dict[str, Any]:
    """A chat's settings as its owner sees them: pinned, muted_until, archived, marked_unread."""
    return {
        "pinned": settings.pinned_at is not None,
        "pinned_at": iso(settings.pinned_at),
        "muted_until": iso(settings.muted_until),
        "archived": settings.archived,
        "marked_unread": settings.marked_unread,
    }


def user_object(user: User, private: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "username": user.username,
        "display_name": user.display_name,
        "bio": user.bio,
        "created_at": iso(user.created_at),
        "avatar": None if user.avatar is None else f"/api/users/{user.username}/avatar?v={user.avatar}",
    }
    if private:
        body["id"] = user.id
    return body


def update_object(update: Update, names: dict[int, str]) -> dict[str, Any]:
    if update.kind == UpdateKind.HIDE:
        return {"type": "hide", "seq": update.seq, "message_id": update.message_id}
    peer_id = update.peer_id if update.peer_id is not None else -1  # set on every kind that names a peer
    if update.kind == UpdateKind.CHAT_SETTINGS:
        return {"type": "chat_settings", "seq": update.seq, "peer": names[peer_id]}
    if update.kind == UpdateKind.CLEAR:
        return {"type": "clear", "seq": update.seq, "peer": names[peer_id], "up_to": update.message_id}
    if update.kind in (UpdateKind.READ_BY_PEER, UpdateKind.READ_BY_SELF):
        peer = names[peer_id]
        reader = peer if update.kind == UpdateKind.READ_BY_PEER else names[update.user_id]
        return {"type": "read", "seq": update.seq, "peer": peer, "reader": reader, "up_to": update.message_id}
    if update.message is None:
        raise ValueError(f"update {update.seq} ({update.kind}) carries no message")
    message = message_object(update.message, names, update.user_id)
    return {"type": UPDATE_TYPES[update.kind], "seq": update.seq, "message": message}


def update_frame(update: Update, names: dict[int, str], message_json: str | None = None) -> str:
    """An update as frame text; a message already in JSON is reused, so it is serialized once."""
    if (
        update.message is None
        or update.kind not in UPDATE_TYPES
        or update.kind
        in (
            UpdateKind.READ_BY_PEER,
            UpdateKind.READ_BY_SELF,
        )
    ):
        return dumps(update_object(update, names))
    if message_json is None:
        message_json = dumps(message_object(update.message, names, update.user_id))
    return f'{{"type":"{UPDATE_TYPES[update.kind]}","seq":{update.seq},"message":{message_json}}}'


def ack_frame(seq: int | None, ref: Any, message_json: str) -> str:
    """The answer to a `send` frame. `seq` comes first so `without_seq` can find it."""
    return f'{{"type":"ack","seq":{dumps(seq)},"ref":{dumps(ref)},"message":{message_json}}}'


def without_seq(ack_text: str, seq: int) -> str:
    """An acknowledgement whose update the connection already has: the ack stays, the seq goes."""
    return ack_text.replace(f'"seq":{seq},', '"seq":null,', 1)


def ready_frame(user: User, cursor: int) -> str:
    return dumps({"type": "ready", "user": user_object(user, private=True), "cursor": cursor})


def presence_frame(username: str, online: bool, last_seen: int | None) -> str:
    return dumps({"type": "presence", "user": username, "online": online, "last_seen": iso(last_seen)})


def typing_frame(username: str) -> str:
    return dumps({"type": "typing", "from": username})


def profile_frame(user: User) -> str:
    return dumps({"type": "profile", "user": user_object(user)})


def keys_frame(username: str) -> str:
    """A person's device list changed: fetch it again (and check it) before the next send."""
    return dumps({"type": "keys", "user": username})


def link_frame(link_id: str, state: str) -> str:
    """A device link of this person changed (docs/e2ee.md §9): read it with GET /api/keys/links/{id}."""
    return dumps({"type": "link", "id": link_id, "state": state})


def pong_frame(ref: Any) -> str:
    return dumps({"type": "pong", "ref": ref})


def error_frame(code: str, message: str, ref: Any = None, field: str | None = None) -> str:
    frame: dict[str, Any] = {"type": "error", "ref": ref, "code": code, "message": message}
    if field:
        frame["field"] = field
    return dumps(frame)


def error_body(code: str, message: str, field: str | None = None) -> dict:
    """The one JSON error shape of HTTP answers."""
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return {"error": body}
