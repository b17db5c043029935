"""Everyday details a person meets in a day of use: the phone keyboard, replies to old messages,
edits, reading a long unread backlog, long pastes, logging out with unsent messages, the date pill
and the receipt marks."""

import math
import re
import time

from browser_helpers import (
    PHONE,
    history_as_read,
    mark_read_by_api,
    message_with_text,
    messages,
    open_chat,
    open_chat_from_list,
    send,
    send_by_api,
)
from playwright.sync_api import expect


def wait_until(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def statuses_by_api(page, peer: str) -> dict[str, str]:
    """The status of each message in the chat with `peer`, as the server tells the person on `page`
    (each text as that person's device opens it)."""
    return {message["text"]: message["status"] for message in history_as_read(page, peer)}


def test_on_a_touch_screen_enter_breaks_the_line_and_the_send_button_sends(people):
    _, omid = people.register("omid")
    page, _ = people.register("sara", **PHONE)
    open_chat(page, omid)
    composer = page.get_by_test_id("composer")
    composer.tap()
    composer.press_sequentially("first line")
    composer.press("Enter")
    composer.press_sequentially("second line")
    expect(composer).to_have_value("first line\nsecond line")
    expect(messages(page)).to_have_count(0)
    page.get_by_test_id("send-button").tap()
    expect(page.get_by_test_id("message-text")).to_have_text("first line\nsecond line")
    expect(composer).to_have_value("")


def test_a_reply_to_a_message_not_loaded_shows_its_author_and_text_and_jumps_to_it(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara")
    question = send_by_api(omid_page, sara, "the old question")
    for number in range(130):
        last = send_by_api(omid_page, sara, f"filler {number}")
    send_by_api(page, omid, "the answer", reply_to=question["id"])
    mark_read_by_api(page, omid, last["id"])  # all read: the chat opens at the bottom
    chat = page.locator(f'[data-testid=chat-item][data-peer="{omid}"]')
    expect(chat.get_by_test_id("unread-badge")).to_have_count(0)  # the read has reached this device
    page.wait_for_timeout(1000)  # and its cache (the chat list and the cursor are saved a moment later)
    page.reload()  # only the newest page is loaded (a new device would read nothing sent before it joined)

    open_chat_from_list(page, omid)
    answer = message_with_text(page, "the answer")
    quote = answer.get_by_test_id("reply-quote")
    expect(quote.locator(".reply-text")).to_have_text("the old question")
    expect(quote.locator(".reply-author")).to_have_text(omid)
    expect(message_with_text(page, "the old question")).to_have_count(0)  # more than a page back

    quote.click()
    original = message_with_text(page, "the old question")
    expect(original).to_be_in_viewport()
    expect(original).to_have_class(re.compile(r"\bhighlight\b"))
    expect(message_with_text(page, "filler 0")).to_be_attached()  # its context came with it


def test_editing_a_message_does_not_show_typing_to_the_other_side(people):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    open_chat(sara_page, omid)
    send(sara_page, "see you at five")
    expect(message_with_text(sara_page, "see you at five")).to_have_attribute(
        "data-status", re.compile("sent|delivered")
    )
    sara_page.reload()  # forgets when it last said "typing", as an hour later would
    open_chat_from_list(omid_page, sara)
    expect(message_with_text(omid_page, "see you at five")).to_be_visible()
    omid_page.evaluate(
        """() => {
            window.sawTyping = false;
            const status = document.querySelector('[data-testid=peer-status]');
            new MutationObserver(() => { if (status.dataset.kind === 'typing') window.sawTyping = true; })
                .observe(status, { attributes: true, childList: true, subtree: true });
        }"""
    )
    composer = sara_page.get_by_test_id("composer")
    composer.press("ArrowUp")
    expect(composer).to_have_value("see you at five")
    composer.press_sequentially(" thirty", delay=30)
    composer.press("Enter")
    expect(message_with_text(omid_page, "see you at five thirty")).to_be_visible()
    omid_page.wait_for_timeout(700)  # a typing frame would have come before the edit
    assert omid_page.evaluate("window.sawTyping") is False


def test_a_chat_opens_at_the_first_unread_and_only_what_was_seen_is_read(people, screenshot):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara")
    send_by_api(omid_page, sara, "read before")
    open_chat_from_list(page, omid)
    expect(message_with_text(page, "read before")).to_be_visible()
    assert wait_until(lambda: statuses_by_api(omid_page, sara)["read before"] == "read")
    page.evaluate("location.hash = '#/'")

    for number in range(70):
        send_by_api(omid_page, sara, f"unread {number}")
    chat = page.locator(f'[data-testid=chat-item][data-peer="{omid}"]')
    expect(chat.get_by_test_id("unread-badge")).to_have_text("۷۰")
    chat.click()

    divider = page.get_by_test_id("unread-divider")
    expect(divider).to_be_in_viewport()
    expect(message_with_text(page, "unread 0")).to_be_in_viewport()
    expect(message_with_text(page, "unread 69")).not_to_be_in_viewport()
    assert wait_until(lambda: statuses_by_api(omid_page, sara)["unread 0"] == "read")
    statuses = statuses_by_api(omid_page, sara)
    assert statuses["unread 69"] != "read", "a message never on screen was marked read"
    expect(chat.get_by_test_id("unread-badge")).not_to_have_text("۷۰")
    screenshot(page, "first-unread")

    log = page.get_by_test_id("messages")
    log.evaluate("log => { log.scrollTop = log.scrollHeight; }")
    assert wait_until(lambda: statuses_by_api(omid_page, sara)["unread 69"] == "read")
    expect(chat.get_by_test_id("unread-badge")).to_have_count(0)

    log.evaluate("log => { log.scrollTop = 0; }")
    send_by_api(omid_page, sara, "while scrolled up")
    expect(message_with_text(page, "while scrolled up")).to_be_attached()
    page.wait_for_timeout(700)
    assert statuses_by_api(omid_page, sara)["while scrolled up"] != "read"
    log.evaluate("log => { log.scrollTop = log.scrollHeight; }")
    assert wait_until(lambda: statuses_by_api(omid_page, sara)["while scrolled up"] == "read")


def test_pasting_more_than_the_limit_shows_too_long_instead_of_cutting_it(people):
    _, omid = people.register("omid")
    page, _ = people.register("sara")
    open_chat(page, omid)
    composer = page.get_by_test_id("composer")
    composer.focus()
    page.keyboard.insert_text("ب" * 5000)
    assert composer.evaluate("input => input.value.length") == 5000
    error = page.get_by_test_id("composer-error")
    expect(error).to_have_text(re.compile("بلند"))
    composer.press("Enter")
    page.get_by_test_id("send-button").click()
    expect(messages(page)).to_have_count(0)
    composer.fill("ب" * 4096)
    expect(error).to_be_hidden()
    composer.press("Enter")
    expect(messages(page)).to_have_count(1)


def test_logging_out_with_unsent_messages_warns_and_can_be_cancelled(people):
    _, omid = people.register("omid")
    page, _ = people.register("sara")
    open_chat(page, omid)
    page.context.set_offline(True)
    send(page, "still in the outbox")
    pending = message_with_text(page, "still in the outbox")
    expect(pending).to_have_attribute("data-status", "pending")

    page.evaluate("location.hash = '#/settings'")
    page.get_by_test_id("logout").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("۱")
    dialog.get_by_test_id("confirm-cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("logout")).to_be_visible()

    page.context.set_offline(False)
    page.evaluate(f"location.hash = '#/chat/{omid}'")
    expect(pending).to_have_attribute("data-status", re.compile("sent|delivered"))
    page.evaluate("location.hash = '#/settings'")
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("auth-submit")).to_be_visible()


def test_the_date_pill_never_covers_message_text(people, screenshot):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara", color_scheme="dark", **PHONE)
    for number in range(40):
        send_by_api(omid_page, sara, f"line {number} " + "word " * (number % 7))
    page.locator(f'[data-testid=chat-item][data-peer="{omid}"]').click()
    expect(messages(page)).to_have_count(40)
    log = page.get_by_test_id("messages")
    height = log.evaluate("log => log.scrollHeight - log.clientHeight")
    for step in range(12):
        log.evaluate("(log, top) => { log.scrollTop = top; }", int(height * step / 12))
        page.wait_for_timeout(50)
        overlaps = page.evaluate(
            """() => {
                const pills = [...document.querySelectorAll('.day-separator span, [data-testid=day-pill]')]
                    .filter((pill) => !pill.closest('.visually-hidden'))  // read out only, never drawn
                    .map((pill) => pill.getBoundingClientRect()).filter((rect) => rect.height > 0);
                const log = document.querySelector('[data-testid=messages]').getBoundingClientRect();
                const texts = [...document.querySelectorAll('[data-testid=message-text]')]
                    .map((text) => text.getBoundingClientRect())
                    .filter((text) => text.bottom > log.top && text.top < log.bottom)  // scrolled out is hidden
                    .map((text) => ({ left: text.left, right: text.right,
                                      top: Math.max(text.top, log.top), bottom: Math.min(text.bottom, log.bottom) }));
                const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
                return pills.flatMap((pill) => texts.filter((text) => meet(text, pill))).length;
            }"""
        )
        assert overlaps == 0, f"the date pill covers message text at step {step}"
    expect(page.get_by_test_id("day-pill")).to_be_visible()
    screenshot(page)


def _rgb(css: str) -> tuple[float, float, float]:
    return tuple(float(part) for part in re.findall(r"[\d.]+", css)[:3])


def _luminance(rgb) -> float:
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _contrast(first, second) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _lab(rgb):
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in rgb)
    x = (0.4124 * red + 0.3576 * green + 0.1805 * blue) / 0.95047
    y = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    z = (0.0193 * red + 0.1192 * green + 0.9505 * blue) / 1.08883

    def f(value):
        return value ** (1 / 3) if value > 0.008856 else 7.787 * value + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def test_delivered_and_read_marks_are_clearly_different_in_light_and_dark(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara")
    open_chat(page, omid)
    send(page, "this one gets read")
    open_chat_from_list(omid_page, sara)
    expect(message_with_text(page, "this one gets read")).to_have_attribute("data-status", "read")
    omid_page.evaluate("location.hash = '#/'")
    send(page, "this one is only delivered")
    expect(message_with_text(page, "this one is only delivered")).to_have_attribute("data-status", "delivered")

    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        colours = page.evaluate(
            """() => {
                const colour = (selector) => getComputedStyle(document.querySelector(selector)).color;
                return {
                    delivered: colour('.msg.mine .status-delivered'),
                    read: colour('.msg.mine .status-read'),
                    bubble: getComputedStyle(document.querySelector('.msg.mine .bubble')).backgroundColor,
                };
            }"""
        )
        delivered, read, bubble = (_rgb(colours[name]) for name in ("delivered", "read", "bubble"))
        difference = math.dist(_lab(delivered), _lab(read))
        assert difference >= 40, f"{scheme}: delivered and read differ by only ΔE {difference:.0f}"
        assert _contrast(delivered, bubble) >= 3, f"{scheme}: delivered mark too faint"
        assert _contrast(read, bubble) >= 3, f"{scheme}: read mark too faint"
