"""The chat menu (pin, mute, archive, mark unread) on two devices of one person, and Saved Messages."""

from browser_helpers import PHONE, link_device, log_in, message_with_text, open_chat_from_list, send, send_by_api
from playwright.sync_api import expect


def chat_row(page, username):
    return page.locator(f'[data-testid=chat-item][data-peer="{username}"]')


def choose(page, value):
    page.get_by_test_id("confirm-dialog").get_by_test_id(f"confirm-{value}").click()


def test_pin_mute_archive_and_mark_unread_follow_the_person_to_their_other_device(people):
    omid_page, omid = people.register("omid")
    leila_page, leila = people.register("leila")
    page, sara = people.register("sara")
    send_by_api(omid_page, sara, "from omid")
    send_by_api(leila_page, sara, "from leila")  # leila the most recent
    other_device = people.open()
    other_device.goto("/")
    log_in(other_device, sara)
    rows = "[data-testid=chat-item]:not([data-saved])"
    for device in (page, other_device):
        expect(device.locator(rows).first).to_have_attribute("data-peer", leila)

    page.locator(f'[data-testid=chat-menu-button][data-peer="{omid}"]').click()  # the row's menu button
    choose(page, "pin")
    for device in (page, other_device):
        expect(device.locator(rows).first).to_have_attribute("data-peer", omid)
        expect(chat_row(device, omid).get_by_test_id("pinned-mark")).to_be_visible()

    chat_row(page, leila).click(button="right")  # right click opens the same menu
    choose(page, "mute")
    choose(page, "8h")
    for device in (page, other_device):
        badge = chat_row(device, leila).get_by_test_id("unread-badge")
        expect(badge).to_have_class("badge muted")
        expect(chat_row(device, leila).get_by_test_id("muted-mark")).to_be_visible()
    expect(chat_row(page, omid).get_by_test_id("unread-badge")).to_have_class("badge")

    chat_row(page, leila).click(button="right")
    choose(page, "archive")
    for device in (page, other_device):
        expect(chat_row(device, leila)).to_have_count(0)
        device.get_by_test_id("archived-entry").click()
        expect(chat_row(device, leila)).to_be_visible()
        expect(chat_row(device, omid)).to_have_count(0)
        device.get_by_test_id("archived-entry").click()
        expect(chat_row(device, omid)).to_be_visible()

    open_chat_from_list(page, omid)  # reads it
    expect(chat_row(other_device, omid).get_by_test_id("unread-badge")).to_have_count(0)
    menu = page.locator(f'[data-testid=chat-menu-button][data-peer="{omid}"]')
    menu.focus()
    page.keyboard.press("Enter")  # keyboard reachable
    choose(page, "unread")
    for device in (page, other_device):
        expect(chat_row(device, omid).get_by_test_id("marked-unread-badge")).to_be_visible()
    chat_row(other_device, omid).click()  # opening the chat ends the mark on every device
    for device in (page, other_device):
        expect(chat_row(device, omid).get_by_test_id("marked-unread-badge")).to_have_count(0)
    other_device.reload()
    expect(other_device.locator(rows).first).to_have_attribute("data-peer", omid)
    assert people.page_errors == []


def test_a_long_press_opens_the_chat_menu_on_a_phone(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara", **PHONE)
    send_by_api(omid_page, sara, "hello")
    row = chat_row(page, omid)
    expect(row).to_be_visible()
    # The list may redraw its rows while it settles: press the row as it is at that moment.
    page.evaluate(
        """(name) => {
          const row = document.querySelector(`[data-testid=chat-item][data-peer="${name}"]`);
          const box = row.getBoundingClientRect();
          const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
          const target = document.elementFromPoint(x, y);
          const touch = new Touch({ identifier: 1, target, clientX: x, clientY: y });
          const init = { bubbles: true, touches: [touch], changedTouches: [touch] };
          target.dispatchEvent(new TouchEvent('touchstart', init));
        }""",
        omid,
    )
    expect(page.get_by_test_id("confirm-dialog").get_by_test_id("confirm-pin")).to_be_visible()


def test_saved_messages_sits_on_top_and_a_note_reaches_my_other_device(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara")
    send_by_api(omid_page, sara, "hi")
    other_device = people.open()
    other_device.goto("/")
    log_in(other_device, sara)
    link_device(page, other_device)  # a note to self is sealed for your other devices
    entry = page.get_by_test_id("saved-messages-entry")
    expect(entry).to_be_visible()
    entry.click()
    send(page, "a note to self")
    expect(message_with_text(page, "a note to self")).not_to_have_attribute("data-status", "pending")
    saved = page.locator('[data-testid=chat-item][data-saved="true"]')
    expect(saved).to_be_visible()
    expect(page.locator("[data-testid=chat-list] > li").first.locator('[data-saved="true"]')).to_have_count(1)
    expect(saved.get_by_test_id("unread-badge")).to_have_count(0)
    other_saved = other_device.locator('[data-testid=chat-item][data-saved="true"]')
    expect(other_saved).to_be_visible()
    other_saved.click()
    expect(message_with_text(other_device, "a note to self")).to_be_visible()
    assert people.page_errors == []


def test_a_message_forwarded_to_saved_messages_is_kept_there(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara")
    send_by_api(omid_page, sara, "worth keeping")
    other_device = people.open()  # Saved Messages is sealed for your other devices: one is needed
    other_device.goto("/")
    log_in(other_device, sara)
    link_device(page, other_device)
    open_chat_from_list(page, omid)
    original = message_with_text(page, "worth keeping")
    original.hover()
    original.get_by_test_id("message-actions").click()
    page.locator("[data-action=forward]").click()
    page.locator(f'[data-testid=forward-target][data-peer="{sara}"]').click()
    copy = message_with_text(page, "worth keeping")
    expect(copy.get_by_test_id("forwarded-from")).to_contain_text(omid)
    expect(copy).not_to_have_attribute("data-status", "pending")
    expect(page.locator('[data-testid=chat-item][data-saved="true"]')).to_be_visible()
