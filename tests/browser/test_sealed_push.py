"""A push of a sealed message carries ids only; the service worker (a module worker) fetches the
envelope and opens it with the device's own keys while no page of the app is open, and shows
"Sender: text". When it cannot (a message it cannot reach, no session, previews off) it shows
"New message". The app opened afterwards reads the same message: the worker moved the ratchet the
pages share, it did not break it."""

from __future__ import annotations

import json

from browser_helpers import message_with_text, open_chat_from_list, wait_for_service_worker
from playwright.sync_api import expect
from test_notifications import Pusher, wait_for

from push.dispatcher import message_payload
from tests.e2ee_people import close, person

MARKER = "رمز-۴۲ marker in the sealed push"
NEW_MESSAGE = "پیام تازه"  # the Persian interface's "New message"


def test_the_service_worker_opens_a_sealed_push_and_the_app_still_reads_it(people, loop, tmp_path, screenshot):
    omid = loop.run(person(people.server, tmp_path, 1))
    try:
        page, sara = people.register("sara", permissions=["notifications"])
        wait_for_service_worker(page)
        page.reload()  # the worker now controls the page and has been told the session
        expect(page.get_by_test_id("search-input")).to_be_visible()
        pusher = Pusher(page, people.server.url)

        sent = loop.run(omid[0].send_text(sara, MARKER))
        payload = message_payload(sent, {"username": omid[0].username})
        assert MARKER not in json.dumps(payload, ensure_ascii=False) and "envelope" not in payload
        assert payload["encrypted"] is True and payload["message_id"] == sent["id"]

        pusher.push_while_away(page, payload)
        shown = wait_for(page, lambda shown: len(shown) == 1 and shown[0]["body"] != NEW_MESSAGE, timeout=20)
        assert [(item["body"], item["chat"]) for item in shown] == [(MARKER, omid[0].username)], shown

        # A push naming a message this person cannot reach: nothing to open, "New message".
        stranger = dict(payload, message_id=sent["id"] + 10_000)
        pusher.push_while_away(page, stranger)
        shown = wait_for(page, lambda shown: shown and shown[0]["body"] == NEW_MESSAGE, timeout=20)
        assert [item["body"] for item in shown] == [NEW_MESSAGE]

        # Back in the app: the message the worker opened reads the same, and the next one too.
        page.goto("/")
        expect(page.get_by_test_id("search-input")).to_be_visible()
        open_chat_from_list(page, omid[0].username)
        expect(message_with_text(page, MARKER)).to_be_visible()
        loop.run(omid[0].send_text(sara, "and the next one"))
        expect(message_with_text(page, "and the next one")).to_be_visible()
        screenshot(page)

        # Logged out: the worker forgets the session, and a sealed push says "New message" only.
        later = loop.run(omid[0].send_text(sara, "after logging out"))
        page.evaluate("async () => (await import('/session.js')).logout()")
        page.wait_for_url("**/")
        page.wait_for_timeout(300)
        pusher.push_while_away(page, message_payload(later, {"username": omid[0].username}))
        shown = wait_for(page, lambda shown: shown and shown[0]["body"] == NEW_MESSAGE, timeout=20)
        assert [item["body"] for item in shown] == [NEW_MESSAGE]
    finally:
        loop.run(close(omid))
