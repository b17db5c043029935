"""Message info on one's own message (sent time; delivered and read as the receipts say), and the
composer's emoji panel (categories, a recent row, typing at the caret, the keyboard) with the
microphone and send buttons taking turns."""

import re

from browser_helpers import PHONE, message_with_text, open_chat, open_chat_from_list, send
from playwright.sync_api import expect

DESKTOP = {"width": 1440, "height": 900}


def open_info(page, text):
    bubble = message_with_text(page, text)
    bubble.hover()
    bubble.get_by_test_id("message-actions").click()
    page.locator("[data-testid=message-menu] [data-action=info]").click()
    dialog = page.get_by_test_id("message-info")
    expect(dialog).to_be_visible()
    return dialog


def test_message_info_shows_when_it_was_sent_and_follows_the_receipts(people):
    omid_page, omid = people.register("omid", viewport=DESKTOP)
    page, sara = people.register("sara", viewport=DESKTOP)
    open_chat(page, omid)
    send(page, "did you get it")
    bubble = message_with_text(page, "did you get it")
    expect(bubble).to_have_attribute("data-status", "delivered")  # omid's app is open
    dialog = open_info(page, "did you get it")
    expect(dialog.get_by_test_id("message-info-sent")).to_contain_text(re.compile("[۰-۹]+:[۰-۹]{2}"))
    expect(dialog.get_by_test_id("message-info-delivered")).to_have_attribute("data-done", "true")
    expect(dialog.get_by_test_id("message-info-read")).to_have_attribute("data-done", "false")
    expect(dialog.get_by_test_id("message-info-read")).to_contain_text("هنوز نه")

    open_chat_from_list(omid_page, sara)  # omid reads it while the dialog is open
    expect(dialog.get_by_test_id("message-info-read")).to_have_attribute("data-done", "true")
    expect(dialog.get_by_test_id("message-info-read")).to_contain_text("بله")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(bubble.get_by_test_id("message-actions")).to_be_focused()

    # Only one's own messages have it.
    message = message_with_text(omid_page, "did you get it")
    message.hover()
    message.get_by_test_id("message-actions").click()
    expect(omid_page.locator("[data-testid=message-menu] [data-action=info]")).to_have_count(0)
    assert people.page_errors == []


def test_emoji_go_in_at_the_caret_and_come_back_as_recent(people, screenshot):
    _, omid = people.register("omid")
    page, _ = people.register("sara", viewport=DESKTOP)
    open_chat(page, omid)
    composer = page.get_by_test_id("composer")
    mic, send_button = page.get_by_test_id("record-button"), page.get_by_test_id("send-button")
    expect(mic).to_be_visible()
    expect(send_button).to_be_hidden()  # nothing to send yet: the microphone instead
    composer.fill("ab")
    expect(send_button).to_be_visible()
    expect(mic).to_be_hidden()
    composer.evaluate("(field) => field.setSelectionRange(1, 1)")

    button = page.get_by_test_id("emoji-button")
    expect(button).to_have_attribute("aria-label", "شکلک")
    button.click()
    panel = page.get_by_test_id("emoji-panel")
    expect(panel).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_test_id("emoji-tab-recent")).to_have_count(0)  # nothing used yet
    page.get_by_test_id("emoji-tab-food").click()
    expect(page.get_by_test_id("emoji-tab-food")).to_have_attribute("aria-pressed", "true")
    page.locator('[data-testid=emoji][data-emoji="🍕"]').click()
    expect(composer).to_have_value("a🍕b")
    page.get_by_test_id("emoji-tab-smileys").click()
    page.locator('[data-testid=emoji][data-emoji="😂"]').click()
    expect(composer).to_have_value("a🍕😂b")
    screenshot(page)
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(button).to_be_focused()

    # From the keyboard: the panel opens on the recent row, the arrows move, Enter types.
    page.keyboard.press("Enter")
    expect(panel).to_be_visible()
    expect(page.get_by_test_id("emoji-tab-recent")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("emoji-grid").get_by_test_id("emoji")).to_have_text(["😂", "🍕"])
    expect(page.locator('[data-testid=emoji][data-emoji="😂"]')).to_be_focused()
    page.keyboard.press("ArrowLeft")  # forwards in Persian
    expect(page.locator('[data-testid=emoji][data-emoji="🍕"]')).to_be_focused()
    page.keyboard.press("Enter")
    expect(composer).to_have_value("a🍕😂🍕b")
    page.keyboard.press("Escape")

    composer.press("Enter")  # sends
    expect(message_with_text(page, "a🍕😂🍕b")).to_be_visible()
    expect(mic).to_be_visible()
    page.reload()
    page.get_by_test_id("emoji-button").click()
    expect(page.get_by_test_id("emoji-grid").get_by_test_id("emoji").first).to_have_text("🍕")
    assert people.page_errors == []


def test_the_emoji_panel_fits_a_phone(people):
    _, omid = people.register("omid")
    page, _ = people.register("sara", **PHONE)
    open_chat(page, omid)
    page.get_by_test_id("emoji-button").tap()
    panel = page.get_by_test_id("emoji-panel").bounding_box()
    composer = page.get_by_test_id("composer").bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 390, panel
    assert panel["y"] + panel["height"] <= composer["y"], (panel, composer)  # above the field
    page.get_by_test_id("emoji-tab-people").tap()
    page.locator('[data-testid=emoji][data-emoji="👍"]').tap()
    expect(page.get_by_test_id("composer")).to_have_value("👍")
    page.get_by_test_id("send-button").tap()
    expect(message_with_text(page, "👍")).to_be_visible()
    expect(page.get_by_test_id("emoji-panel")).to_be_hidden()  # sending puts it away
