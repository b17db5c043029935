"""Notifications end to end: the settings switch subscribes with the server's key, the server
pushes a new message to the subscription's endpoint (a local HTTPS push service this test runs),
the push decrypts to a payload naming the sender, and that payload handed to the service worker
shows the notification. Turning the switch off ends the subscription.

Headless Chromium has no push service of its own, so `PushManager.subscribe` is the one thing
stood in for: it answers with the endpoint of the local push service and keys the test holds."""

import base64
import time

import pytest
from browser_helpers import People, register_without_keys, send_plaintext_by_api, wait_for_service_worker
from playwright.sync_api import expect
from push_service import Browser, verified_vapid_claims
from test_notifications import Pusher, wait_for

STAND_IN = """({ endpoint, keys }) => {
    window.pushCalls = [];
    let current = null;
    const subscription = (key) => ({
        endpoint,
        options: { applicationServerKey: key.buffer },
        toJSON: () => ({ endpoint, expirationTime: null, keys }),
        unsubscribe: async () => { window.pushCalls.push('unsubscribe'); current = null; return true; },
    });
    PushManager.prototype.subscribe = async function (options) {
        const key = new Uint8Array(options.applicationServerKey);
        window.pushCalls.push({ userVisibleOnly: options.userVisibleOnly, key: btoa(String.fromCharCode(...key)) });
        current = subscription(key);
        return current;
    };
    PushManager.prototype.getSubscription = async () => current;
}"""


@pytest.fixture
def crowd(browser, push_server):
    people = People(browser, push_server)
    yield people
    people.close()
    assert people.page_errors == [], "uncaught errors in the page"


def b64_standard(base64url: str) -> str:
    return base64.b64encode(base64.urlsafe_b64decode(base64url + "=" * (-len(base64url) % 4))).decode()


def test_the_switch_subscribes_the_server_pushes_and_the_service_worker_shows_it(crowd, push_service):
    page, sara = crowd.register("sara", permissions=["notifications"])
    # A sender without keys: a plaintext chat, whose pushes carry the text (sealed chats' carry ids only).
    omid, omid_token = register_without_keys(page, "omid")
    wait_for_service_worker(page)
    keys = Browser()
    endpoint = push_service.url()
    page.evaluate(STAND_IN, {"endpoint": endpoint, "keys": keys.keys})
    server_key = page.request.get("/api/push/key").json()["key"]

    page.get_by_test_id("settings-button").click()
    with page.expect_response(lambda response: response.url.endswith("/api/push/subscriptions")) as answer:
        page.get_by_test_id("setting-notifications").check()
    assert answer.value.status == 201
    expect(page.get_by_test_id("setting-notifications")).to_be_checked()
    calls = page.evaluate("window.pushCalls")
    assert calls == [{"userVisibleOnly": True, "key": b64_standard(server_key)}]

    send_plaintext_by_api(page, sara, "are you free tonight?", token=omid_token)
    deadline = time.monotonic() + 10
    while not push_service.at(endpoint) and time.monotonic() < deadline:
        time.sleep(0.05)
    [received] = push_service.at(endpoint)
    verified_vapid_claims(received.headers["authorization"], server_key, endpoint)
    payload = keys.decrypt(received.body)
    assert payload["type"] == "message" and payload["chat"] == omid
    assert payload["sender"]["username"] == omid and payload["text"] == "are you free tonight?"

    pusher = Pusher(page, crowd.server.url)
    pusher.push_while_away(page, payload)
    shown = wait_for(page, lambda shown: len(shown) == 1)
    assert shown == [{"title": omid, "body": "are you free tonight?", "tag": f"chat:{omid}", "chat": omid}]

    page.goto("/#/settings")  # back in the app (which renews the subscription quietly on start)
    expect(page.get_by_test_id("setting-notifications")).to_be_checked()
    page.wait_for_timeout(500)
    page.evaluate(STAND_IN, {"endpoint": endpoint, "keys": keys.keys})
    page.evaluate(
        "async () => { await (await navigator.serviceWorker.ready).pushManager"
        ".subscribe({ userVisibleOnly: true, applicationServerKey: new Uint8Array(65) }); }"
    )

    def ending(response) -> bool:
        return response.request.method == "DELETE" and response.url.endswith("/api/push/subscriptions")

    with page.expect_response(ending) as answer:
        page.get_by_test_id("setting-notifications").uncheck()
    assert answer.value.status == 204
    assert "unsubscribe" in page.evaluate("window.pushCalls")
    send_plaintext_by_api(page, sara, "and now?", token=omid_token)
    time.sleep(1)
    assert len(push_service.at(endpoint)) == 1, "a push after the subscription ended"
