"""Web Push for calls: a high-urgency push rings a callee whose app is closed, and a second push
on the same Topic stops the ring once the call is answered elsewhere or over."""

from __future__ import annotations

from calls.machine import Call


def pusher(dispatcher, names: dict[int, str], ring_timeout: int):
    def push(call: Call, event: str) -> None:
        if event == "incoming":
            payload = {"type": "call", "call_id": call.id, "media": call.media, "from": names.get(call.caller_id)}
        else:
            payload = {"type": "call_stopped", "call_id": call.id}
        dispatcher.notify_call(call.callee_id, payload, ring_timeout, "high", call.id)

    return push
