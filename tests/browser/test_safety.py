"""User text is shown as text: markup in a message is never parsed or run."""

from browser_helpers import message_with_text, open_chat, send
from playwright.sync_api import expect

PAYLOAD = "<img src=x onerror=alert(1)>"


def test_markup_in_a_message_is_shown_as_text_and_runs_nothing(people, screenshot):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    dialogs = []
    for page in (omid_page, sara_page):
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    open_chat(sara_page, omid)
    send(sara_page, PAYLOAD)
    omid_page.locator(f'[data-testid=chat-item][data-peer="{sara}"]').click()
    for page in (sara_page, omid_page):
        expect(message_with_text(page, PAYLOAD)).to_be_visible()
        expect(page.get_by_test_id("messages").locator("img")).to_have_count(0)
        expect(page.locator("[data-testid=chat-list] img")).to_have_count(0)
    expect(omid_page.get_by_test_id("chat-preview")).to_have_text(PAYLOAD)
    omid_page.wait_for_load_state("networkidle")
    assert dialogs == []
    screenshot(omid_page)


def test_a_bidi_override_in_a_message_cannot_turn_the_line_around(people):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    open_chat(sara_page, omid)
    send(sara_page, "invoice\u202efdp.exe")
    omid_page.locator(f'[data-testid=chat-item][data-peer="{sara}"]').click()
    for page in (sara_page, omid_page):
        shown = page.get_by_test_id("messages").get_by_test_id("message-text").last
        expect(shown).to_have_text("invoicefdp.exe")  # shown without the override, in its own order
    expect(omid_page.get_by_test_id("chat-preview")).to_have_text("invoicefdp.exe")
