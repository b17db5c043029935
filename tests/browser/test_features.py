"""What people expect from a messenger's web app: the jump-to-bottom count, links, drafts, the
other person's profile, asking before deleting, settings, the Persian font, English times and
touch gestures on a phone."""

import re

from browser_helpers import (
    PASSWORD,
    PHONE,
    mark_read_by_api,
    message_with_text,
    messages,
    open_chat,
    open_chat_from_list,
    send,
    send_by_api,
    wait_for_service_worker,
)
from playwright.sync_api import expect


def scroll_to_top_until_hidden(page, newest) -> None:
    """Scrolls the log to its top; a late layout change (a font arriving) may pull it back once."""
    log = page.get_by_test_id("messages")
    for _ in range(20):
        log.evaluate("log => { log.scrollTop = 0; }")
        page.wait_for_timeout(150)
        if newest.evaluate("node => node.getBoundingClientRect().top > innerHeight"):
            return
    expect(newest).not_to_be_in_viewport()


def test_the_jump_to_bottom_button_counts_the_unread_messages_below(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara")
    for number in range(30):
        last = send_by_api(omid_page, sara, f"earlier {number}")
    mark_read_by_api(page, omid, last["id"])
    open_chat_from_list(page, omid)
    expect(message_with_text(page, "earlier 29")).to_be_in_viewport()
    scroll_to_top_until_hidden(page, message_with_text(page, "earlier 29"))
    button = page.get_by_test_id("to-bottom")
    expect(button).to_be_visible()
    expect(page.get_by_test_id("unread-below")).to_be_hidden()

    send_by_api(omid_page, sara, "new one")
    send_by_api(omid_page, sara, "new two")
    expect(page.get_by_test_id("unread-below")).to_have_text("۲")
    expect(button).to_have_attribute("aria-label", re.compile("۲"))
    button.click()
    expect(message_with_text(page, "new two")).to_be_in_viewport()
    expect(button).to_be_hidden()
    expect(page.get_by_test_id("unread-below")).to_be_hidden()


def test_links_open_safely_and_only_web_mail_and_phone_links_are_links(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara", **PHONE)
    long_link = "https://example.com/" + "a-very-long-path-segment/" * 8
    send_by_api(
        omid_page,
        sara,
        f"سلام، ببین {long_link} و (www.example.org/x)، mailto:hi@example.com، tel:+989121234567، javascript:alert(1)",
    )
    open_chat_from_list(page, omid)
    links = page.get_by_test_id("message-link")
    expect(links).to_have_count(4)
    hrefs = [links.nth(index).get_attribute("href") for index in range(4)]
    assert hrefs == [long_link, "https://www.example.org/x", "mailto:hi@example.com", "tel:+989121234567"]
    for index in range(4):
        expect(links.nth(index)).to_have_attribute("rel", "noopener noreferrer")
        expect(links.nth(index)).to_have_attribute("target", "_blank")
    expect(page.get_by_test_id("message-text")).to_contain_text("javascript:alert(1)")
    log = page.get_by_test_id("messages")
    assert log.evaluate("log => log.scrollWidth <= log.clientWidth"), "a long link pushes the chat sideways"
    bubble = page.locator(".msg .bubble").first.bounding_box()
    assert bubble["x"] >= 0 and bubble["x"] + bubble["width"] <= 390


def test_drafts_stay_with_their_chat_across_switching_and_reloads(people):
    _, omid = people.register("omid")
    _, leila = people.register("leila")
    page, _ = people.register("sara")
    open_chat(page, omid)
    composer = page.get_by_test_id("composer")
    composer.press_sequentially("half a thought for omid")
    open_chat(page, leila)
    expect(composer).to_have_value("")
    composer.press_sequentially("for leila")
    page.evaluate(f"location.hash = '#/chat/{omid}'")
    expect(page.get_by_test_id("peer-name")).to_have_text(omid)
    expect(composer).to_have_value("half a thought for omid")
    leila_item = page.locator(f'[data-testid=chat-item][data-peer="{leila}"]')
    expect(leila_item.get_by_test_id("chat-preview")).to_have_text("پیش‌نویس: for leila")
    page.wait_for_timeout(400)
    page.reload()
    expect(composer).to_have_value("half a thought for omid")
    page.evaluate(f"location.hash = '#/chat/{leila}'")
    expect(composer).to_have_value("for leila")
    composer.press("Enter")
    expect(messages(page)).to_have_count(1)
    page.reload()
    expect(composer).to_have_value("")  # sent: the draft is gone


def test_the_chat_header_opens_the_other_persons_profile(people):
    omid_page, omid = people.register("omid")
    omid_page.get_by_test_id("settings-button").click()
    omid_page.locator("textarea[name=bio]").fill("Tea, books and Tabriz")
    omid_page.get_by_test_id("settings-save").click()
    expect(omid_page.get_by_test_id("settings-status")).not_to_be_empty()
    page, _ = people.register("sara", **PHONE)
    open_chat(page, omid)
    page.get_by_test_id("peer-button").click()
    sheet = page.get_by_test_id("peer-sheet")
    expect(sheet).to_be_visible()
    expect(sheet.get_by_test_id("sheet-name")).to_have_text(omid)
    expect(sheet.get_by_test_id("sheet-username")).to_have_text(f"@{omid}")
    expect(sheet.get_by_test_id("sheet-bio")).to_have_text("Tea, books and Tabriz")
    expect(sheet.get_by_test_id("sheet-last-seen")).not_to_be_empty()
    expect(sheet.get_by_test_id("sheet-link")).to_have_attribute("href", re.compile(f"/u/{omid}$"))
    sheet.get_by_test_id("sheet-search").click()
    expect(sheet).to_be_hidden()
    expect(page.get_by_test_id("chat-search-input")).to_be_focused()


def test_delete_asks_first_and_can_be_cancelled(people):
    _, omid = people.register("omid")
    page, _ = people.register("sara")
    open_chat(page, omid)
    send(page, "mine to delete")
    mine = message_with_text(page, "mine to delete")
    expect(mine).to_have_attribute("data-status", "sent")
    dialog = page.get_by_test_id("confirm-dialog")
    mine.hover()
    mine.get_by_test_id("message-actions").click()
    page.locator("[data-action=delete]").click()
    expect(dialog.get_by_test_id("confirm-both")).to_be_visible()
    dialog.get_by_test_id("confirm-cancel").click()
    expect(dialog).to_have_count(0)
    expect(mine).to_have_attribute("data-deleted", "false")  # cancelled: nothing happened
    mine.hover()
    mine.get_by_test_id("message-actions").click()
    page.locator("[data-action=delete]").click()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(mine).to_have_attribute("data-deleted", "false")
    mine.hover()
    mine.get_by_test_id("message-actions").click()
    page.locator("[data-action=delete]").click()
    dialog.get_by_test_id("confirm-both").click()
    expect(messages(page).first).to_have_attribute("data-deleted", "true")


def test_settings_change_the_password_and_the_text_size(people):
    page, sara = people.register("sara")
    page.get_by_test_id("settings-button").click()
    page.locator("input[name=current_password]").fill("not the password")
    page.locator("input[name=new_password]").fill("a brand new secret")
    page.get_by_test_id("password-save").click()
    expect(page.get_by_test_id("error-current_password")).not_to_be_empty()
    page.locator("input[name=current_password]").fill(PASSWORD)
    page.get_by_test_id("password-save").click()
    expect(page.get_by_test_id("password-status")).not_to_be_empty()
    expect(page.get_by_test_id("error-current_password")).to_be_empty()

    size = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    page.get_by_test_id("text_size-large").check()
    larger = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    assert larger > size
    page.reload()
    assert page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)") == larger

    other = people.open()
    other.goto("/")
    other.locator("input[name=username]").fill(sara)
    other.locator("input[name=password]").fill("a brand new secret")
    other.get_by_test_id("auth-submit").click()
    expect(other.get_by_test_id("search-input")).to_be_visible()


def test_persian_text_uses_the_bundled_vazirmatn_font_even_offline(people):
    page, _ = people.register("sara")
    wait_for_service_worker(page)
    page.wait_for_function("() => document.fonts.check('16px Vazirmatn', 'سلام')")
    assert page.evaluate(
        "() => [...document.fonts].some((font) => font.family.includes('Vazirmatn') && font.status === 'loaded')"
    )
    cached = page.evaluate(
        """async () => {
            const names = await caches.keys();
            const found = [];
            for (const name of names) {
                for (const request of await (await caches.open(name)).keys()) found.push(new URL(request.url).pathname);
            }
            return found;
        }"""
    )
    assert "/fonts/Vazirmatn-Regular.woff2" in cached and "/fonts/Vazirmatn-Bold.woff2" in cached
    assert page.request.get("/fonts/OFL.txt").ok


def test_english_times_have_no_leading_zero(people):
    page = people.open()
    page.goto("/")
    page.get_by_test_id("lang-toggle").click()
    times = page.evaluate(
        """async () => {
            const { formatTime } = await import('/ui/format.js');
            const at = (hour, minute) => formatTime(new Date(2026, 0, 5, hour, minute).toISOString());
            return [at(5, 14), at(17, 4)];
        }"""
    )
    assert times == ["5:14 AM", "5:04 PM"]


def touch(cdp, kind: str, x: float, y: float) -> None:
    points = [] if kind == "touchEnd" else [{"x": x, "y": y}]
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})


