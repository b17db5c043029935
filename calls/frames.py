"""The call protocol's wire shapes (docs/calls.md), made once here: the `call` frame every
change of a call is told in, and the record a call history entry keeps."""

from __future__ import annotations

from typing import Any

import orjson

from wire.protocol import iso


def call_object(call, names: dict[int, str]) -> dict[str, Any]:
    """A call as the HTTP API shows it."""
    return {
        "call_id": call.id,
        "state": call.state,
        "reason": call.reason,
        "media": call.media,
        "from": names.get(call.caller_id),
        "to": names.get(call.callee_id),
        "started_at": iso(int(call.started_at * 1000)),
        "duration_ms": call.duration_ms,
        "answered_by": call.callee_device,
    }


def call_frame(call, event: str, n: int, names: dict[int, str], **extra) -> str:
    """One change of a call for one person: `n` counts that person's frames of the call, so a
    device that missed some asks for those after the last it has."""
    frame = {"type": "call", "event": event, "n": n, **call_object(call, names)}
    frame.update({key: value for key, value in extra.items() if value is not None})
    return orjson.dumps(frame).decode()


def call_record(call) -> str:
    """What a call history entry in the chat keeps (the `call` field of the message)."""
    return orjson.dumps(
        {"call_id": call.id, "media": call.media, "outcome": call.outcome, "duration_ms": call.duration_ms}
    ).decode()
