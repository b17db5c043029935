"""Persian first, English on request; one panel with back navigation on a phone."""

from browser_helpers import open_chat, register, send, unique_name
from playwright.sync_api import expect

PHONE = {"width": 390, "height": 844}


def test_persian_is_the_default_and_english_switches_to_left_to_right(people, screenshot):
    page = people.open()
    page.goto("/")
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "fa")
    expect(page.get_by_role("heading", level=1)).to_have_text("ورود")

    page.get_by_test_id("lang-toggle").click()
    expect(html).to_have_attribute("dir", "ltr")
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")

    register(page, unique_name("eve"))
    expect(page.get_by_test_id("search-input")).to_have_attribute("placeholder", "Search people and messages")
    page.reload()
    expect(html).to_have_attribute("dir", "ltr")
    page.get_by_test_id("settings-button").click()
    page.get_by_test_id("lang-toggle").click()
    expect(html).to_have_attribute("dir", "rtl")
    expect(page.get_by_test_id("logout")).to_have_text("خروج از حساب")
    screenshot(page)


def test_phone_shows_one_panel_at_a_time_with_back_navigation(people, screenshot):
    _, omid = people.register("omid")
    page, _ = people.register("sara", viewport=PHONE)
    sidebar, main = page.locator(".sidebar"), page.locator(".main")
    expect(sidebar).to_be_visible()
    expect(main).to_be_hidden()

    open_chat(page, omid)
    expect(main).to_be_visible()
    expect(sidebar).to_be_hidden()
    send(page, "سلام از گوشی")
    composer = page.get_by_test_id("composer").bounding_box()
    assert composer["x"] >= 0 and composer["x"] + composer["width"] <= PHONE["width"]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "chat")

    page.get_by_test_id("back-button").click()
    expect(sidebar).to_be_visible()
    expect(main).to_be_hidden()
    page.locator(f'[data-testid=chat-item][data-peer="{omid}"]').click()
    expect(main).to_be_visible()
    page.go_back()
    expect(sidebar).to_be_visible()
    expect(main).to_be_hidden()
    screenshot(page)


def test_dark_theme_follows_the_system_and_shift_enter_breaks_the_line(people, screenshot):
    _, omid = people.register("omid")
    page, _ = people.register("sara")
    light = page.evaluate("() => getComputedStyle(document.querySelector('.sidebar')).backgroundColor")
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate("() => getComputedStyle(document.querySelector('.sidebar')).backgroundColor")
    assert light != dark

    open_chat(page, omid)
    composer = page.get_by_test_id("composer")
    composer.press_sequentially("first line")
    composer.press("Shift+Enter")
    composer.press_sequentially("second line")
    expect(composer).to_have_value("first line\nsecond line")
    composer.press("Enter")
    expect(page.get_by_test_id("message-text")).to_have_text("first line\nsecond line")
    expect(composer).to_have_value("")
    expect(page.get_by_test_id("message")).to_have_attribute("data-status", "delivered")  # drawn for the last time
    mine = page.get_by_test_id("message").bounding_box()
    log = page.get_by_test_id("messages").bounding_box()
    assert mine["x"] < log["x"] + log["width"] / 2, "in Persian my bubbles sit on the left (the inline end)"
    screenshot(page)
