"""Notifications: a push reaching the service worker shows the sender and the text, one per chat,
and a `read` push clears that chat's; the app tells the server which chat it shows (`viewing`)."""

import json
import time

from browser_helpers import (
    message_with_text,
    open_chat,
    open_chat_from_list,
    register,
    send_by_api,
    unique_name,
    wait_for_service_worker,
)
from playwright.sync_api import expect

# Headless Chromium never hides a page: the test says it is hidden, as switching tabs would.
HIDE_THE_PAGE = """() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
}"""

NOTIFICATIONS = """async () => (await (await navigator.serviceWorker.ready).getNotifications())
    .map((shown) => ({ title: shown.title, body: shown.body, tag: shown.tag, chat: shown.data?.chat }))"""


def wait_for(page, condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        shown = page.evaluate(NOTIFICATIONS)
        if condition(shown) or time.monotonic() > deadline:
            return shown
        page.wait_for_timeout(100)


class Pusher:
    """Hands push messages to the page's service worker through the DevTools protocol."""

    def __init__(self, page, origin: str) -> None:
        self.origin = origin
        self.cdp = page.context.new_cdp_session(page)
        self.registrations: list[str] = []
        self.cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda event: self.registrations.extend(
                registration["registrationId"]
                for registration in event["registrations"]
                if not registration["isDeleted"] and registration["scopeURL"].startswith(origin)
            ),
        )
        self.cdp.send("ServiceWorker.enable")
        deadline = time.monotonic() + 10
        while not self.registrations and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert self.registrations, "no service worker registration"

    def push(self, payload: dict) -> None:
        self.cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": self.origin, "registrationId": self.registrations[-1], "data": json.dumps(payload)},
        )

    def push_while_away(self, page, payload: dict) -> None:
        """Delivers with no window of the app open (a closed PWA), then comes back to look."""
        page.goto("about:blank")
        self.push(payload)
        page.goto("/fonts/OFL.txt")  # any page of the origin can list the notifications


def message_push(chat: str, text: str, name: str, message_id: int) -> dict:
    sender = {"username": chat, "display_name": name, "avatar": None}
    return {"type": "message", "chat": chat, "message_id": message_id, "sender": sender, "text": text}


def test_a_push_shows_one_notification_per_chat_and_read_clears_it(people, screenshot):
    page, _ = people.register("sara", permissions=["notifications"])
    wait_for_service_worker(page)
    pusher = Pusher(page, people.server.url)

    pusher.push_while_away(page, message_push("omid_1", "سلام سارا", "امید", 1))
    shown = wait_for(page, lambda shown: len(shown) == 1)
    assert shown == [{"title": "امید", "body": "سلام سارا", "tag": "chat:omid_1", "chat": "omid_1"}]

    pusher.push_while_away(page, message_push("omid_1", "are you there?", "امید", 2))
    shown = wait_for(page, lambda shown: shown and shown[0]["body"] == "are you there?")
    assert [item["body"] for item in shown] == ["are you there?"], "one notification per chat, the newest"

    with_avatar = message_push("leila_1", "hi", "Leila", 3)
    with_avatar["sender"]["avatar"] = "/icons/icon-512.png"  # the sender's picture, once people have one
    pusher.push_while_away(page, with_avatar)
    shown = wait_for(page, lambda shown: len(shown) == 2)
    assert sorted(item["tag"] for item in shown) == ["chat:leila_1", "chat:omid_1"]
    icons = page.evaluate(
        "async () => Object.fromEntries((await (await navigator.serviceWorker.ready).getNotifications())"
        ".map((shown) => [shown.tag, new URL(shown.icon).pathname]))"
    )
    assert icons == {"chat:leila_1": "/icons/icon-512.png", "chat:omid_1": "/icons/icon-192.png"}

    pusher.push_while_away(page, {"type": "read", "chat": "omid_1"})
    shown = wait_for(page, lambda shown: len(shown) == 1)
    assert [item["tag"] for item in shown] == ["chat:leila_1"]


