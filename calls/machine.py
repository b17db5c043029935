"""A call's life on the server, as docs/calls.md states it.

    ringing ──answer──▶ connected ──hangup / failed──▶ ended
       │                                               ▲
       └── declined, cancelled, busy, no_answer, failed ┘

The server is the one judge of a call's state: every change is told to both people (every
device of each) as a `call` frame with the same `state` and `reason`, so both sides always end
the same way. Offers, answers and ICE candidates are `signal`s: opaque text the server stores
and relays but never reads, so they can travel end-to-end encrypted later without a change here.

Every method runs without awaiting: two frames racing (two devices answering, two people calling
each other) are decided in the order the event loop runs them, one at a time.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from calls.frames import call_frame
from calls.tally import Tally
from wire.responses import ApiError

log = logging.getLogger("payambar.calls")

RINGING, CONNECTED, ENDED = "ringing", "connected", "ended"
REASONS = ("hangup", "declined", "busy", "cancelled", "no_answer", "failed", "glare")
MEDIA = ("audio", "video")
EVENTS_PER_PERSON = 400  # frames one call keeps for each person (signals included)
PENDING_PER_DEVICE = 64  # signals a ringing device may send before it answers
SIGNALS_PER_CALL = 2000
KEEP_ENDED_SECONDS = 300  # an ended call still answers GET /api/calls/{id} this long
PARTY_GONE_SECONDS = 30  # a person with no connection this long ends their call as failed
LIVENESS_EVERY_SECONDS = 10


class CallError(ApiError):
    """A call frame or request that does not fit the call's state: a JSON error like any other."""


def _not_found() -> CallError:
    return CallError(404, "call_not_found", "No such call.")


@dataclass(slots=True, eq=False)
class Call:
    id: str
    caller_id: int
    callee_id: int
    media: str
    caller_device: str
    started_at: float  # wall clock, seconds
    started: float  # monotonic
    state: str = RINGING
    reason: str | None = None
    callee_device: str | None = None
    answered: float | None = None
    ended: float | None = None
    replaced_by: str | None = None
    setup_seconds: float | None = None
    relayed: bool | None = None
    pending: dict[str, list[str]] = field(default_factory=dict)  # ringing device -> its early signals
    log: dict[int, list[str]] = field(default_factory=dict)  # person -> the frames they were sent
    signals: int = 0
    timer: asyncio.TimerHandle | None = None
    gone_since: dict[int, float] = field(default_factory=dict)

    def party(self, user_id: int) -> bool:
        return user_id in (self.caller_id, self.callee_id)

    def other(self, user_id: int) -> int:
        return self.callee_id if user_id == self.caller_id else self.caller_id

    @property
    def duration_ms(self) -> int | None:
        if self.answered is None:
            return None
        return int(((self.ended or time.monotonic()) - self.answered) * 1000)

    @property
    def outcome(self) -> str:
        """What the history entry says: answered (with its duration) or why it never was."""
        if self.answered is not None:
            return "answered"
        return self.reason or "failed"


