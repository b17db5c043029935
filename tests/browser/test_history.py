"""Older history loads page by page as you scroll up, keeping your place; replies quote their message."""

import re

from browser_helpers import mark_read_by_api, message_with_text, open_chat, send, send_by_api
from playwright.sync_api import expect

TOTAL = 120


def test_scrolling_up_loads_older_pages_and_keeps_the_position(people, screenshot):
    page, sara = people.register("sara")
    omid_page, omid = people.register("omid")
    for number in range(1, TOTAL + 1):
        last = send_by_api(omid_page, sara, f"message {number}")
    mark_read_by_api(page, omid, last["id"])  # all read: the chat opens at the newest message
    chat = page.locator(f'[data-testid=chat-item][data-peer="{omid}"]')
    expect(chat).to_contain_text(f"message {TOTAL}")  # every one reached this device (only it can open them)
    expect(chat.get_by_test_id("unread-badge")).to_have_count(0)
    page.wait_for_timeout(500)  # the update cursor is saved
    page.reload()  # nothing in memory: the newest page comes first, older ones as you scroll

    page.locator(f'[data-testid=chat-item][data-peer="{omid}"]').click()
    expect(page.get_by_test_id("message")).to_have_count(50)
    expect(message_with_text(page, f"message {TOTAL}")).to_be_in_viewport()

    log = page.get_by_test_id("messages")
    # The chat has settled where it opens (opening the newest page's envelopes takes a moment).
    expect(log).to_have_attribute("data-positioned", "true")
    anchor = message_with_text(page, "message 71")
    log.evaluate("log => { log.scrollTop = 0; }")
    expect(page.get_by_test_id("message")).to_have_count(100)
    assert log.evaluate("log => log.scrollTop") > 0, "the view jumped to the top instead of keeping its place"
    expect(anchor).to_be_in_viewport()

    log.evaluate("log => { log.scrollTop = 0; }")
    expect(page.get_by_test_id("message")).to_have_count(TOTAL)
    log.evaluate("log => { log.scrollTop = 0; }")
    expect(page.get_by_test_id("message-text").first).to_have_text("message 1")

    send_by_api(omid_page, sara, "fresh while reading history")
    expect(message_with_text(page, "fresh while reading history")).to_be_attached()
    expect(message_with_text(page, "message 1")).to_be_in_viewport()  # reading history: no jump
    screenshot(page)


def test_a_reply_quotes_the_message_it_answers_on_both_sides(people, screenshot):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara")
    open_chat(page, omid)
    send(page, "which day works?")
    omid_page.locator(f'[data-testid=chat-item][data-peer="{sara}"]').click()
    question = message_with_text(omid_page, "which day works?")
    question.hover()
    question.get_by_test_id("message-actions").click()
    omid_page.locator("[data-action=reply]").click()
    expect(omid_page.get_by_test_id("composer-context")).to_contain_text("which day works?")
    send(omid_page, "Thursday")
    for viewer in (page, omid_page):
        answer = message_with_text(viewer, "Thursday")
        expect(answer.get_by_test_id("reply-quote")).to_contain_text("which day works?")
    expect(omid_page.get_by_test_id("composer-context")).to_be_hidden()
    message_with_text(page, "Thursday").get_by_test_id("reply-quote").click()
    expect(message_with_text(page, "which day works?")).to_have_class(re.compile(r"\bhighlight\b"))
    screenshot(page)


def test_a_scroll_up_before_the_chat_settles_is_kept(people):
    page, sara = people.register("sara")
    omid_page, omid = people.register("omid")
    for number in range(1, 61):
        last = send_by_api(omid_page, sara, f"early {number}")
    mark_read_by_api(page, omid, last["id"])
    chat = page.locator(f'[data-testid=chat-item][data-peer="{omid}"]')
    expect(chat).to_contain_text("early 60")
    chat.click()
    log = page.get_by_test_id("messages")
    expect(log).to_have_attribute("data-positioned", "true")
    page.go_back()

    # The chat's newest page answers late: the cached messages show at once and the reader scrolls
    # up among them before it arrives; its arrival must not pull them back to the bottom.
    def late(route):
        page.wait_for_timeout(1500)
        route.continue_()

    page.context.route(re.compile(r"/api/conversations/[^/]+/messages"), late)
    page.locator(f'[data-testid=chat-item][data-peer="{omid}"]').click()
    expect(message_with_text(page, "early 60")).to_be_in_viewport()
    expect(log).not_to_have_attribute("data-positioned", "true")
    log.hover()
    page.mouse.wheel(0, -3000)
    expect(log).to_have_attribute("data-positioned", "true", timeout=15_000)
    page.wait_for_timeout(300)
    from_bottom = log.evaluate("log => log.scrollHeight - log.scrollTop - log.clientHeight")
    assert from_bottom > 1000, f"snapped back to the bottom ({from_bottom} px from it)"
