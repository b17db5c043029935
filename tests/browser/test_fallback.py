"""Where WebSockets are refused, the app long-polls /api/updates and keeps working both ways."""

from browser_helpers import message_with_text, open_chat, register, send, unique_name
from playwright.sync_api import expect


def refuse_websockets(page) -> list:
    attempts = []

    def refuse(ws) -> None:
        attempts.append(ws.url)
        ws.close(code=1011, reason="blocked by a proxy")

    page.context.route_web_socket("**/ws", refuse)
    return attempts


def test_messages_flow_both_ways_through_long_poll_when_websocket_is_blocked(people, screenshot):
    omid_page = people.open()
    sara_page = people.open()
    refuse_websockets(omid_page)
    sara_attempts = refuse_websockets(sara_page)

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
    screenshot(sara_page)
