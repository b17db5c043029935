"""A dropped WebSocket reconnects by itself and resumes from the cursor: nothing missed, nothing twice."""

from browser_helpers import message_with_text, open_chat, register, send, unique_name
from playwright.sync_api import expect


def test_dropped_websocket_reconnects_and_resumes_without_gaps_or_repeats(people, screenshot):
    omid_page, omid = people.register("omid")
    page = people.open()
    routes = []
    blocked = {"now": False}

    def through_proxy(ws):
        if blocked["now"]:
            ws.close()
            return
        ws.connect_to_server()
        routes.append(ws)

    page.context.route_web_socket("**/ws", through_proxy)

    sara = unique_name("sara")
    page.goto("/")
    register(page, sara)
    open_chat(page, omid)
    send(page, "hello before the drop")
    omid_page.locator(f'[data-testid=chat-item][data-peer="{sara}"]').click()
    expect(page.locator("html")).to_have_attribute("data-connection", "online")

    blocked["now"] = True
    routes[-1].close()
    expect(page.locator("html")).not_to_have_attribute("data-connection", "online")
    send(omid_page, "missed 1")
    send(omid_page, "missed 2")
    expect(message_with_text(omid_page, "missed 2")).to_have_attribute("data-status", "sent")
    blocked["now"] = False

    expect(page.locator("html")).to_have_attribute("data-connection", "online", timeout=15_000)
    expect(page.get_by_test_id("message-text")).to_have_text(["hello before the drop", "missed 1", "missed 2"])
    expect(message_with_text(omid_page, "missed 2")).to_have_attribute("data-status", "read")
    send(omid_page, "live again")
    expect(page.get_by_test_id("message-text")).to_have_text(
        ["hello before the drop", "missed 1", "missed 2", "live again"]
    )
    screenshot(page)


def test_backoff_doubles_from_one_second_to_a_thirty_second_cap_with_jitter(people, screenshot):
    page = people.open()
    page.goto("/")
    delays = page.evaluate(
        """async () => {
            const { backoffDelay } = await import('/socket.js');
            const bounds = (attempt) => [backoffDelay(attempt, () => 0), backoffDelay(attempt, () => 1)];
            return [0, 1, 2, 3, 4, 5, 6, 10].map(bounds);
        }"""
    )
    assert delays == [
        [500, 1000],
        [1000, 2000],
        [2000, 4000],
        [4000, 8000],
        [8000, 16000],
        [15000, 30000],
        [15000, 30000],
        [15000, 30000],
    ]
    screenshot(page)
