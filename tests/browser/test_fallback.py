"""Where WebSockets are refused, the app long-polls /api/updates and keeps working both ways."""

from browser_helpers import message_with_text, open_chat, register, send, unique_name
from playwright.sync_api import expect


def refuse_websockets(page) -> tuple[list, dict]:
    """Refuses every WebSocket of the page's context while `proxy["blocking"]` is true."""
    attempts = []
    proxy = {"blocking": True}

    def refuse(ws) -> None:
        attempts.append(ws.url)
        if proxy["blocking"]:
            ws.close(code=1011, reason="blocked by a proxy")
        else:
            ws.connect_to_server()

    page.context.route_web_socket("**/ws", refuse)
    return attempts, proxy


def test_messages_flow_both_ways_through_long_poll_when_websocket_is_blocked(people, screenshot):
    omid_page = people.open()
    sara_page = people.open()
    refuse_websockets(omid_page)
    sara_attempts, sara_proxy = refuse_websockets(sara_page)

    omid, sara = unique_name("omid"), unique_name("sara")
    for page, name in ((omid_page, omid), (sara_page, sara)):
        page.goto("/")
        register(page, name)
        expect(page.locator("html")).to_have_attribute("data-connection", "polling")

    open_chat(sara_page, omid)
    send(sara_page, "through the long poll")
    chat = omid_page.locator(f'[data-testid=chat-item][data-peer="{sara}"]')
    expect(chat.get_by_test_id("chat-preview")).to_contain_text("through the long poll")
    expect(message_with_text(sara_page, "through the long poll")).to_have_attribute("data-status", "delivered")

    chat.click()
    expect(message_with_text(sara_page, "through the long poll")).to_have_attribute("data-status", "read")
    send(omid_page, "and back again")
    expect(message_with_text(sara_page, "and back again")).to_be_visible()
    expect(sara_page.locator("html")).to_have_attribute("data-connection", "polling")
    tried_again = len(sara_attempts) + 1
    for _ in range(60):  # the next try comes after a backoff of 4 to 8 seconds
        if len(sara_attempts) >= tried_again:
            break
        sara_page.wait_for_timeout(200)
    assert len(sara_attempts) >= tried_again, "while long-polling, the app keeps trying the WebSocket again"

    sara_proxy["blocking"] = False  # the proxy is fixed; the network coming back makes the app retry at once
    sara_page.context.set_offline(True)
    sara_page.context.set_offline(False)
    expect(sara_page.locator("html")).to_have_attribute("data-connection", "online")
    send(omid_page, "over the WebSocket again")
    expect(message_with_text(sara_page, "over the WebSocket again")).to_be_visible()
    expect(sara_page.get_by_test_id("message-text")).to_have_text(
        ["through the long poll", "and back again", "over the WebSocket again"]
    )
    screenshot(sara_page)
