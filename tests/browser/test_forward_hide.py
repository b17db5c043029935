"""Forwarding a message to another chat, and deleting a message for yourself only."""

from browser_helpers import link_device, log_in, message_with_text, messages, open_chat_from_list, send_by_api
from playwright.sync_api import expect


def test_a_forwarded_message_reaches_the_other_chat_marked_forwarded(people):
    omid_page, omid = people.register("omid")
    leila_page, leila = people.register("leila")
    page, sara = people.register("sara")
    send_by_api(page, leila, "hi leila")
    send_by_api(omid_page, sara, "pass this on")
    open_chat_from_list(page, omid)
    original = message_with_text(page, "pass this on")
    original.hover()
    original.get_by_test_id("message-actions").click()
    page.locator("[data-action=forward]").click()
    page.locator(f'[data-testid=forward-target][data-peer="{leila}"]').click()
    expect(page.get_by_test_id("peer-name")).to_have_text(leila)
    copy = message_with_text(page, "pass this on")
    expect(copy.get_by_test_id("forwarded-from")).to_contain_text(omid)
    expect(copy).not_to_have_attribute("data-status", "pending")

    open_chat_from_list(leila_page, sara)
    received = message_with_text(leila_page, "pass this on")
    expect(received.get_by_test_id("forwarded-from")).to_contain_text(omid)


def test_delete_for_me_hides_a_message_on_all_my_devices_and_nowhere_else(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara")
    other_device = people.open()
    other_device.goto("/")
    log_in(other_device, sara)
    link_device(page, other_device)  # a device reads what is sent after it joined
    send_by_api(omid_page, sara, "keep it or not")
    send_by_api(omid_page, sara, "stays")
    for device in (page, other_device):
        open_chat_from_list(device, omid)
        expect(messages(device)).to_have_count(2)

    doomed = message_with_text(page, "keep it or not")
    doomed.hover()
    doomed.get_by_test_id("message-actions").click()
    page.locator("[data-action=delete]").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog.get_by_test_id("confirm-both")).to_have_count(0)  # not yours: only for you
    dialog.get_by_test_id("confirm-me").click()
    for device in (page, other_device):
        expect(message_with_text(device, "keep it or not")).to_have_count(0)
        expect(message_with_text(device, "stays")).to_be_visible()
    page.reload()
    expect(message_with_text(page, "keep it or not")).to_have_count(0)

    open_chat_from_list(omid_page, sara)
    expect(message_with_text(omid_page, "keep it or not")).to_be_visible()
    expect(message_with_text(omid_page, "keep it or not")).to_have_attribute("data-deleted", "false")
