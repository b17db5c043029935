"""Two people chatting live: delivery and read marks, typing, edit and delete."""

from browser_helpers import message_with_text, messages, open_chat, send, send_by_api
from playwright.sync_api import expect


def test_two_people_chat_live_with_marks_typing_edit_and_delete(people, screenshot):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    omid_page.goto("about:blank")  # omid is away: the message can only be stored, not delivered

    open_chat(sara_page, omid)
    send(sara_page, "سلام! how are you?")
    first = message_with_text(sara_page, "سلام! how are you?")
    expect(first).to_have_attribute("data-status", "sent")
    expect(first.get_by_test_id("message-text")).to_have_attribute("dir", "auto")

    omid_page.goto("/")  # omid comes back: his app receives the message and reports delivery
    chat = omid_page.locator(f'[data-testid=chat-item][data-peer="{sara}"]')
    expect(chat.get_by_test_id("chat-preview")).to_contain_text("سلام! how are you?")
    expect(chat.get_by_test_id("unread-badge")).to_have_text("۱")
    expect(omid_page).to_have_title("(۱) پیام‌بر")
    expect(first).to_have_attribute("data-status", "delivered")

    chat.click()
    expect(message_with_text(omid_page, "سلام! how are you?")).to_be_visible()
    expect(first).to_have_attribute("data-status", "read")
    expect(chat.get_by_test_id("unread-badge")).to_have_count(0)
    expect(omid_page).to_have_title("پیام‌بر")

    send(sara_page, "second one, live")
    expect(message_with_text(omid_page, "second one, live")).to_be_visible()
    expect(message_with_text(sara_page, "second one, live")).to_have_attribute("data-status", "read")

    send_by_api(omid_page, sara, "👋")  # typing shows between people who have both written
    expect(message_with_text(sara_page, "👋")).to_be_visible()
    omid_page.get_by_test_id("composer").press_sequentially("I am typ", delay=20)
    expect(sara_page.get_by_test_id("peer-status")).to_have_attribute("data-kind", "typing")
    omid_page.get_by_test_id("composer").fill("")
    send(omid_page, "خوبم، ممنون")
    expect(message_with_text(sara_page, "خوبم، ممنون")).to_be_visible()
    expect(sara_page.get_by_test_id("peer-status")).not_to_have_attribute("data-kind", "typing")

    composer = sara_page.get_by_test_id("composer")
    composer.press("ArrowUp")  # the up arrow edits the last own message, as in Telegram
    expect(composer).to_have_value("second one, live")
    composer.press("Escape")
    expect(composer).to_have_value("")

    second = message_with_text(sara_page, "second one, live")
    second.hover()
    second.get_by_test_id("message-actions").click()
    sara_page.get_by_role("menuitem").and_(sara_page.locator("[data-action=edit]")).click()
    expect(composer).to_have_value("second one, live")
    composer.fill("second one, edited")
    composer.press("Enter")
    for page in (sara_page, omid_page):
        edited = message_with_text(page, "second one, edited")
        expect(edited).to_be_visible()
        expect(edited.get_by_test_id("edited")).to_be_visible()
        expect(message_with_text(page, "second one, live")).to_have_count(0)

    first.hover()
    first.get_by_test_id("message-actions").click()
    sara_page.locator("[data-action=delete]").click()
    sara_page.get_by_test_id("confirm-both").click()  # delete asks first: for me, or for both
    for page in (sara_page, omid_page):
        expect(messages(page).first).to_have_attribute("data-deleted", "true")
        expect(message_with_text(page, "سلام! how are you?")).to_have_count(0)
    expect(messages(omid_page)).to_have_count(4)

    screenshot(omid_page, "receiver")
    screenshot(sara_page)
