"""The outbox: messages written offline survive a reload and arrive in order, exactly once."""

from browser_helpers import message_with_text, messages, open_chat, send, wait_for_service_worker
from playwright.sync_api import expect

CACHED_PATHS = """async () => {
    const paths = [];
    for (const name of await caches.keys()) {
        for (const request of await (await caches.open(name)).keys()) paths.push(new URL(request.url).pathname);
    }
    return paths;
}"""


def test_offline_messages_survive_reload_and_arrive_in_order_exactly_once(people, screenshot):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    wait_for_service_worker(sara_page)
    open_chat(sara_page, omid)
    send(sara_page, "before the tunnel")
    expect(message_with_text(sara_page, "before the tunnel")).to_have_attribute("data-status", "delivered")

    sara_page.context.set_offline(True)
    expect(sara_page.get_by_test_id("offline-indicator")).to_be_visible()
    for text in ("one", "two", "three"):
        send(sara_page, text)
        expect(message_with_text(sara_page, text)).to_have_attribute("data-status", "pending")

    earlier = message_with_text(sara_page, "before the tunnel")
    earlier.hover()
    earlier.get_by_test_id("message-actions").click()
    sara_page.locator("[data-action=edit]").click()
    sara_page.get_by_test_id("composer").fill("edited offline")
    sara_page.get_by_test_id("composer").press("Enter")
    expect(sara_page.get_by_test_id("toast")).to_have_text("به سرور دسترسی نیست. اتصال را بررسی کنید.")
    expect(earlier).to_be_visible()  # an edit needs the server: it is refused, not faked

    sara_page.reload()
    expect(sara_page.get_by_test_id("offline-indicator")).to_be_visible()
    expect(sara_page.locator(f'[data-testid=chat-item][data-peer="{omid}"]')).to_be_visible()
    expect(message_with_text(sara_page, "before the tunnel")).to_be_visible()
    for text in ("one", "two", "three"):
        expect(message_with_text(sara_page, text)).to_have_attribute("data-status", "pending")
    screenshot(sara_page, "offline")

    sara_page.context.set_offline(False)
    expect(sara_page.get_by_test_id("offline-indicator")).to_be_hidden()
    for text in ("one", "two", "three"):
        expect(message_with_text(sara_page, text)).not_to_have_attribute("data-status", "pending")

    omid_page.locator(f'[data-testid=chat-item][data-peer="{sara}"]').click()
    expected = ["before the tunnel", "one", "two", "three"]
    expect(omid_page.get_by_test_id("message-text")).to_have_text(expected)
    omid_page.reload()  # what the server holds, not just what arrived live
    expect(omid_page.get_by_test_id("message-text")).to_have_text(expected)
    expect(messages(sara_page)).to_have_count(4)
    cached = sara_page.evaluate(CACHED_PATHS)
    assert "/index.html" in cached and "/app.js" in cached
    assert not [path for path in cached if path.startswith("/api/")], "private API answers never go to the cache"
    screenshot(omid_page)


def test_api_requests_never_wake_the_service_worker(people):
    page, _ = people.register("sara")
    wait_for_service_worker(page)
    matched = page.evaluate(
        """async () => {
            const entries = () => performance.getEntriesByType('resource');
            const pick = (path) => entries().filter((e) => new URL(e.name).pathname === path).pop();
            performance.clearResourceTimings();  // the shell's modules fill the buffer
            await (await fetch('/health')).text();  // an entry is added once the body is read
            const token = JSON.parse(localStorage.getItem('payambar.session')).token;
            const me = await fetch('/api/me', { headers: { authorization: 'Bearer ' + token } });
            await me.text();
            await (await fetch('/manifest.webmanifest')).text();
            await new Promise((resolve) => setTimeout(resolve, 100));
            return {
                health: pick('/health').workerMatchedSourceType,
                api: pick('/api/me').workerMatchedSourceType,
                shell: pick('/manifest.webmanifest').workerMatchedSourceType,
            };
        }"""
    )
    # Static routes send the API straight to the network; the shell still goes through the worker.
    assert matched["health"] == "network"
    assert matched["api"] == "network"
    assert matched["shell"] != "network"
