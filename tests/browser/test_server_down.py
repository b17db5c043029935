"""With the server stopped, the app never looks connected: the banner stays up through the
fall back to long-polling, and the other person is not shown online, until the server answers."""

import time

from browser_helpers import People, message_with_text, open_chat, open_chat_from_list, send
from playwright.sync_api import expect


def test_a_stopped_server_keeps_the_banner_up_and_the_peer_not_online(browser, server_factory):
    server = server_factory()
    people = People(browser, server)
    try:
        omid_page, omid = people.register("omid")
        sara_page, sara = people.register("sara")
        open_chat(sara_page, omid)
        send(sara_page, "hello")
        open_chat_from_list(omid_page, sara)
        send(omid_page, "hi")
        expect(message_with_text(sara_page, "hi")).to_be_visible()
        expect(sara_page.get_by_test_id("peer-status")).to_have_attribute("data-kind", "online")

        server.stop()
        banner = sara_page.get_by_test_id("offline-indicator")
        expect(banner).to_be_visible()
        expect(sara_page.get_by_test_id("peer-status")).not_to_have_attribute("data-kind", "online")
        deadline = time.monotonic() + 20  # past the third failed WebSocket, when long-polling starts
        while time.monotonic() < deadline:
            assert banner.is_visible(), "the banner went away while the server was down"
            assert sara_page.locator("html").get_attribute("data-connection") != "polling"
            assert sara_page.get_by_test_id("peer-status").get_attribute("data-kind") != "online"
            sara_page.wait_for_timeout(250)

        server.start()
        expect(banner).to_be_hidden(timeout=40_000)
        expect(sara_page.get_by_test_id("peer-status")).to_have_attribute("data-kind", "online", timeout=20_000)
    finally:
        people.close()
    assert people.page_errors == []
