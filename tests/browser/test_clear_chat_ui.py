"""Clearing a chat from the profile sheet: gone for you on every device, kept by the other person."""

from browser_helpers import log_in, message_with_text, open_chat, open_chat_from_list, send
from playwright.sync_api import expect


def test_clear_history_empties_the_chat_on_every_device_and_not_for_the_other_person(people):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    laptop = people.open()
    laptop.goto("/")
    log_in(laptop, omid)
    open_chat(sara_page, omid)
    send(sara_page, "remember this")
    on_laptop = laptop.locator(f'[data-testid=chat-item][data-peer="{sara}"]')
    expect(on_laptop).to_be_visible()
    open_chat_from_list(omid_page, sara)
    expect(message_with_text(omid_page, "remember this")).to_be_visible()

    omid_page.get_by_test_id("peer-name").click()
    omid_page.get_by_test_id("sheet-clear").click()
    expect(omid_page.get_by_test_id("confirm-dialog")).to_contain_text("پاک کردن تاریخچه")
    omid_page.get_by_test_id("confirm-clear").click()

    expect(message_with_text(omid_page, "remember this")).to_have_count(0)
    expect(on_laptop).to_have_count(0)
    expect(message_with_text(sara_page, "remember this")).to_be_visible()
    omid_page.reload()
    expect(omid_page.get_by_test_id("peer-name")).to_be_visible()
    expect(message_with_text(omid_page, "remember this")).to_have_count(0)
