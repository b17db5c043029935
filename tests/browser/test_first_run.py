"""A first run: the first screen offers signing up as a button of its own, and an empty chat list
has a "new chat" button that leads to finding someone."""

from browser_helpers import open_chat, send
from playwright.sync_api import expect


def test_the_first_screen_offers_sign_up_as_a_button_reached_by_keyboard(people):
    page = people.open()
    page.goto("/")
    sign_up = page.get_by_role("button", name="حساب ندارید؟ ثبت‌نام کنید")
    expect(sign_up).to_be_visible()
    assert sign_up.bounding_box()["width"] >= page.get_by_test_id("auth-submit").bounding_box()["width"] - 1
    page.get_by_test_id("auth-submit").focus()
    page.keyboard.press("Tab")
    expect(sign_up).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#auth-title")).to_have_text("ثبت‌نام")
    page.get_by_test_id("lang-toggle").click()
    page.get_by_test_id("auth-switch").click()
    expect(page.get_by_role("button", name="No account? Sign up")).to_be_visible()


def test_an_empty_chat_list_has_a_new_chat_button_that_opens_search(people):
    omid_page, omid = people.register("omid")
    page, _ = people.register("sara")
    new_chat = page.get_by_test_id("new-chat")
    expect(new_chat).to_have_text("گفتگوی تازه")
    new_chat.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("search-input")).to_be_focused()
    open_chat(page, omid)
    send(page, "salam")
    page.evaluate("location.hash = '#/'")
    expect(page.locator(f'[data-testid=chat-item][data-peer="{omid}"]')).to_be_visible()
    expect(new_chat).to_be_hidden()
