"""A chat with someone whose account was deleted says "Deleted account", in the list and the chat."""

from browser_helpers import PASSWORD, message_with_text, open_chat, send, token_of
from playwright.sync_api import expect


def test_a_deleted_accounts_chat_is_labelled_deleted_account(people):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    open_chat(sara_page, omid)
    send(sara_page, "goodbye")
    chat = omid_page.locator(f'[data-testid=chat-item][data-peer="{sara}"]')
    expect(chat).to_be_visible()

    response = sara_page.request.delete(
        "/api/me", headers={"authorization": f"Bearer {token_of(sara_page)}"}, data={"password": PASSWORD}
    )
    assert response.status == 204, response.text()
    omid_page.reload()
    expect(chat.locator(".chat-name")).to_have_text("حساب حذف‌شده")
    chat.click()
    expect(omid_page.get_by_test_id("peer-name")).to_have_text("حساب حذف‌شده")
    expect(message_with_text(omid_page, "goodbye")).to_have_count(0)
