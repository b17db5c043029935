"""Call signalling (docs/calls.md) against a real server: WebSocket frames and the HTTP routes,
the state machine's every ending, seen the same on both sides, with its history entry."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
import uuid

import pytest

from calls.commands import MAX_SIGNAL_CHARS
from tests.checks import assert_error
from tests.conftest import make_server
from tests.helpers import PASSWORD, Api, Socket, register

SECRET = "a-turn-secret-for-the-tests"
METRICS_TOKEN = "metrics-token-for-the-call-tests"
TURN_URLS = "stun:127.0.0.1:3478,turn:127.0.0.1:3478?transport=tcp,turn:127.0.0.1:3478,turns:turn.example:443"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = make_server(
        tmp_path_factory.mktemp("calls"),
        TURN_URLS=TURN_URLS,
        TURN_SECRET=SECRET,
        CALL_RING_TIMEOUT="2",
        CALL_INVITES_PER_MINUTE="5",
        METRICS_TOKEN=METRICS_TOKEN,
    ).start()
    yield server
    server.stop()


def device() -> str:
    return uuid.uuid4().hex


async def friends(server) -> tuple[Api, Api]:
    """Two people who have written to each other."""
    one, two = await register(server), await register(server)
    await one.send(two.username, "hi")
    await two.send(one.username, "hello")
    return one, two


async def second_device(server, api: Api) -> Api:
    response = await api.post("/api/auth/login", json={"username": api.username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return Api(server, response.json()["token"], response.json()["user"])


async def next_call(socket: Socket, event: str | None = None, timeout: float = 5.0) -> dict:
    """The next `call` frame (other frames are passed over); of this event when given."""
    deadline = time.monotonic() + timeout
    while True:
        frame = await socket.receive(max(0.01, deadline - time.monotonic()))
        if frame["type"] == "call":
            if event is not None:
                assert frame["event"] == event, frame
            return frame
        if frame["type"] == "error":
            raise AssertionError(f"error frame: {frame}")


async def error_frame(socket: Socket, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        frame = await socket.receive(max(0.01, deadline - time.monotonic()))
        if frame["type"] == "error":
            return frame


async def no_call_frame(socket: Socket, seconds: float = 0.5) -> None:
    frames = await socket.quiet(seconds, skip=("presence", "typing", "message", "status", "read"))
    assert [f for f in frames if f["type"] == "call"] == [], frames


async def invite(socket: Socket, to: str, caller_device: str, media: str = "audio", signal: str = "offer") -> dict:
    await socket.send_frame(
        {"type": "call_invite", "ref": "i1", "to": to, "media": media, "device": caller_device, "signal": signal}
    )
    invited = await next_call(socket, "invited")
    assert invited["ref"] == "i1" and invited["state"] == "ringing"
    return invited


async def call_entries(api: Api, peer: str) -> list[dict]:
    """The chat's call history entries, as this person's history shows them."""
    for _ in range(50):
        response = await api.get(f"/api/conversations/{peer}/messages")
        entries = [m for m in response.json()["messages"] if m["call"] is not None]
        if entries:
            return entries
        await asyncio.sleep(0.05)
    return []


async def unread_from(api: Api, peer: str) -> int:
    chats = (await api.get("/api/conversations")).json()["conversations"]
    return next(chat["unread_count"] for chat in chats if chat["peer"]["username"] == peer)


async def test_every_device_rings_the_first_answer_wins_and_the_other_is_told(server):
    caller, callee = await friends(server)
    callee_phone = await second_device(server, callee)
    a = await Socket.open(server, caller.token)
    b1 = await Socket.open(server, callee.token)
    b2 = await Socket.open(server, callee_phone.token)
    caller_device, laptop, phone = device(), device(), device()
    invited = await invite(a, callee.username, caller_device, "video", "the offer")
    call_id = invited["call_id"]
    for ringing_device in (b1, b2):
        incoming = await next_call(ringing_device, "incoming")
        assert incoming["call_id"] == call_id and incoming["signal"] == "the offer"
        assert incoming["from"] == caller.username and incoming["media"] == "video"
    await b1.send_frame({"type": "call_ringing", "call_id": call_id, "device": laptop})
    await b2.send_frame({"type": "call_ringing", "call_id": call_id, "device": phone})
    assert (await next_call(a, "ringing"))["call_id"] == call_id

    await b1.send_frame({"type": "call_answer", "call_id": call_id, "device": laptop, "signal": "the answer"})
    answered = await next_call(a, "answered")
    await b2.send_frame({"type": "call_answer", "ref": 7, "call_id": call_id, "device": phone, "signal": "late"})
    assert answered["signal"] == "the answer" and answered["device"] == laptop and answered["state"] == "connected"
    for callee_device in (b1, b2):
        told = await next_call(callee_device, "answered")
        assert told["device"] == laptop and "signal" not in told
    refused = await error_frame(b2)
    assert refused["code"] == "answered_elsewhere" and refused["ref"] == 7
    await no_call_frame(a)
    for socket in (a, b1, b2):
        await socket.close()


async def test_candidates_sent_while_ringing_are_kept_for_the_device_that_answers(server):
    caller, callee = await friends(server)
    a, b = await Socket.open(server, caller.token), await Socket.open(server, callee.token)
    caller_device, callee_device, other_device = device(), device(), device()
    call_id = (await invite(a, callee.username, caller_device))["call_id"]
    await next_call(b, "incoming")
    # The caller's candidates reach the ringing callee at once.
    await a.send_frame({"type": "call_signal", "call_id": call_id, "device": caller_device, "signal": "cand-a1"})
    assert (await next_call(b, "signal"))["signal"] == "cand-a1"
    # The callee's, sent before its answer, wait for it; another device's are dropped.
    for text, sender in (("cand-b1", callee_device), ("cand-other", other_device), ("cand-b2", callee_device)):
        await b.send_frame({"type": "call_signal", "call_id": call_id, "device": sender, "signal": text})
    await no_call_frame(a, 0.3)
    await b.send_frame({"type": "call_answer", "call_id": call_id, "device": callee_device, "signal": "answer"})
    frames = [await next_call(a) for _ in range(3)]
    assert [(f["event"], f["signal"]) for f in frames] == [
        ("answered", "answer"),
        ("signal", "cand-b1"),
        ("signal", "cand-b2"),
    ]
    assert [f["n"] for f in frames] == [2, 3, 4]  # after the caller's own `invited` (1)
    await a.close()
    await b.close()


async def test_a_device_coming_late_reads_the_offer_and_early_candidates(server):
    caller, callee = await friends(server)
    a = await Socket.open(server, caller.token)
    caller_device = device()
    call_id = (await invite(a, callee.username, caller_device, signal="offer-x"))["call_id"]
    await a.send_frame({"type": "call_signal", "call_id": call_id, "device": caller_device, "signal": "cand-1"})
    await asyncio.sleep(0.2)
    live = (await callee.get("/api/calls")).json()["calls"]
    assert len(live) == 1 and live[0]["call"]["call_id"] == call_id and live[0]["call"]["state"] == "ringing"
    assert [(e["event"], e.get("signal"), e["n"]) for e in live[0]["events"]] == [
        ("incoming", "offer-x", 1),
        ("signal", "cand-1", 2),
    ]
    after_one = (await callee.get(f"/api/calls/{call_id}", params={"after": 1})).json()
    assert [e["signal"] for e in after_one["events"]] == ["cand-1"]
    await a.send_frame({"type": "call_hangup", "call_id": call_id, "device": caller_device})
    await next_call(a, "ended")
    await a.close()


async def test_decline_ends_both_sides_alike_and_leaves_a_read_entry(server):
    caller, callee = await friends(server)
    a, b = await Socket.open(server, caller.token), await Socket.open(server, callee.token)
    call_id = (await invite(a, callee.username, device()))["call_id"]
    await next_call(b, "incoming")
    await b.send_frame({"type": "call_decline", "call_id": call_id})
    for socket in (a, b):
        ended = await next_call(socket, "ended")
        assert (ended["call_id"], ended["state"], ended["reason"]) == (call_id, "ended", "declined")
    [entry] = await call_entries(callee, caller.username)
    assert entry["call"] == {"call_id": call_id, "media": "audio", "outcome": "declined", "duration_ms": None}
    assert entry["sender"] == caller.username and entry["status"] == "read"
    assert await unread_from(callee, caller.username) == 1  # the caller's "hi"; the declined call is read
    await a.close()
    await b.close()


async def test_a_cancelled_call_is_a_missed_call_counted_unread(server):
    caller, callee = await friends(server)
    await callee.post(f"/api/conversations/{caller.username}/read", json={"up_to": 2**62 - 1})
    a, b = await Socket.open(server, caller.token), await Socket.open(server, callee.token)
    caller_device = device()
    call_id = (await invite(a, callee.username, caller_device))["call_id"]
    await next_call(b, "incoming")
    await a.send_frame({"type": "call_hangup", "call_id": call_id, "device": caller_device})
    for socket in (a, b):
        assert (await next_call(socket, "ended"))["reason"] == "cancelled"
    [entry] = await call_entries(callee, caller.username)
    assert entry["call"]["outcome"] == "cancelled" and entry["status"] != "read"
    assert await unread_from(callee, caller.username) == 1
    [seen_by_caller] = await call_entries(caller, callee.username)
    assert seen_by_caller["id"] == entry["id"]
    await a.close()
    await b.close()


async def test_no_answer_ends_after_the_ring_timeout_on_both_sides(server):
    caller, callee = await friends(server)
    a, b = await Socket.open(server, caller.token), await Socket.open(server, callee.token)
    started = time.monotonic()
    call_id = (await invite(a, callee.username, device()))["call_id"]
    await next_call(b, "incoming")
    for socket in (a, b):
        ended = await next_call(socket, "ended", timeout=5)
        assert ended["reason"] == "no_answer" and ended["call_id"] == call_id
    assert 1.8 < time.monotonic() - started < 4
    [entry] = await call_entries(callee, caller.username)
    assert entry["call"]["outcome"] == "no_answer"
    await a.close()
    await b.close()


async def test_a_callee_in_a_call_is_busy_and_their_call_goes_on(server):
    caller, callee = await friends(server)
    third = await register(server)
    await third.send(callee.username, "hey")
    await callee.send(third.username, "hey you")
    a, b, c = [await Socket.open(server, person.token) for person in (caller, callee, third)]
    caller_device, callee_device = device(), device()
    call_id = (await invite(a, callee.username, caller_device))["call_id"]
    await next_call(b, "incoming")
    await b.send_frame({"type": "call_answer", "call_id": call_id, "device": callee_device, "signal": "ans"})
    await next_call(a, "answered")
    await next_call(b, "answered")
    busy = await invite(c, callee.username, device())
    ended = await next_call(c, "ended")
    assert ended["call_id"] == busy["call_id"] and ended["reason"] == "busy"
    await no_call_frame(b, 0.3)  # the busy callee is not disturbed
    live = (await callee.get("/api/calls")).json()["calls"]
    assert [x["call"]["call_id"] for x in live] == [call_id]
    entries = await call_entries(callee, third.username)
    assert [e["call"]["outcome"] for e in entries] == ["busy"]
    await b.send_frame({"type": "call_hangup", "call_id": call_id, "device": callee_device})
    for socket in (a, b):
        ended = await next_call(socket, "ended")
        assert ended["reason"] == "hangup" and ended["duration_ms"] >= 0
    answered = [e for e in await call_entries(caller, callee.username) if e["call"]["call_id"] == call_id]
    assert answered[0]["call"]["outcome"] == "answered" and answered[0]["call"]["duration_ms"] >= 0
    for socket in (a, b, c):
        await socket.close()


async def test_glare_resolves_to_the_call_that_reached_the_server_first(server):
    one, two = await friends(server)
    a, b = await Socket.open(server, one.token), await Socket.open(server, two.token)
    first = await invite(a, two.username, device())
    await b.send_frame(
        {"type": "call_invite", "ref": "g", "to": one.username, "device": device(), "signal": "my offer"}
    )
    frames = [await next_call(b) for _ in range(3)]
    by_event = {f["event"]: f for f in frames}
    assert set(by_event) == {"incoming", "invited", "ended"}
    assert by_event["incoming"]["call_id"] == first["call_id"]
    assert by_event["ended"]["reason"] == "glare" and by_event["ended"]["replaced_by"] == first["call_id"]
    await no_call_frame(a, 0.3)  # the first caller's call simply goes on ringing
    live = (await one.get("/api/calls")).json()["calls"]
    assert [x["call"]["call_id"] for x in live] == [first["call_id"]]
    await a.close()
    await b.close()


async def test_only_people_who_both_wrote_and_block_nobody_may_call(server):
    caller, callee = await friends(server)
    stranger = await register(server)
    await stranger.send(caller.username, "who are you")  # one side only: still strangers
    body = {"media": "audio", "device": device(), "signal": "offer"}
    assert_error(await stranger.post("/api/calls", json={"to": caller.username, **body}), 403, "call_not_allowed")
    assert_error(await stranger.get("/api/calls/ice-servers", params={"peer": caller.username}), 403)
    assert (await caller.post(f"/api/users/{callee.username}/block")).status_code == 204
    for who, peer in ((caller, callee), (callee, caller)):
        assert_error(await who.post("/api/calls", json={"to": peer.username, **body}), 403, "call_not_allowed")
        assert_error(await who.get("/api/calls/ice-servers", params={"peer": peer.username}), 403)
    assert_error(await caller.post("/api/calls", json={"to": caller.username, **body}), 403, "call_not_allowed")
    socket = await Socket.open(server, stranger.token)
    await socket.send_frame({"type": "call_invite", "to": caller.username, **body, "ref": 3})
    refused = await error_frame(socket)
    assert refused["code"] == "call_not_allowed" and refused["ref"] == 3
    await socket.close()


async def test_a_logged_out_token_gets_no_credentials_and_cannot_call(server):
    caller, callee = await friends(server)
    assert (await caller.post("/api/auth/logout")).status_code in (200, 204)
    assert_error(await caller.get("/api/calls/ice-servers", params={"peer": callee.username}), 401)
    body = {"to": callee.username, "device": device(), "signal": "offer"}
    assert_error(await caller.post("/api/calls", json=body), 401)


async def test_a_call_is_visible_only_to_its_two_people(server):
    caller, callee = await friends(server)
    other = await register(server)
    answer = await caller.post("/api/calls", json={"to": callee.username, "device": device(), "signal": "o"})
    assert answer.status_code == 201, answer.text
    call_id = answer.json()["call"]["call_id"]
    assert_error(await other.get(f"/api/calls/{call_id}"), 404, "call_not_found")
    for action, body in (
        ("answer", {"device": device(), "signal": "a"}),
        ("decline", {}),
        ("ringing", {"device": device()}),
    ):
        assert_error(await other.post(f"/api/calls/{call_id}/{action}", json=body), 404, "call_not_found")
    assert_error(await caller.post(f"/api/calls/{call_id}/answer", json={"device": device(), "signal": "a"}), 403)
    assert (await other.get("/api/calls")).json() == {"calls": []}
    assert_error(await caller.post(f"/api/calls/{call_id}/decline", json={}), 403)
    hung = await caller.post(f"/api/calls/{call_id}/hangup", json={"device": answer.json()["events"][0]["device"]})
    assert hung.json()["state"] == "ended" and hung.json()["reason"] == "cancelled"


async def test_signals_are_size_limited_and_invites_rate_limited(server):
    caller, callee = await friends(server)
    big = "x" * (MAX_SIGNAL_CHARS + 1)
    assert_error(await caller.post("/api/calls", json={"to": callee.username, "device": device(), "signal": big}), 413)
    socket = await Socket.open(server, caller.token)
    await socket.send_frame({"type": "call_invite", "to": callee.username, "device": device(), "signal": big})
    assert (await error_frame(socket))["code"] == "signal_too_large"
    await socket.close()
    statuses = []
    for _ in range(7):
        response = await caller.post("/api/calls", json={"to": callee.username, "device": device(), "signal": "o"})
        statuses.append(response.status_code)
    # The limit is 5 a minute here; the oversized tries above were refused before they counted.
    assert statuses[0] == 201 and statuses[1:5] == [409] * 4 and statuses[5:] == [429, 429], statuses
    assert_error(await caller.post("/api/calls", json={"to": callee.username, "device": "short", "signal": "o"}), 422)


async def test_long_polling_devices_ring_answer_and_relay_through_http(server):
    caller, callee = await friends(server)
    cursor = (await callee.get("/api/updates", params={"timeout": 0})).json()["cursor"]
    poll = asyncio.create_task(callee.get("/api/updates", params={"after": cursor, "timeout": 10}))
    await asyncio.sleep(0.3)
    a = await Socket.open(server, caller.token)
    caller_device, callee_device = device(), device()
    call_id = (await invite(a, callee.username, caller_device, signal="poll-offer"))["call_id"]
    polled = (await poll).json()
    [incoming] = polled["calls"]
    assert incoming["event"] == "incoming" and incoming["call_id"] == call_id and incoming["signal"] == "poll-offer"
    ringing = await callee.post(f"/api/calls/{call_id}/ringing", json={"device": callee_device})
    assert ringing.status_code == 200
    await next_call(a, "ringing")
    answered = await callee.post(f"/api/calls/{call_id}/answer", json={"device": callee_device, "signal": "ans"})
    assert answered.json()["state"] == "connected"
    assert (await next_call(a, "answered"))["signal"] == "ans"
    signal = await callee.post(f"/api/calls/{call_id}/signal", json={"device": callee_device, "signal": "cand"})
    assert signal.status_code == 200
    assert (await next_call(a, "signal"))["signal"] == "cand"
    connected = await caller.post(f"/api/calls/{call_id}/connected", json={"relayed": True})
    assert connected.status_code == 200
    await callee.post(f"/api/calls/{call_id}/hangup", json={"device": callee_device})
    assert (await next_call(a, "ended"))["reason"] == "hangup"
    metrics = (await caller.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})).text
    for name in ("calls_started_total", "calls_answered_total", "calls_relayed_total", "call_setup_seconds_count"):
        value = next(line for line in metrics.splitlines() if line.startswith(f"payambar_{name} "))
        assert float(value.split()[1]) >= 1, value
    await a.close()


async def test_ice_servers_put_turns_first_with_short_lived_rest_credentials(server):
    caller, callee = await friends(server)
    answer = (await caller.get("/api/calls/ice-servers", params={"peer": callee.username})).json()
    turn, stun = answer["ice_servers"]
    assert turn["urls"] == [
        "turns:turn.example:443",
        "turn:127.0.0.1:3478",
        "turn:127.0.0.1:3478?transport=tcp",
    ]
    assert stun == {"urls": ["stun:127.0.0.1:3478"]}
    expiry, user_id = turn["username"].split(":")
    assert int(user_id) == caller.user["id"] and answer["expires_at"] == int(expiry)
    assert 0 < int(expiry) - time.time() <= 3600
    expected = base64.b64encode(hmac.new(SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected and answer["relay"] is True


async def test_without_turn_configured_calls_still_work_with_direct_candidates(server_factory):
    plain = server_factory()
    caller, callee = await friends(plain)
    answer = (await caller.get("/api/calls/ice-servers", params={"peer": callee.username})).json()
    assert answer["ice_servers"] == [] and answer["relay"] is False
    invited = await caller.post("/api/calls", json={"to": callee.username, "device": device(), "signal": "o"})
    assert invited.status_code == 201