def test_on_a_phone_bubbles_have_no_menu_button_but_long_press_and_swipe_to_reply(people, screenshot):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara", **PHONE)
    assert "interactive-widget=resizes-content" in page.locator("meta[name=viewport]").get_attribute("content")
    send_by_api(omid_page, sara, "long press me")
    send_by_api(omid_page, sara, "swipe me")
    open_chat_from_list(page, omid)
    bubble = message_with_text(page, "long press me")
    expect(bubble).to_be_in_viewport()
    page.wait_for_timeout(300)  # the chat settles where it opens before the finger lands
    button = bubble.get_by_test_id("message-actions").bounding_box()
    assert button["width"] <= 1 and button["height"] <= 1, "a ⋮ button shows on every bubble"

    cdp = page.context.new_cdp_session(page)
    box = bubble.locator(".bubble").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    touch(cdp, "touchStart", x, y)
    page.wait_for_timeout(700)
    touch(cdp, "touchEnd", x, y)
    expect(page.get_by_test_id("message-menu")).to_be_visible()
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("message-menu")).to_be_visible()  # the finger lifting does not close it
    screenshot(page, "long-press")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("message-menu")).to_have_count(0)

    expect(message_with_text(page, "swipe me")).to_be_in_viewport()
    box = message_with_text(page, "swipe me").locator(".bubble").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    touch(cdp, "touchStart", x, y)
    for step in range(1, 9):  # toward the start of the line: rightward in Persian
        touch(cdp, "touchMove", x + step * 12, y)
    touch(cdp, "touchEnd", x + 96, y)
    expect(page.get_by_test_id("composer-context")).to_contain_text("swipe me")


