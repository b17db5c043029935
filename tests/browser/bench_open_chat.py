"""Prints how fast the app opens (not a test of the suite; run it by name):

    .venv/bin/python -m pytest -q -s tests/browser/bench_open_chat.py

Figures: the shell's bytes, the time from a reload to the chat list, and the time to open a chat
with 239 unread messages at the first unread (three pages of history).
"""

import time

from browser_helpers import log_in, send_by_api, wait_for_service_worker
from playwright.sync_api import expect

UNREAD = 239


def test_print_open_times(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara")
    wait_for_service_worker(page)
    for number in range(UNREAD):
        send_by_api(omid_page, sara, f"unread {number}")
    page.context.close()

    page = people.open()
    sizes = []
    page.on("response", lambda response: sizes.append(len(response.body())) if "/api/" not in response.url else None)
    page.goto("/")
    log_in(page, sara)
    wait_for_service_worker(page)
    print(f"\nshell and font, first load: {sum(sizes) / 1024:.0f} KiB in {len(sizes)} files")

    timings = []
    for _ in range(5):
        started = time.perf_counter()
        page.reload()
        expect(page.locator(f'[data-testid=chat-item][data-peer="{omid}"]')).to_be_visible()
        timings.append(time.perf_counter() - started)
    best, worst = min(timings) * 1000, max(timings) * 1000
    print(f"reload to chat list (service worker shell): best {best:.0f} ms, worst {worst:.0f} ms")

    started = time.perf_counter()
    page.locator(f'[data-testid=chat-item][data-peer="{omid}"]').click()
    expect(page.get_by_test_id("unread-divider")).to_be_in_viewport()
    print(f"open a chat with {UNREAD} unread at the first unread: {(time.perf_counter() - started) * 1000:.0f} ms")
