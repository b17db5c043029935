"""A new display name reaches the other person's open chat and chat list without a reload."""

from browser_helpers import message_with_text, open_chat, open_chat_from_list, send
from playwright.sync_api import expect


def test_a_new_display_name_reaches_the_open_chat_and_the_chat_list_live(people):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    open_chat(sara_page, omid)
    send(sara_page, "hello")
    open_chat_from_list(omid_page, sara)
    expect(message_with_text(omid_page, "hello")).to_be_visible()
    omid_page.wait_for_timeout(1500)  # the chat list refresh that follows reading is over: only a live frame can tell

    sara_page.evaluate("location.hash = '#/settings'")
    sara_page.locator("input[name=display_name]").fill("سارا رحیمی")
    sara_page.get_by_test_id("settings-save").click()
    expect(sara_page.get_by_test_id("settings-status")).not_to_be_empty()

    expect(omid_page.get_by_test_id("peer-name")).to_have_text("سارا رحیمی")
    chat = omid_page.locator(f'[data-testid=chat-item][data-peer="{sara}"]')
    expect(chat.locator(".chat-name")).to_have_text("سارا رحیمی")
