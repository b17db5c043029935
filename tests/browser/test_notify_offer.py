"""The app's own offer of notifications (never the browser's prompt unasked), a clear message when
the browser has no push service, and on a phone the banner and back-arrow count for messages of
other chats."""

import re

from browser_helpers import PHONE, open_chat_from_list, send_by_api
from playwright.sync_api import expect

NO_PUSH = "این مرورگر سرویس اعلان (push) ندارد"
PERMISSION_ASKED = """() => {
  window.__asked = 0;
  const original = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = (...args) => { window.__asked += 1; return original(...args); };
}"""


def test_the_offer_comes_after_signing_up_and_not_now_puts_it_away(people):
    omid_page, _ = people.register("omid")
    page, sara = people.register("sara")
    offer = page.get_by_test_id("notify-offer")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("اعلان")
    assert page.evaluate("Notification.permission") == "default"  # the browser was not asked
    page.get_by_test_id("notify-offer-later").click()
    expect(offer).to_be_hidden()
    page.reload()
    expect(page.get_by_test_id("search-input")).to_be_visible()
    send_by_api(omid_page, sara, "a first message")  # would offer again, but "not now" holds
    expect(page.get_by_test_id("unread-badge")).to_be_visible()
    page.wait_for_timeout(300)
    expect(offer).to_be_hidden()
    assert people.page_errors == []


def test_the_offer_comes_with_the_first_message_and_says_why_it_cannot_subscribe(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara", permissions=["notifications"])
    page.reload()  # not just logged in: nothing is offered until a message comes
    expect(page.get_by_test_id("search-input")).to_be_visible()
    offer = page.get_by_test_id("notify-offer")
    expect(offer).to_be_hidden()
    page.evaluate(PERMISSION_ASKED)
    send_by_api(omid_page, sara, "hello there")
    expect(offer).to_be_visible()
    assert page.evaluate("window.__asked") == 0
    page.get_by_test_id("notify-offer-enable").click()
    # Headless Chromium has no push service: the words say so, not "Registration failed".
    expect(offer).to_contain_text(NO_PUSH)
    expect(offer).not_to_contain_text("Registration failed")
    assert page.evaluate("window.__asked") == 1
    page.get_by_test_id("notify-offer-close").click()
    expect(offer).to_be_hidden()

    page.get_by_test_id("settings-button").click()
    page.get_by_test_id("setting-notifications").click()
    expect(page.get_by_test_id("notifications-status")).to_contain_text(NO_PUSH)
    expect(page.get_by_test_id("setting-notifications")).not_to_be_checked()


def test_on_a_phone_a_message_from_a_third_person_shows_a_banner_and_a_count_on_back(people, screenshot):
    omid_page, omid = people.register("omid")
    leila_page, leila = people.register("leila")
    page, sara = people.register("sara", **PHONE)
    send_by_api(omid_page, sara, "from omid")
    open_chat_from_list(page, omid)
    back = page.get_by_test_id("back-button")
    expect(back.get_by_test_id("back-unread")).to_be_hidden()
    send_by_api(leila_page, sara, "are you there?")
    banner = page.get_by_test_id("incoming-banner")
    expect(banner).to_be_visible()
    expect(banner.get_by_test_id("incoming-name")).to_have_text(leila)
    expect(banner.get_by_test_id("incoming-text")).to_have_text("are you there?")
    expect(back.get_by_test_id("back-unread")).to_have_text("۱")
    expect(back).to_have_attribute("aria-label", re.compile("۱"))
    screenshot(page)
    send_by_api(omid_page, sara, "still here")  # the open chat: no banner for it
    expect(banner.get_by_test_id("incoming-name")).to_have_text(leila)
    banner.tap()
    expect(page.get_by_test_id("peer-name")).to_have_text(leila)
    expect(page.get_by_test_id("incoming-banner")).to_have_count(0)
    assert people.page_errors == []


def test_a_wide_screen_shows_no_banner(people):
    omid_page, omid = people.register("omid")
    leila_page, leila = people.register("leila")
    page, sara = people.register("sara", viewport={"width": 1440, "height": 900})
    send_by_api(omid_page, sara, "from omid")
    open_chat_from_list(page, omid)
    send_by_api(leila_page, sara, "hi from leila")
    row = page.locator(f'[data-testid=chat-item][data-peer="{leila}"]')
    expect(row.get_by_test_id("unread-badge")).to_be_visible()  # the list beside the chat says it
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("incoming-banner")).to_have_count(0)
