"""A call that ended becomes an entry in the chat: a message from the caller to the callee with
the call's record, so every device of both hears of it through the update stream. A call the
callee never picked up stays unread for them, like a message; one they answered or declined
is stored read."""

from __future__ import annotations

import asyncio
import logging

from calls.frames import call_record
from calls.machine import Call
from store import SendMessage, Status

log = logging.getLogger("payambar.calls")

SEEN_BY_CALLEE = ("answered", "declined")


def history_entry(call: Call) -> SendMessage:
    status = Status.READ if call.outcome in SEEN_BY_CALLEE else Status.SENT
    return SendMessage(
        call.caller_id, call.callee_id, "", f"call:{call.id}", None, call=call_record(call), status=status
    )


def recorder(store):
    """record(call): queues the call's history entry with the writer, reporting only failures."""

    def report(done: asyncio.Future) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.warning("a call's history entry was not stored: %s", done.exception())

    def record(call: Call) -> None:
        store.submit(history_entry(call)).add_done_callback(report)

    return record
