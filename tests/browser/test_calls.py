"""Calls between real Chromium pages with fake camera and microphone, through a real coturn the
test starts on loopback, relay-only: media flows both ways through TURN, every device rings,
every ending is the same on both sides and leaves its history entry, a network change is
survived by an ICE restart, and a closed app rings through Web Push."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest
from browser_helpers import (
    PASSWORD,
    People,
    Script,
    launched_chromium,
    link_device,
    log_in,
    open_chat,
    register,
    send_by_api,
    token_of,
    unique_name,
)
from playwright.sync_api import Page, expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from push_service import Browser as PushKeys
from turn_server import TurnServer

from payambar.e2ee.primitives import DecryptError, b64, unb64
from tests.conftest import make_server

RING_TIMEOUT = 5
METRICS_TOKEN = "metrics-token-for-the-call-tests"
MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
RELAY_ONLY = "window.__payambarTest = { iceTransportPolicy: 'relay' };"
STATS = "() => window.__payambarCalls.callStats()"


@pytest.fixture(scope="module")
def turn(tmp_path_factory):
    server = TurnServer(tmp_path_factory.mktemp("coturn")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def call_server(tmp_path_factory, turn, push_service):
    server = make_server(
        tmp_path_factory.mktemp("call-server"),
        TURN_URLS=turn.urls,
        TURN_SECRET=turn.secret,
        CALL_RING_TIMEOUT=str(RING_TIMEOUT),
        METRICS_TOKEN=METRICS_TOKEN,
        PUSH_ALLOW_PRIVATE="1",
        PUSH_CA_FILE=str(push_service.cert_file),
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def media_browser():
    yield from launched_chromium(*MEDIA_ARGS)


@pytest.fixture
def people(media_browser, call_server):
    crowd = People(media_browser, call_server)
    yield crowd
    crowd.close()
    assert crowd.page_errors == [], "uncaught errors in the page"


def person(people: People, prefix: str, username: str | None = None, phone: bool = False) -> tuple[Page, str]:
    """A page of a new person (or a new device of `username`), relay-only ICE forced."""
    viewport = {"width": 390, "height": 844} if phone else None
    page = people.open(viewport, permissions=["microphone", "camera"])
    page.context.add_init_script(RELAY_ONLY)
    page.goto("/")
    if username is None:
        username = unique_name(prefix)
        register(page, username)
    else:
        log_in(page, username)
    return page, username


def friends(people: People) -> tuple[Page, str, Page, str]:
    caller, caller_name = person(people, "caller")
    callee, callee_name = person(people, "callee")
    send_by_api(caller, callee_name, "shall we talk?")
    send_by_api(callee, caller_name, "call me")
    open_chat(caller, callee_name)
    return caller, caller_name, callee, callee_name


def screen(page: Page):
    return page.get_by_test_id("call-screen")


def inbound(page: Page) -> dict:
    return page.evaluate(STATS)["inbound"]


def wait_until(condition, timeout: float = 15.0, every: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


def assert_media_rises(pages: list[Page], kinds: tuple[str, ...], seconds: float = 4.0) -> None:
    """inbound-rtp bytes of every kind grow on every page, sample after sample, for a few seconds."""
    samples = [[inbound(page) for page in pages]]
    for _ in range(int(seconds)):
        time.sleep(1)
        samples.append([inbound(page) for page in pages])
    for index in range(len(pages)):
        for kind in kinds:
            series = [sample[index][kind] for sample in samples]
            assert all(later > earlier for earlier, later in zip(series, series[1:], strict=False)), (kind, series)


def entry_outcomes(page: Page) -> list[str]:
    return page.get_by_test_id("call-entry").evaluate_all("(entries) => entries.map((e) => e.dataset.outcome)")


def ended_alike(pages: list[Page], reason: str) -> None:
    """Every page shows the call ended for the same reason, then closes the call screen."""
    for page in pages:
        expect(screen(page)).to_have_attribute("data-reason", reason)
    for page in pages:
        expect(screen(page)).to_have_count(0)


def ring_and_answer(caller: Page, callee: Page, media: str = "audio") -> None:
    caller.get_by_test_id(f"call-{media}-button").click()
    expect(screen(callee)).to_have_attribute("data-state", "incoming")
    callee.get_by_test_id("call-accept").click()
    for page in (caller, callee):
        expect(screen(page)).to_have_attribute("data-state", "connected", timeout=15_000)


def test_a_video_call_through_turn_carries_media_both_ways_and_hangs_up_on_both(people, screenshot):
    caller, caller_name, callee, _ = friends(people)
    caller.get_by_test_id("call-video-button").click()
    expect(screen(caller)).to_have_attribute("data-state", "ringing")
    expect(screen(callee)).to_have_attribute("data-state", "incoming")
    expect(screen(callee)).to_have_attribute("data-ringtone", "playing")
    expect(callee.get_by_test_id("call-peer-name")).to_be_visible()
    screenshot(callee, "incoming")
    callee.get_by_test_id("call-accept").click()
    for page in (caller, callee):
        expect(screen(page)).to_have_attribute("data-state", "connected", timeout=15_000)
        pair = page.evaluate(STATS)["pair"]
        assert pair["local"] == "relay" and pair["remote"] == "relay", pair
    assert_media_rises([caller, callee], ("audio", "video"))
    codes = [page.get_by_test_id("call-code").text_content() for page in (caller, callee)]
    assert codes[0] == codes[1] and any(ch.isdigit() for ch in codes[0]), codes
    expect(caller.get_by_test_id("call-timer")).to_be_visible()
    caller.get_by_test_id("call-mute").click()
    expect(caller.get_by_test_id("call-mute")).to_have_attribute("aria-pressed", "true")
    caller.get_by_test_id("call-camera").click()
    expect(caller.get_by_test_id("call-camera")).to_have_attribute("aria-pressed", "false")
    screenshot(caller, "connected")
    caller.get_by_test_id("call-hangup").click()
    ended_alike([caller, callee], "hangup")
    open_chat(callee, caller_name)
    for page in (caller, callee):
        wait_until(lambda page=page: entry_outcomes(page) == ["answered"])
    metrics = caller.request.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}).text()
    relayed = next(line for line in metrics.splitlines() if line.startswith("payambar_calls_relayed_total "))
    assert float(relayed.split()[1]) >= 1, relayed


def test_every_device_rings_and_the_one_not_answering_is_told_answered_elsewhere(people):
    caller, _, laptop, callee_name = friends(people)
    phone, _ = person(people, "", callee_name, phone=True)
    link_device(laptop, phone)  # an offer is sealed for the person's devices: the phone must be one
    caller.get_by_test_id("call-audio-button").click()
    for device in (laptop, phone):
        expect(screen(device)).to_have_attribute("data-state", "incoming")
    phone.get_by_test_id("call-accept").click()
    expect(screen(laptop)).to_have_attribute("data-reason", "answered_elsewhere")
    expect(screen(laptop)).to_have_count(0)
    for page in (caller, phone):
        expect(screen(page)).to_have_attribute("data-state", "connected", timeout=15_000)
    assert_media_rises([caller, phone], ("audio",), seconds=2)
    phone.get_by_test_id("call-hangup").click()
    expect(screen(caller)).to_have_attribute("data-reason", "hangup")


def test_decline_cancel_and_no_answer_end_alike_on_both_sides_with_their_entries(people):
    caller, _, callee, _ = friends(people)
    caller.get_by_test_id("call-audio-button").click()
    expect(screen(callee)).to_have_attribute("data-state", "incoming")
    callee.get_by_test_id("call-decline").click()
    ended_alike([caller, callee], "declined")

    caller.get_by_test_id("call-audio-button").click()
    expect(screen(callee)).to_have_attribute("data-state", "incoming")
    caller.get_by_test_id("call-hangup").click()
    ended_alike([caller, callee], "cancelled")

    caller.get_by_test_id("call-video-button").click()
    expect(screen(callee)).to_have_attribute("data-state", "incoming")
    for page in (caller, callee):
        expect(screen(page)).to_have_attribute("data-reason", "no_answer", timeout=(RING_TIMEOUT + 5) * 1000)

    wait_until(lambda: entry_outcomes(caller) == ["declined", "cancelled", "no_answer"])
    texts = caller.get_by_test_id("call-entry-text").all_text_contents()
    assert texts == ["تماس ردشده", "تماس لغوشده", "بی‌پاسخ"], texts


def test_a_busy_callee_keeps_their_call_and_the_third_caller_hears_busy(people):
    caller, _, callee, callee_name = friends(people)
    third, third_name = person(people, "third")
    send_by_api(third, callee_name, "are you there")
    send_by_api(callee, third_name, "yes")
    open_chat(third, callee_name)
    ring_and_answer(caller, callee)
    third.get_by_test_id("call-audio-button").click()
    expect(screen(third)).to_have_attribute("data-reason", "busy")
    expect(screen(callee)).to_have_attribute("data-state", "connected")
    caller.get_by_test_id("call-hangup").click()
    expect(screen(callee)).to_have_attribute("data-reason", "hangup")
    wait_until(lambda: entry_outcomes(third) == ["busy"])


def test_going_offline_and_back_recovers_the_call_by_an_ice_restart(people):
    caller, _, callee, _ = friends(people)
    ring_and_answer(caller, callee, "audio")
    before = caller.evaluate("() => window.__payambarCalls.currentCall().pc.localDescription.sdp")
    callee.context.set_offline(True)
    time.sleep(2)
    callee.context.set_offline(False)
    came_back = time.monotonic()

    def restarted() -> bool:
        sdp = caller.evaluate("() => window.__payambarCalls.currentCall()?.pc?.localDescription?.sdp ?? ''")
        return ufrag(sdp) != ufrag(before)

    wait_until(restarted, timeout=10)
    for page in (caller, callee):
        expect(screen(page)).to_have_attribute("data-state", "connected", timeout=10_000)
    assert time.monotonic() - came_back < 10
    assert_media_rises([caller, callee], ("audio",), seconds=2)
    callee.get_by_test_id("call-hangup").click()
    expect(screen(caller)).to_have_attribute("data-reason", "hangup")


def ufrag(sdp: str) -> str | None:
    return next((line.split(":", 1)[1] for line in sdp.splitlines() if line.startswith("a=ice-ufrag:")), None)


def test_a_call_to_a_closed_app_rings_through_web_push_and_opens_the_call_screen(people, push_service):
    caller, caller_name, callee, callee_name = friends(people)
    keys = PushKeys()
    endpoint = push_service.url()
    subscribed = callee.request.post(
        "/api/push/subscriptions",
        headers={"authorization": f"Bearer {token_of(callee)}"},
        data={"endpoint": endpoint, "keys": keys.keys},
    )
    assert subscribed.status == 201, subscribed.text()
    context = callee.context
    callee.close()  # the app is closed; the browser (and its push subscription) lives on
    caller.get_by_test_id("call-audio-button").click()
    [pushed] = wait_until(lambda: push_service.at(endpoint), timeout=10)
    assert pushed.headers["urgency"] == "high"
    payload = keys.decrypt(pushed.body)
    assert payload["type"] == "call" and payload["from"] == caller_name and payload["media"] == "audio"
    reopened = context.new_page()
    reopened.on("pageerror", lambda error: people.page_errors.append(str(error)))
    reopened.goto(f"/#/chat/{caller_name}")
    expect(screen(reopened)).to_have_attribute("data-state", "incoming")
    assert screen(reopened).get_attribute("data-call-id") == payload["call_id"]
    reopened.get_by_test_id("call-accept").click()
    for page in (caller, reopened):
        expect(screen(page)).to_have_attribute("data-state", "connected", timeout=15_000)
    reopened.get_by_test_id("call-hangup").click()
    expect(screen(caller)).to_have_attribute("data-reason", "hangup")
    stopped = wait_until(lambda: push_service.at(endpoint)[1:], timeout=10)
    assert keys.decrypt(stopped[0].body) == {"type": "call_stopped", "call_id": payload["call_id"]}


# ---- signals are envelopes (docs/calls.md, "Signals are envelopes") -------------------------------

CLEAR_SDP = ("v=0", "a=fingerprint", "candidate:", "a=ice-ufrag", "m=audio")


def call_events(page: Page, call_id: str) -> list[dict]:
    answer = page.request.get(f"/api/calls/{call_id}", headers={"authorization": f"Bearer {token_of(page)}"})
    assert answer.ok, answer.text()
    return answer.json()["events"]


def assert_sealed(signal: str) -> None:
    wrapper = json.loads(signal)
    assert set(wrapper) == {"v", "client_id", "envelope"} and wrapper["v"] == 1, wrapper.keys()
    assert re.fullmatch(r"call-[0-9a-f]{32}", wrapper["client_id"]), wrapper["client_id"]
    assert not any(part in signal for part in CLEAR_SDP), signal[:200]


def test_every_signal_the_server_relays_is_an_envelope_and_the_call_still_connects(people):
    caller, _, callee, _ = friends(people)
    ring_and_answer(caller, callee)
    call_id = caller.evaluate("() => window.__payambarCalls.currentCall().id")
    assert_media_rises([caller, callee], ("audio",), seconds=2.0)
    for page in (caller, callee):
        signals = [event["signal"] for event in call_events(page, call_id) if "signal" in event]
        # the callee reads the offer and the caller's candidates, the caller the answer and the callee's
        assert len(signals) >= 2, signals
        for signal in signals:
            assert_sealed(signal)
    caller.get_by_test_id("call-hangup").click()
    ended_alike([caller, callee], "hangup")


OFFER_FROM_PAGE = """async () => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('audio');
  const offer = await pc.createOffer();
  pc.close();
  return { type: offer.type, sdp: offer.sdp };
}"""


def test_a_script_device_and_the_browser_seal_and_open_each_others_signals_and_a_clear_offer_never_rings(
    people, call_server, tmp_path
):
    script = Script()
    try:
        callee, callee_name = person(people, "callee")
        bot_name = unique_name("bot")
        bot = script.client(call_server.url, tmp_path / "bot.keys")
        script.run(bot.register(bot_name, PASSWORD))
        script.run(bot.set_up_device())
        script.run(bot.send_text(callee_name, "call me"))
        send_by_api(callee, bot_name, "ok")
        offer = callee.evaluate(OFFER_FROM_PAGE)

        async def invite(signal: str) -> dict:
            answer = await bot.http.post(
                "/api/calls",
                json={"to": callee_name, "media": "audio", "device": "script-device-1", "signal": signal},
                headers={"authorization": f"Bearer {bot.token}"},
            )
            assert answer.status_code == 201, answer.text
            return answer.json()["call"]

        async def hang_up(call_id: str) -> None:
            answer = await bot.http.post(
                f"/api/calls/{call_id}/hangup",
                json={"device": "script-device-1", "failed": False},
                headers={"authorization": f"Bearer {bot.token}"},
            )
            assert answer.status_code == 200, answer.text

        # An offer in the clear (what a server forging a call would send) never rings the browser.
        clear = script.run(invite(json.dumps({"sdp": offer})))
        time.sleep(3)
        expect(screen(callee)).to_have_count(0)
        script.run(hang_up(clear["call_id"]))

        # A sealed offer rings; the browser's answer is sealed for the script's device and opens there.
        sealed = script.run(invite_sealed(bot, callee_name, offer, invite))
        expect(screen(callee)).to_have_attribute("data-state", "incoming")
        callee.get_by_test_id("call-accept").click()

        def answered():
            events = script.run(bot_events(bot, sealed["call_id"]))
            return next((event for event in events if event["event"] == "answered" and event.get("signal")), None)

        event = wait_until(answered)
        assert_sealed(event["signal"])
        inner, sender_device = script.run(bot.open_signal(callee_name, event["signal"]))
        assert inner["kind"] == "call-signal" and inner["call_id"] == sealed["call_id"], inner
        assert inner["signal"]["sdp"]["type"] == "answer" and "a=fingerprint" in inner["signal"]["sdp"]["sdp"]
        assert len(sender_device) == 8
        # the same signal opened again (a reload reads the call's frames anew) gives the same inner
        assert script.run(bot.open_signal(callee_name, event["signal"]))[0] == inner
        # a signal that is not an envelope, or one changed by a byte, does not open
        for broken in ('{"sdp": {}}', tampered(event["signal"])):
            with pytest.raises(DecryptError):
                script.run(bot.open_signal(callee_name, broken))
        script.run(hang_up(sealed["call_id"]))
        expect(screen(callee)).to_have_attribute("data-state", "ended")
    finally:
        script.close()


async def invite_sealed(bot, callee_name: str, offer: dict, invite) -> dict:
    return await invite(await bot.seal_signal(callee_name, None, {"sdp": offer}))


async def bot_events(bot, call_id: str) -> list[dict]:
    answer = await bot.http.get(f"/api/calls/{call_id}", headers={"authorization": f"Bearer {bot.token}"})
    return answer.json()["events"]


def tampered(signal: str) -> str:
    wrapper = json.loads(signal)
    data = bytearray(unb64(wrapper["envelope"]))
    data[-20] ^= 1
    return json.dumps({**wrapper, "envelope": b64(bytes(data))})