def test_in_english_on_a_phone_swiping_left_replies(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara", **PHONE)
    page.get_by_test_id("settings-button").click()
    page.get_by_test_id("lang-toggle").click()
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.get_by_test_id("password-save")).to_have_text("Change password")
    send_by_api(omid_page, sara, "swipe me left")
    page.evaluate(f"location.hash = '#/chat/{omid}'")
    expect(message_with_text(page, "swipe me left")).to_be_in_viewport()
    page.wait_for_timeout(300)  # the chat settles where it opens before the finger lands
    box = message_with_text(page, "swipe me left").locator(".bubble").bounding_box()
    x, y = box["x"] + box["width"] - 4, box["y"] + box["height"] / 2  # room to move left on screen
    assert x > 100
    cdp = page.context.new_cdp_session(page)
    touch(cdp, "touchStart", x, y)
    for step in range(1, 9):
        touch(cdp, "touchMove", x - step * 12, y)
    touch(cdp, "touchEnd", x - 96, y)
    expect(page.get_by_test_id("composer-context")).to_contain_text("Reply to")
    expect(page.get_by_test_id("composer-context")).to_contain_text("swipe me left")


def test_sending_while_reading_history_brings_you_to_your_message(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara")
    for number in range(30):
        last = send_by_api(omid_page, sara, f"history {number}")
    mark_read_by_api(page, omid, last["id"])
    open_chat_from_list(page, omid)
    expect(message_with_text(page, "history 29")).to_be_in_viewport()  # the chat has settled
    scroll_to_top_until_hidden(page, message_with_text(page, "history 29"))
    send(page, "my own words")
    expect(message_with_text(page, "my own words")).to_be_in_viewport()
