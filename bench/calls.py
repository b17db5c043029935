"""Call setup time: invite → media flowing both ways, through a real coturn on loopback, relay
only, between two real Chromium pages with fake camera and microphone.

    .venv/bin/python -m bench.calls [--runs 20] [--media audio|video]

Starts its own server (TURN_URLS/TURN_SECRET set) and coturn, registers two people who have
written to each other, then repeats: the caller presses the call button (t0); the callee's page
answers the moment its incoming-call screen shows (no human in the loop); each page watches its
`inbound-rtp` bytes every 10 ms; the call is set up when both have received media (t1). Both
pages run in one browser on one clock. Prints p50/p95 and writes bench/results/calls-*.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, PASSWORD  # noqa: E402
from turn_server import TurnServer  # noqa: E402

from tests.conftest import make_server  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TARGET_P50_SECONDS = 1.0
MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
RELAY_ONLY = "window.__payambarTest = { iceTransportPolicy: 'relay' };"

# In the callee's page: answer as soon as a call rings; in both: note when media first arrives.
AUTO_ANSWER = """() => {
  new MutationObserver(() => {
    const accept = document.querySelector('[data-testid=call-accept]');
    if (accept && !accept.dataset.pressed) { accept.dataset.pressed = '1'; accept.click(); }
  }).observe(document.body, { childList: true, subtree: true });
}"""
WATCH_MEDIA = """() => { window.__firstMedia = new Promise((resolve) => {
  const look = async () => {
    const stats = await window.__payambarCalls.callStats();
    const flowing = stats && stats.inbound.audio > 0 && stats.state === 'connected';
    if (flowing) return resolve({ at: Date.now(), pair: stats.pair });
    setTimeout(look, 10);
  };
  look();
}); }"""
FIRST_MEDIA = "() => window.__firstMedia"
CALL = """(media) => {
  const at = Date.now();
  document.querySelector(`[data-testid=call-${media}-button]`).click();
  return at;
}"""


def register(base: str, username: str) -> str:
    answer = httpx.post(f"{base}/api/auth/register", json={"username": username, "password": PASSWORD})
    answer.raise_for_status()
    return answer.json()["token"]


def say(base: str, token: str, to: str, text: str) -> None:
    body = {"to": to, "text": text, "client_id": f"{time.time_ns()}"}
    httpx.post(f"{base}/api/messages", json=body, headers={"authorization": f"Bearer {token}"}).raise_for_status()


def open_page(browser, base: str, username: str):
    context = browser.new_context(base_url=base, permissions=["microphone", "camera"], locale="en-US")
    context.add_init_script(RELAY_ONLY)
    page = context.new_page()
    page.goto("/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_test_id("auth-submit").click()
    page.get_by_test_id("search-input").wait_for()
    return page


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(runs: int, media: str) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-calls-"))
    turn = TurnServer(folder / "coturn").start()
    server = make_server(
        folder / "server", TURN_URLS=turn.urls, TURN_SECRET=turn.secret, CALL_INVITES_PER_MINUTE="1000"
    )
    server.env["ENVIRONMENT"] = "production"
    server.start()
    setups: list[float] = []
    pairs: list[str] = []
    try:
        caller_name, callee_name = f"bench_a{time.time_ns() % 10**8}", f"bench_b{time.time_ns() % 10**8}"
        caller_token, callee_token = register(server.url, caller_name), register(server.url, callee_name)
        say(server.url, caller_token, callee_name, "hi")
        say(server.url, callee_token, caller_name, "hi")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + MEDIA_ARGS
            )
            caller, callee = open_page(browser, server.url, caller_name), open_page(browser, server.url, callee_name)
            callee.evaluate(AUTO_ANSWER)
            caller.goto(f"/#/chat/{callee_name}")
            caller.get_by_test_id(f"call-{media}-button").wait_for()
            for number in range(runs):
                callee.evaluate(WATCH_MEDIA)  # armed before the call starts
                started = caller.evaluate(CALL, media)
                caller.evaluate(WATCH_MEDIA)
                caller_first, callee_first = caller.evaluate(FIRST_MEDIA), callee.evaluate(FIRST_MEDIA)
                setup = (max(caller_first["at"], callee_first["at"]) - started) / 1000
                setups.append(setup)
                pairs.append(f"{caller_first['pair']['local']}/{caller_first['pair']['remote']}")
                print(f"call {number + 1:2d}: {setup * 1000:6.0f} ms  pair {pairs[-1]}", flush=True)
                caller.get_by_test_id("call-hangup").click()
                caller.get_by_test_id("call-screen").wait_for(state="detached")
                callee.get_by_test_id("call-screen").wait_for(state="detached")
            browser.close()
    finally:
        server.stop()
        turn.stop()
    return {
        "runs": runs,
        "media": media,
        "setup_seconds": setups,
        "p50": statistics.median(setups),
        "p95": percentile(setups, 0.95),
        "min": min(setups),
        "max": max(setups),
        "relayed": sum(pair == "relay/relay" for pair in pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--media", choices=["audio", "video"], default="audio")
    options = parser.parse_args()
    result = run(options.runs, options.media)
    verdict = "met" if result["p50"] <= TARGET_P50_SECONDS else "MISSED"
    print(
        f"\ninvite → media both ways through TURN ({result['media']}, {result['runs']} calls, "
        f"{result['relayed']} relay/relay): p50 {result['p50'] * 1000:.0f} ms, p95 {result['p95'] * 1000:.0f} ms, "
        f"min {result['min'] * 1000:.0f} ms, max {result['max'] * 1000:.0f} ms — target p50 ≤ 1 s {verdict}"
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"calls-{result['media']}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
