"""A push of a sealed message carries ids only; the service worker (a module worker) fetches the
envelope and opens it with the device's own keys while no page of the app is open, and shows
"Sender: text". When it cannot (a message it cannot reach, no session, previews off) it shows
"New message". The app opened afterwards reads the same message: the worker moved the ratchet the
pages share, it did not break it."""

from __future__ import annotations

import json
import uuid

from browser_helpers import message_with_text, open_chat_from_list, send_by_api, token_of, wait_for_service_worker
from playwright.sync_api import expect
from test_notifications import Pusher, wait_for

from push.dispatcher import message_payload, reaction_payload
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


def test_a_sealed_reaction_push_is_opened_by_the_service_worker(people, loop, tmp_path):
    omid = loop.run(person(people.server, tmp_path, 1))
    try:
        page, sara = people.register("sara", permissions=["notifications"])
        wait_for_service_worker(page)
        page.reload()
        expect(page.get_by_test_id("search-input")).to_be_visible()
        pusher = Pusher(page, people.server.url)
        sent = send_by_api(page, omid[0].username, "شام امشب؟")

        async def react() -> None:
            inner = {"v": 1, "kind": "reaction", "target": sent["id"], "emoji": "🔥", "sent_at": 1}
            client_id = f"reaction-{uuid.uuid4().hex}"
            peer = await omid[0].keys_of(sara)
            envelope = await omid[0]._seal(sara, peer, inner, client_id)
            headers = {"authorization": f"Bearer {omid[0].token}"}
            body = {"envelope": envelope, "client_id": client_id}
            answer = await omid[0].http.put(f"/api/messages/{sent['id']}/reaction", json=body, headers=headers)
            assert answer.status_code == 200, answer.text

        loop.run(react())
        headers = {"authorization": f"Bearer {token_of(page)}"}
        message = page.request.get(f"/api/conversations/{omid[0].username}/messages", headers=headers).json()
        payload = reaction_payload(message["messages"][-1], {"username": omid[0].username})
        assert payload["encrypted"] is True and "emoji" not in payload and "🔥" not in json.dumps(payload)
        pusher.push_while_away(page, payload)
        shown = wait_for(page, lambda shown: len(shown) == 1, timeout=20)
        expected = [(f"reaction:{omid[0].username}", "واکنش 🔥 به پیام شما")]
        assert [(item["tag"], item["body"]) for item in shown] == expected
        # the app opened afterwards shows the same reaction (the worker's opening is the app's too)
        page.goto("/")
        open_chat_from_list(page, omid[0].username)
        expect(page.locator("[data-testid=reaction][data-emoji='🔥']")).to_be_visible()
    finally:
        loop.run(close(omid))
