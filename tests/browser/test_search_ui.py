"""Search in the app: people by name, messages of all chats or of one chat, in either spelling;
a hit opens its chat at that message with the messages around it loaded."""

import re

from browser_helpers import PHONE, mark_read_by_api, message_with_text, open_chat_from_list, send_by_api, token_of
from playwright.sync_api import expect


def set_display_name(page, name: str) -> None:
    response = page.request.patch(
        "/api/me", headers={"authorization": f"Bearer {token_of(page)}"}, data={"display_name": name}
    )
    assert response.ok, response.text()


def test_searching_all_chats_finds_people_by_name_and_messages_in_either_spelling(people, screenshot):
    omid_page, omid = people.register("omid")
    leila_page, leila = people.register("leila")
    set_display_name(leila_page, "لیلا کریمی")
    page, sara = people.register("sara")
    send_by_api(leila_page, sara, "hello from leila")
    send_by_api(omid_page, sara, "این کتاب را بخوان")
    for number in range(110):
        last = send_by_api(omid_page, sara, f"filler {number}")
    mark_read_by_api(page, omid, last["id"])
    page.reload()

    search = page.get_by_test_id("search-input")
    search.fill("لیلا")
    person = page.locator(f'[data-testid=search-result][data-peer="{leila}"]')
    expect(person).to_be_visible()

    search.fill("كتاب")  # Arabic kaf: finds the Persian spelling
    hit = page.get_by_test_id("message-result")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text("این کتاب را بخوان")
    expect(hit).to_have_attribute("data-peer", omid)
    screenshot(page, "results")
    hit.click()
    expect(page.get_by_test_id("peer-name")).to_have_text(omid)
    found = message_with_text(page, "این کتاب را بخوان")
    expect(found).to_be_in_viewport()
    expect(found).to_have_class(re.compile(r"\bhighlight\b"))
    expect(message_with_text(page, "filler 0")).to_be_attached()  # with what came after it
    expect(search).to_have_value("")


def test_searching_one_chat_jumps_to_the_hit(people):
    omid_page, omid = people.register("omid")
    page, sara = people.register("sara", **PHONE)
    send_by_api(omid_page, sara, "the train leaves at ۷۷")
    for number in range(60):
        last = send_by_api(omid_page, sara, f"chatter {number}")
    mark_read_by_api(page, omid, last["id"])
    page.reload()
    open_chat_from_list(page, omid)
    page.get_by_test_id("chat-search-button").click()
    field = page.get_by_test_id("chat-search-input")
    expect(field).to_be_focused()
    field.fill("77")  # Latin digits find the Persian ones
    hits = page.get_by_test_id("chat-search-hit")
    expect(hits).to_have_count(1)
    hits.click()
    found = message_with_text(page, "the train leaves at ۷۷")
    expect(found).to_be_in_viewport()
    expect(found).to_have_class(re.compile(r"\bhighlight\b"))

    field.fill("chatter")  # 60 hits come 20 at a time, newest first
    expect(hits).to_have_count(20)
    expect(hits.first).to_contain_text("chatter 59")
    page.get_by_test_id("chat-search-more").click()
    expect(hits).to_have_count(40)
    page.get_by_test_id("chat-search-more").click()
    expect(hits).to_have_count(60)
    expect(page.get_by_test_id("chat-search-more")).to_have_count(0)
    expect(hits.last).to_contain_text("chatter 0")

    field.fill("nothing like this")
    expect(page.get_by_test_id("chat-search-results")).to_be_hidden()
    expect(page.locator(".search-note")).to_have_text("پیامی پیدا نشد.")
