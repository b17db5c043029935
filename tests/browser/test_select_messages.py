"""Selecting several messages: copy them with sender and time, forward them in order, delete them;
Escape and the browser's back leave the selection. On a desktop and on a phone."""

import re

from browser_helpers import PHONE, message_with_text, open_chat_from_list, send, send_by_api
from playwright.sync_api import expect

DESKTOP = {"width": 1440, "height": 900}
CLIPBOARD = ["clipboard-read", "clipboard-write"]


def open_menu(page, text):
    bubble = message_with_text(page, text)
    bubble.hover()
    bubble.get_by_test_id("message-actions").click()


def start_selecting(page, text):
    open_menu(page, text)
    page.locator("[data-testid=message-menu] [data-action=select]").click()
    expect(page.get_by_test_id("selection-bar")).to_be_visible()


def a_chat_of_four(people, **options):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara", **options)
    for text in ("one", "two", "three"):
        send_by_api(omid_page, sara, text)
    open_chat_from_list(page, omid)
    page.get_by_test_id("composer").fill("mine")
    page.get_by_test_id("send-button").click()  # on a touch screen Enter breaks the line
    expect(message_with_text(page, "mine")).not_to_have_attribute("data-status", "pending")
    return page, sara, omid


def test_selecting_copies_forwards_and_deletes_several_messages_in_order(people):
    page, sara, omid = a_chat_of_four(people, viewport=DESKTOP, permissions=CLIPBOARD)
    start_selecting(page, "three")
    expect(page.get_by_test_id("peer-name")).to_be_hidden()  # the bar takes the header's place
    count = page.get_by_test_id("selection-count")
    expect(count).to_have_text("۱ انتخاب شده")
    message_with_text(page, "one").click()
    message_with_text(page, "two").click()
    expect(count).to_have_text("۳ انتخاب شده")
    message_with_text(page, "two").click()  # a second tap takes it out again
    expect(count).to_have_text("۲ انتخاب شده")
    expect(message_with_text(page, "one")).to_have_class(re.compile(r"\bselected\b"))
    expect(message_with_text(page, "two")).not_to_have_class(re.compile(r"\bselected\b"))

    page.get_by_test_id("selection-copy").click()
    expect(page.get_by_test_id("selection-bar")).to_be_hidden()
    expect(page.get_by_test_id("peer-name")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    stamp = r"\[[^\]\n]+\]"
    assert re.fullmatch(rf"{omid}, {stamp}\none\n\n{omid}, {stamp}\nthree", copied), copied

    start_selecting(page, "three")
    message_with_text(page, "one").click(button="right")  # a right click picks too while selecting
    expect(page.get_by_test_id("selection-count")).to_have_text("۲ انتخاب شده")
    page.get_by_test_id("selection-forward").click()
    page.locator(f'[data-testid=forward-target][data-peer="{sara}"]').click()  # Saved Messages
    expect(page.get_by_test_id("peer-name")).to_have_text(re.compile(".+"))
    page.wait_for_function(f"() => location.hash === '#/chat/{sara}'")
    texts = page.get_by_test_id("message-text")
    expect(texts).to_have_text(["one", "three"])
    expect(page.get_by_test_id("forwarded-from")).to_have_count(2)
    for text in ("one", "three"):
        expect(message_with_text(page, text)).not_to_have_attribute("data-status", "pending")

    open_chat_from_list(page, omid)
    start_selecting(page, "mine")
    message_with_text(page, "two").click()
    page.get_by_test_id("selection-delete").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog.get_by_test_id("confirm-me")).to_be_visible()
    expect(dialog.get_by_test_id("confirm-both")).to_have_count(0)  # "two" is omid's
    dialog.get_by_test_id("confirm-me").click()
    expect(message_with_text(page, "mine")).to_have_count(0)
    expect(message_with_text(page, "two")).to_have_count(0)
    expect(message_with_text(page, "one")).to_be_visible()
    assert people.page_errors == []


def test_deleting_only_my_messages_offers_deleting_them_for_both(people):
    omid_page, omid = people.register("omid", viewport=DESKTOP)
    page, sara = people.register("sara", viewport=DESKTOP)
    send_by_api(omid_page, sara, "hello")
    open_chat_from_list(page, omid)
    for text in ("first of mine", "second of mine"):
        send(page, text)
        expect(message_with_text(page, text)).not_to_have_attribute("data-status", "pending")
    start_selecting(page, "first of mine")
    message_with_text(page, "second of mine").click()
    page.get_by_test_id("selection-delete").click()
    page.get_by_test_id("confirm-dialog").get_by_test_id("confirm-both").click()
    open_chat_from_list(omid_page, sara)
    expect(omid_page.locator("[data-testid=message][data-deleted=true]")).to_have_count(2)
    expect(message_with_text(omid_page, "hello")).to_be_visible()


def test_escape_and_the_back_button_leave_the_selection(people):
    page, _, omid = a_chat_of_four(people, viewport=DESKTOP)
    start_selecting(page, "one")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("selection-bar")).to_be_hidden()
    expect(message_with_text(page, "one")).not_to_have_class(re.compile(r"\bselected\b"))

    start_selecting(page, "two")
    page.go_back()
    expect(page.get_by_test_id("selection-bar")).to_be_hidden()
    expect(page.get_by_test_id("peer-name")).to_have_text(omid)  # still in the chat

    # Keyboard only: the bubble's button picks while selecting, and says whether it is picked.
    start_selecting(page, "two")
    button = message_with_text(page, "three").get_by_test_id("message-actions")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("selection-count")).to_have_text("۲ انتخاب شده")
    page.get_by_test_id("selection-cancel").click()
    expect(page.get_by_test_id("selection-bar")).to_be_hidden()
    expect(button).to_have_attribute("aria-haspopup", "menu")


LONG_PRESS = """(text) => {
  const bubble = [...document.querySelectorAll('[data-testid=message]')]
    .find((node) => node.querySelector('[data-testid=message-text]')?.textContent === text);
  const box = bubble.querySelector('.bubble').getBoundingClientRect();
  const init = { bubbles: true, pointerType: 'touch', isPrimary: true, pointerId: 7,
                 clientX: box.x + box.width / 2, clientY: box.y + box.height / 2 };
  bubble.querySelector('.bubble').dispatchEvent(new PointerEvent('pointerdown', init));
  setTimeout(() => bubble.querySelector('.bubble').dispatchEvent(new PointerEvent('pointerup', init)), 600);
}"""


def test_on_a_phone_a_long_press_then_select_and_taps_pick_messages(people, screenshot):
    page, _, _ = a_chat_of_four(people, **PHONE)
    header = page.locator(".conversation-header").bounding_box()
    page.evaluate(LONG_PRESS, "two")
    expect(page.get_by_test_id("message-menu")).to_be_visible()
    page.wait_for_timeout(1100)  # the finger is lifted before it taps again
    page.locator("[data-testid=message-menu] [data-action=select]").tap()
    expect(page.get_by_test_id("selection-bar")).to_be_visible()
    message_with_text(page, "one").tap()
    message_with_text(page, "mine").tap()
    expect(page.get_by_test_id("selection-count")).to_have_text("۳ انتخاب شده")
    bar = page.get_by_test_id("selection-bar").bounding_box()
    assert bar["width"] <= 390 and abs(bar["y"] - header["y"]) < 2, (bar, header)  # where the header was
    for name in ("copy", "forward", "delete", "cancel"):
        box = page.get_by_test_id(f"selection-{name}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
    screenshot(page)
    page.get_by_test_id("selection-cancel").tap()
    expect(page.get_by_test_id("selection-bar")).to_be_hidden()
