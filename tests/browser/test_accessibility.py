"""axe-core finds no serious or critical problem on the login, chat list and conversation screens."""

from axe_playwright_python.sync_playwright import Axe
from browser_helpers import open_chat, send
from playwright.sync_api import expect

axe = Axe()


def serious_violations(page) -> list[str]:
    results = axe.run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def test_login_chat_list_and_conversation_have_no_serious_accessibility_violations(people, screenshot):
    login = people.open()
    login.goto("/")
    expect(login.get_by_test_id("auth-submit")).to_be_visible()
    assert serious_violations(login) == []
    screenshot(login, "login")

    omid_page, omid = people.register("omid")
    page, sara = people.register("sara")
    open_chat(page, omid)
    send(page, "سلام، this is a mixed message")
    omid_page.locator(f'[data-testid=chat-item][data-peer="{sara}"]').click()
    send(omid_page, "a reply")
    expect(page.get_by_test_id("message")).to_have_count(2)
    assert serious_violations(page) == []
    screenshot(page, "conversation")

    page.goto("/#/")
    expect(page.get_by_test_id("chat-item")).to_have_count(1)
    assert serious_violations(page) == []
    screenshot(page)

    page.get_by_test_id("settings-button").click()
    expect(page.get_by_test_id("logout")).to_be_visible()
    assert serious_violations(page) == []
    page.goto(f"/u/{omid}")
    expect(page.get_by_test_id("profile-send")).to_be_visible()
    assert serious_violations(page) == []


def test_new_screens_have_no_serious_accessibility_violations_in_dark_on_a_phone(people, screenshot):
    from browser_helpers import PHONE, message_with_text, send_by_api

    omid_page, omid = people.register("omid")
    page, sara = people.register("sara", color_scheme="dark", **PHONE)
    for text in ("read this https://example.com/page", "and this one"):
        send_by_api(omid_page, sara, text)
    page.locator(f'[data-testid=chat-item][data-peer="{omid}"]').click()
    page.get_by_test_id("composer").fill("an answer")
    page.get_by_test_id("send-button").click()  # on a touch screen Enter breaks the line
    expect(message_with_text(page, "an answer")).to_have_attribute("data-status", "delivered")
    page.get_by_test_id("chat-search-button").click()
    page.get_by_test_id("chat-search-input").fill("this")
    expect(page.get_by_test_id("chat-search-hit")).to_have_count(2)
    assert serious_violations(page) == []
    screenshot(page, "search")

    page.get_by_test_id("chat-search-close").click()
    page.get_by_test_id("peer-button").click()
    expect(page.get_by_test_id("peer-sheet")).to_be_visible()
    assert serious_violations(page) == []
    screenshot(page, "sheet")
    page.get_by_test_id("sheet-close").click()

    message_with_text(page, "an answer").get_by_test_id("message-actions").focus()
    page.keyboard.press("Enter")
    page.locator("[data-action=delete]").click()
    expect(page.get_by_test_id("confirm-dialog")).to_be_visible()
    assert serious_violations(page) == []
    screenshot(page, "delete")
    page.get_by_test_id("confirm-cancel").click()

    page.evaluate("location.hash = '#/settings'")
    expect(page.get_by_test_id("password-save")).to_be_visible()
    assert serious_violations(page) == []
    page.emulate_media(color_scheme="light")
    assert serious_violations(page) == []
    screenshot(page, "settings")
