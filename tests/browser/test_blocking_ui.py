"""Blocking where the person is: the profile sheet blocks and unblocks, and a chat with someone
blocked shows a bar that unblocks them (by keyboard too)."""

from browser_helpers import message_with_text, open_chat, send, token_of
from playwright.sync_api import expect


def blocked_names(page) -> list[str]:
    answer = page.request.get("/api/me/blocked", headers={"authorization": f"Bearer {token_of(page)}"})
    return [user["username"] for user in answer.json()["users"]]


def test_the_profile_sheet_blocks_and_the_chat_bar_unblocks(people):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    open_chat(sara_page, omid)
    send(sara_page, "hello")
    expect(message_with_text(sara_page, "hello")).to_be_visible()
    bar = sara_page.get_by_test_id("unblock-bar")
    expect(bar).to_be_hidden()

    sara_page.get_by_test_id("peer-name").click()
    block = sara_page.get_by_test_id("sheet-block")
    expect(block).to_have_text("مسدود کردن")
    block.click()
    expect(block).to_have_text("رفع مسدودی")
    assert blocked_names(sara_page) == [omid]
    sara_page.get_by_test_id("sheet-close").click()

    expect(bar).to_be_visible()
    expect(bar).to_contain_text("مسدود کرده‌اید")
    sara_page.get_by_test_id("unblock-bar-button").focus()
    sara_page.keyboard.press("Enter")
    expect(bar).to_be_hidden()
    assert blocked_names(sara_page) == []


def test_a_chat_opened_with_someone_blocked_shows_the_bar_at_once(people):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    response = sara_page.request.post(
        f"/api/users/{omid}/block", headers={"authorization": f"Bearer {token_of(sara_page)}"}
    )
    assert response.ok
    open_chat(sara_page, omid)
    expect(sara_page.get_by_test_id("unblock-bar")).to_be_visible()
