"""Calls over HTTP: the same commands as the WebSocket's `call_*` frames, for clients that
long-poll, and the reads a device needs when it comes (back) to a call: the calls it is in,
and a call's frames after the last one it has."""

from __future__ import annotations

import orjson
from starlette.requests import Request

from auth.tokens import require_user
from calls import commands
from calls.frames import call_object
from calls.machine import EVENTS_PER_PERSON
from server.services import services_of
from wire import contract as c
from wire.bodies import query_int, read_json
from wire.contract import api
from wire.responses import JSON

CALL = c.obj(
    ["call_id", "state", "media", "from", "to", "started_at"],
    call_id=c.STRING,
    state={"type": "string", "enum": ["ringing", "connected", "ended"]},
    reason={"type": ["string", "null"]},
    media={"type": "string", "enum": ["audio", "video"]},
    started_at=c.TIME,
    duration_ms={"type": ["integer", "null"]},
    answered_by={"type": ["string", "null"]},
    **{"from": c.USERNAME, "to": c.USERNAME},
)
FRAME = {"type": "object", "description": "a `call` frame, as the WebSocket sends it (docs/calls.md)"}
WITH_EVENTS = c.obj(["call", "events"], call=CALL, events=c.array(FRAME))
DEVICE = c.pattern(f"^{commands.DEVICE.pattern}$")
SIGNAL = {"type": "string", "minLength": 1, "maxLength": commands.MAX_SIGNAL_CHARS}
CALL_PATH = {"call_id": c.pattern(f"^{commands.CALL_ID.pattern}$")}
BODIES = {
    "ringing": c.obj(["device"], device=DEVICE),
    "answer": c.obj(["device", "signal"], device=DEVICE, signal=SIGNAL),
    "signal": c.obj(["device", "signal"], device=DEVICE, signal=SIGNAL),
    "decline": c.obj([]),
    "hangup": c.obj(["device"], device=DEVICE, failed=c.BOOLEAN),
    "connected": c.obj(["relayed"], relayed=c.BOOLEAN),
}
SUMMARIES = {
    "ringing": "A device of the callee shows the incoming call",
    "answer": "Answer a ringing call from this device (the first device to answer wins)",
    "signal": "Relay an ICE candidate or renegotiation to the other side",
    "decline": "Decline a ringing call",
    "hangup": "Cancel a call you started, or hang up an answered one",
    "connected": "Report media flowing, and whether through a TURN relay",
}


def _with_events(state, user_id: int, call, after: int = 0) -> dict:
    _, frames = state.calls.events_after(user_id, call.id, after)
    return {"call": call_object(call, state.store.names), "events": [orjson.Fragment(f) for f in frames]}


@api(
    "Start a call; every device of the callee rings",
    {201: ("The call, with the frames it sent you", WITH_EVENTS)},
    errors=(403, 404, 409, 429),
    body=c.obj(
        ["to", "device", "signal"],
        to=c.USERNAME,
        media={"type": "string", "enum": ["audio", "video"], "default": "audio"},
        device=DEVICE,
        signal=SIGNAL,
    ),
)
async def invite(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    call = await commands.invite(state, user_id, await read_json(request))
    return JSON(_with_events(state, user_id, call), 201)


@api(
    "The calls you are in now (a ringing one with its offer and early candidates)",
    {200: ("Calls", c.obj(["calls"], calls=c.array(WITH_EVENTS)))},
)
async def live(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    call = state.calls.live_call(user_id)
    return JSON({"calls": [] if call is None else [_with_events(state, user_id, call)]})


@api(
    "A call of yours, with the frames it sent you after `after`",
    {200: ("The call", WITH_EVENTS)},
    errors=(404,),
    path=CALL_PATH,
    query={"after": c.integer(0, EVENTS_PER_PERSON, 0)},
)
async def show(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    after = query_int(request, "after", 0, 0, EVENTS_PER_PERSON)
    call = state.calls.of(user_id, request.path_params["call_id"])
    return JSON(_with_events(state, user_id, call, after))


def action_route(name: str):
    @api(
        SUMMARIES[name],
        {200: ("The call as it is now", CALL)},
        errors=(403, 404, 409, 413, 429) if name in ("answer", "signal") else (403, 404, 409),
        path=CALL_PATH,
        body=BODIES[name],
    )
    async def act(request: Request) -> JSON:
        user_id, _ = await require_user(request)
        state = services_of(request)
        body = await read_json(request)
        body["call_id"] = request.path_params["call_id"]
        call = await commands.ACTIONS[name](state, user_id, body)
        return JSON(call_object(call, state.store.names))

    act.__name__ = name
    return act


@api(
    "Short-lived TURN credentials (and STUN) for a call with `peer`",
    {
        200: (
            "RTCIceServer list",
            c.obj(
                ["ice_servers", "expires_at", "relay"],
                ice_servers=c.array({"type": "object"}),
                expires_at=c.INTEGER,
                relay=c.BOOLEAN,
            ),
        )
    },
    errors=(403, 404, 429),
    query={"peer": c.required(c.USERNAME)},
)
async def ice_servers(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    return JSON(await commands.ice_servers_for(state, user_id, request.query_params.get("peer")))