class Calls:
    """Every call this process knows, live ones by person (a person is in one call at most)."""

    def __init__(
        self,
        send: Callable[[int, str], None],
        record: Callable[[Call], None],
        push: Callable[[Call, str], None],
        names: dict[int, str],
        online: Callable[[list[int]], Awaitable[set[int]]],
        ring_timeout: float,
    ) -> None:
        self._send = send
        self._record = record
        self._push = push
        self.names = names
        self._online = online
        self.ring_timeout = ring_timeout
        self._by_id: dict[str, Call] = {}
        self._live: dict[int, Call] = {}
        self.tally = Tally()
        self._watching: asyncio.Task | None = None

    def start(self) -> None:
        self._watching = asyncio.create_task(self._watch_parties(), name="payambar-calls")

    async def close(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
        for call in list(self._live.values()):
            self._end(call, "failed")

    # ---- lookups --------------------------------------------------------------------------

    def of(self, user_id: int, call_id: str) -> Call:
        """The call, if this person is one of its two."""
        call = self._by_id.get(call_id) if isinstance(call_id, str) else None
        if call is None or not call.party(user_id):
            raise _not_found()
        return call

    def live_call(self, user_id: int) -> Call | None:
        return self._live.get(user_id)

    def events_after(self, user_id: int, call_id: str, after: int) -> tuple[Call, list[str]]:
        call = self.of(user_id, call_id)
        return call, call.log.get(user_id, [])[after:]

    @property
    def live_count(self) -> int:
        return len({call.id for call in self._live.values()})

    # ---- what the two people do -------------------------------------------------------------

    def invite(self, caller_id: int, callee_id: int, media: str, device: str, signal: str, ref=None) -> Call:
        self._forget_old()
        call = self._new_call(caller_id, callee_id, media, device)
        own = self._live.get(caller_id)
        if own is not None:
            if own.caller_id == callee_id and own.state == RINGING:
                # Glare: they are calling me while I call them. The call that reached the server
                # first stands; mine ends at once naming it, and my device answers that one.
                call.replaced_by = own.id
                self._by_id[call.id] = call
                self._tell(call, caller_id, "invited", ref=ref, device=device)
                self._end(call, "glare")
                return call
            raise CallError(409, "already_in_call", "You are in a call already.")
        self._by_id[call.id] = call
        self.tally.started += 1
        self._tell(call, caller_id, "invited", ref=ref, device=device)
        if callee_id in self._live:
            self._end(call, "busy")
            return call
        self._live[caller_id] = self._live[callee_id] = call
        self._tell(call, callee_id, "incoming", signal=signal, device=device)
        call.timer = asyncio.get_running_loop().call_later(self.ring_timeout, self._ring_timed_out, call)
        self._push(call, "incoming")
        return call

    def ringing(self, user_id: int, call_id: str, device: str) -> Call:
        """A device of the callee shows the incoming call: the caller hears it ring."""
        call = self.of(user_id, call_id)
        if user_id != call.callee_id:
            raise CallError(403, "not_the_callee", "Only the person called rings.")
        if call.state == RINGING and device not in call.pending:
            call.pending[device] = []
            if len(call.pending) == 1:
                self._tell(call, call.caller_id, "ringing")
        return call

    def answer(self, user_id: int, call_id: str, device: str, signal: str) -> Call:
        call = self.of(user_id, call_id)
        if user_id != call.callee_id:
            raise CallError(403, "not_the_callee", "Only the person called can answer.")
        if call.state == CONNECTED and call.callee_device != device:
            raise CallError(409, "answered_elsewhere", "The call was answered on another device.")
        if call.state != RINGING:
            raise CallError(409, "call_over", "The call is not ringing.")
        call.state = CONNECTED
        call.callee_device = device
        call.answered = time.monotonic()
        self._cancel_timer(call)
        self.tally.answered += 1
        self._tell(call, call.callee_id, "answered", device=device)
        self._tell(call, call.caller_id, "answered", device=device, signal=signal)
        # What the winning device said while it rang goes on; the other devices' words are dropped.
        for early in call.pending.get(device, ()):
            self._tell(call, call.caller_id, "signal", device=device, signal=early)
        call.pending.clear()
        self._push(call, "answered")
        return call

    def signal(self, user_id: int, call_id: str, device: str, signal: str) -> Call:
        """An ICE candidate or a renegotiation, relayed (or kept, from a device still ringing)."""
        call = self.of(user_id, call_id)
        if call.state == ENDED:
            raise CallError(409, "call_over", "The call has ended.")
        call.signals += 1
        if call.signals > SIGNALS_PER_CALL:
            raise CallError(429, "too_many_signals", "This call has carried too many signals.")
        if user_id == call.caller_id:
            if device != call.caller_device:
                raise CallError(409, "other_device", "This call belongs to another device of yours.")
            self._tell(call, call.callee_id, "signal", device=device, signal=signal)
            return call
        if call.state == RINGING:
            early = call.pending.setdefault(device, [])
            if len(early) >= PENDING_PER_DEVICE:
                raise CallError(429, "too_many_signals", "Answer before sending more signals.")
            early.append(signal)
            return call
        if device != call.callee_device:
            raise CallError(409, "answered_elsewhere", "The call was answered on another device.")
        self._tell(call, call.caller_id, "signal", device=device, signal=signal)
        return call

    def decline(self, user_id: int, call_id: str) -> Call:
        call = self.of(user_id, call_id)
        if user_id != call.callee_id:
            raise CallError(403, "not_the_callee", "Only the person called can decline.")
        if call.state == CONNECTED:
            raise CallError(409, "answered_elsewhere", "The call was answered on another device.")
        self._end(call, "declined")
        return call

    def hangup(self, user_id: int, call_id: str, device: str, failed: bool = False) -> Call:
        """Ends the call: before an answer the caller cancels it; after, either side hangs up."""
        call = self.of(user_id, call_id)
        if call.state == ENDED:
            return call
        if call.state == RINGING:
            if user_id != call.caller_id:
                raise CallError(409, "not_answered", "Decline a call that rings; hang up one that is answered.")
            self._end(call, "failed" if failed else "cancelled")
            return call
        own_device = call.caller_device if user_id == call.caller_id else call.callee_device
        if device != own_device:
            raise CallError(409, "other_device", "This call belongs to another device of yours.")
        self._end(call, "failed" if failed else "hangup")
        return call

    def connected(self, user_id: int, call_id: str, relayed: bool) -> Call:
        """A side reports media flowing: the setup time and whether TURN relays it (metrics)."""
        call = self.of(user_id, call_id)
        if call.state == CONNECTED and call.setup_seconds is None:
            call.setup_seconds = time.monotonic() - call.started
            call.relayed = relayed
            self.tally.connected(call.setup_seconds, relayed)
        return call

    # ---- inside -------------------------------------------------------------------------------

    def _new_call(self, caller_id: int, callee_id: int, media: str, device: str) -> Call:
        return Call(secrets.token_urlsafe(12), caller_id, callee_id, media, device, time.time(), time.monotonic())

    def _tell(self, call: Call, user_id: int, event: str, **extra) -> None:
        sent = call.log.setdefault(user_id, [])
        if len(sent) >= EVENTS_PER_PERSON and event == "signal":
            return  # the call carried more than any call needs; its state changes still go out
        text = call_frame(call, event, len(sent) + 1, self.names, **extra)
        sent.append(text)
        self._send(user_id, text)

    def _end(self, call: Call, reason: str) -> None:
        if call.state == ENDED:
            return
        was_ringing = call.state == RINGING
        call.state, call.reason, call.ended = ENDED, reason, time.monotonic()
        self._cancel_timer(call)
        for user_id in (call.caller_id, call.callee_id):
            if self._live.get(user_id) is call:
                del self._live[user_id]
        extra = {"replaced_by": call.replaced_by} if call.replaced_by else {}
        self._tell(call, call.caller_id, "ended", duration_ms=call.duration_ms, **extra)
        if reason != "glare":
            if reason != "busy":  # a busy callee never heard of this call: its history entry tells
                self._tell(call, call.callee_id, "ended", duration_ms=call.duration_ms)
            self._record(call)
            self.tally.ended(call.outcome)
        if was_ringing and reason not in ("busy", "glare"):
            self._push(call, "ended")

    def _cancel_timer(self, call: Call) -> None:
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None

    def _ring_timed_out(self, call: Call) -> None:
        call.timer = None
        if call.state == RINGING:
            self._end(call, "no_answer")

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - KEEP_ENDED_SECONDS
        for call_id in [i for i, c in self._by_id.items() if c.state == ENDED and (c.ended or 0) < cutoff]:
            del self._by_id[call_id]

    async def _watch_parties(self) -> None:
        """A call whose person has had no connection anywhere for a while ends as failed, so
        the other side is not left in a call with nobody (a closed laptop, a dead phone)."""
        while True:
            await asyncio.sleep(LIVENESS_EVERY_SECONDS)
            try:
                await self._check_parties()
            except Exception as error:
                log.warning("checking call parties failed: %s", error)

    async def _check_parties(self) -> None:
        live = list({call.id: call for call in self._live.values()}.values())
        if not live:
            return
        people = [user_id for call in live for user_id in (call.caller_id, call.callee_id)]
        online = await self._online(people)
        now = time.monotonic()
        for call in live:
            for user_id in (call.caller_id, call.callee_id):
                if call.state == RINGING and user_id == call.callee_id:
                    continue  # a callee without a connection is rung by push
                if user_id in online:
                    call.gone_since.pop(user_id, None)
                elif now - call.gone_since.setdefault(user_id, now) >= PARTY_GONE_SECONDS:
                    self._end(call, "failed")
                    break
