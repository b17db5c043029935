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


def test_selection_emoji_message_info_and_offers_have_no_violations_in_light_and_dark(people, screenshot):
    from browser_helpers import PHONE, message_with_text, open_chat_from_list, send_by_api

    omid_page, omid = people.register("omid")
    leila_page, _ = people.register("leila")
    for scheme, options in (("light", {"viewport": {"width": 1440, "height": 900}}), ("dark", PHONE)):
        page, sara = people.register("sara", color_scheme=scheme, **options)
        expect(page.get_by_test_id("notify-offer")).to_be_visible()
        send_by_api(omid_page, sara, "first")
        open_chat_from_list(page, omid)
        page.get_by_test_id("composer").fill("mine")
        page.get_by_test_id("send-button").click()
        expect(message_with_text(page, "mine")).not_to_have_attribute("data-status", "pending")
        assert serious_violations(page) == [], scheme  # the offer bar, the emoji and microphone buttons

        page.get_by_test_id("emoji-button").click()
        expect(page.get_by_test_id("emoji-panel")).to_be_visible()
        assert serious_violations(page) == [], scheme
        page.keyboard.press("Escape")

        actions = message_with_text(page, "mine").get_by_test_id("message-actions")
        actions.focus()
        page.keyboard.press("Enter")
        page.locator("[data-action=info]").click()
        expect(page.get_by_test_id("message-info")).to_be_visible()
        assert serious_violations(page) == [], scheme
        page.get_by_test_id("message-info-close").click()

        actions.focus()
        page.keyboard.press("Enter")
        page.locator("[data-action=select]").click()
        message_with_text(page, "first").click()
        expect(page.get_by_test_id("selection-bar")).to_be_visible()
        assert serious_violations(page) == [], scheme
        screenshot(page, f"selection-{scheme}")
        page.get_by_test_id("selection-cancel").click()

        if scheme == "dark":
            send_by_api(leila_page, sara, "a third person")
            expect(page.get_by_test_id("incoming-banner")).to_be_visible()
            expect(page.get_by_test_id("back-unread")).to_be_visible()
            assert serious_violations(page) == [], scheme

        page.evaluate("location.hash = '#/settings'")
        page.get_by_test_id("delete-account").click()
        expect(page.get_by_test_id("delete-dialog")).to_be_visible()
        assert serious_violations(page) == [], scheme
        page.get_by_test_id("delete-cancel").click()
        assert serious_violations(page) == [], scheme
