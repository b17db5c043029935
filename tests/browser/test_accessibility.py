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
