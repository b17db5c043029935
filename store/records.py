"""Plain-dict shapes of stored rows: one serializer per object, used by every path."""

from __future__ import annotations

import time
from typing import Any

import orjson

STATUS_NAMES = ("sent", "delivered", "read")
SENT, DELIVERED, READ = 0, 1, 2

# Kinds of update rows (updates.kind).
NEW_MESSAGE, STATUS_CHANGE, READ_BY_PEER, EDITED, DELETED, READ_BY_SELF = 1, 2, 3, 4, 5, 6

MESSAGE_COLUMNS = "id, sender_id, recipient_id, client_id, text, reply_to, created_at, edited_at, deleted, status"
# Positions in a message row, in MESSAGE_COLUMNS order.
M_ID, M_SENDER, M_RECIPIENT, M_CLIENT_ID, M_TEXT, M_REPLY_TO, M_CREATED, M_EDITED, M_DELETED, M_STATUS = range(10)

USER_COLUMNS = "id, username, display_name, bio, created_at, last_seen"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


_formatted_second = [-1, ""]  # the last second formatted, reused: most times share it


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    seconds, millis = divmod(ms, 1000)
    if seconds != _formatted_second[0]:
        _formatted_second[:] = [seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))]
    return f"{_formatted_second[1]}.{millis:03d}Z"


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def message_frame(frame_type: str, seq: int, message_json: str) -> str:
    """An update frame around a message already in JSON: each message is serialized once."""
    return f'{{"type":"{frame_type}","seq":{seq},"message":{message_json}}}'


def ack_frame(ref: Any, seq: int | None, message_json: str) -> str:
    return f'{{"type":"ack","ref":{dumps(ref)},"seq":{dumps(seq)},"message":{message_json}}}'


def message_dict(row: tuple | list, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": row[M_ID],
        "client_id": row[M_CLIENT_ID],
        "sender": names[row[M_SENDER]],
        "recipient": names[row[M_RECIPIENT]],
        "text": row[M_TEXT],
        "reply_to": row[M_REPLY_TO],
        "created_at": iso(row[M_CREATED]),
        "edited_at": iso(row[M_EDITED]),
        "deleted": bool(row[M_DELETED]),
        "status": STATUS_NAMES[row[M_STATUS]],
    }


def user_dict(row: tuple, private: bool = False) -> dict[str, Any]:
    user_id, username, display_name, bio, created_at, _last_seen = row
    user = {"username": username, "display_name": display_name, "bio": bio, "created_at": iso(created_at)}
    if private:
        user["id"] = user_id
    return user