def test_hiding_the_preview_keeps_the_text_out_of_notifications(people):
    page, _ = people.register("sara", permissions=["notifications"])
    wait_for_service_worker(page)
    page.get_by_test_id("settings-button").click()
    preview = page.get_by_test_id("setting-preview")
    expect(preview).to_be_checked()
    preview.uncheck()
    pusher = Pusher(page, people.server.url)
    page.wait_for_timeout(200)  # the service worker stores the setting
    pusher.push_while_away(page, message_push("omid_1", "a private thing", "Omid", 1))
    shown = wait_for(page, lambda shown: len(shown) == 1)
    assert shown[0]["title"] == "Omid"
    assert "private" not in shown[0]["body"]
    assert shown[0]["body"] == "پیام تازه"


def test_a_push_while_the_app_is_in_use_shows_no_system_notification(people):
    page, _ = people.register("sara", permissions=["notifications"])
    wait_for_service_worker(page)
    Pusher(page, people.server.url).push(message_push("omid_1", "you are looking already", "Omid", 1))
    page.wait_for_timeout(1000)  # time for the service worker to have shown one
    assert page.evaluate(NOTIFICATIONS) == []


def test_turning_notifications_on_says_so_when_the_browser_cannot_subscribe(people):
    # Headless Chromium has no push service: subscribing fails, and the setting says why.
    page, _ = people.register("sara", permissions=["notifications"])
    page.get_by_test_id("settings-button").click()
    switch = page.get_by_test_id("setting-notifications")
    switch.click()  # the app unticks it again when subscribing fails
    expect(page.get_by_test_id("notifications-status")).not_to_be_empty()
    expect(switch).not_to_be_checked()


def test_the_app_tells_the_server_which_chat_it_shows(people):
    omid_page, omid = people.register("omid")
    page = people.open()
    frames: list[dict] = []

    def watch(socket):
        socket.on("framesent", lambda payload: frames.append(json.loads(payload)) if "viewing" in payload else None)

    page.on("websocket", watch)
    page.goto("/")
    sara = unique_name("sara")
    register(page, sara)
    send_by_api(omid_page, sara, "hello")
    open_chat_from_list(page, omid)
    expect(message_with_text(page, "hello")).to_be_visible()
    page.wait_for_timeout(300)
    assert {"type": "viewing", "peer": omid} in frames
    page.evaluate("location.hash = '#/'")
    page.wait_for_timeout(300)
    assert frames[-1] == {"type": "viewing", "peer": None}
    open_chat(page, omid)
    page.wait_for_timeout(300)
    assert frames[-1] == {"type": "viewing", "peer": omid}
    page.evaluate(HIDE_THE_PAGE)
    page.wait_for_timeout(300)
    assert frames[-1] == {"type": "viewing", "peer": None}, "a hidden page views nothing"


def test_a_tapped_notification_opens_its_chat_in_the_open_app(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara")
    send_by_api(omid_page, sara, "tap to read")
    # What the service worker posts to an open window when its notification is tapped:
    page.evaluate(
        "(chat) => navigator.serviceWorker.dispatchEvent("
        "new MessageEvent('message', { data: { type: 'open-chat', chat } }))",
        omid,
    )
    expect(page.get_by_test_id("peer-name")).to_have_text(omid)
    expect(message_with_text(page, "tap to read")).to_be_visible()


def test_a_message_while_the_tab_is_hidden_shows_a_desktop_notification(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara", permissions=["notifications"])
    wait_for_service_worker(page)
    page.evaluate("localStorage.setItem('payambar.notifications', JSON.stringify({ enabled: true, preview: true }))")
    page.evaluate(HIDE_THE_PAGE)
    send_by_api(omid_page, sara, "are you coming?")
    shown = wait_for(page, lambda shown: len(shown) == 1)
    assert shown == [{"title": omid, "body": "are you coming?", "tag": f"chat:{omid}", "chat": omid}]
