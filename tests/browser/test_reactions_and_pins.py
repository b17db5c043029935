"""Reactions and pinned messages in the PWA, two people, one of them on two devices, in an
end-to-end encrypted chat: live on every device, through a reload, and the server holding only
envelopes of the reactions."""

from __future__ import annotations

from browser_helpers import (
    link_device,
    log_in,
    message_with_text,
    open_chat,
    register_without_keys,
    send_by_api,
    send_plaintext_by_api,
    token_of,
)
from playwright.sync_api import Page, expect


def menu_of(page: Page, text: str):
    bubble = message_with_text(page, text)
    bubble.hover()
    bubble.get_by_test_id("message-actions").click()
    return page.get_by_test_id("message-menu")


def chip(page: Page, text: str, emoji: str):
    return message_with_text(page, text).locator(f'[data-testid=reaction][data-emoji="{emoji}"]')


def three_devices(people):
    sara, sara_name = people.register("sara")
    omid, omid_name = people.register("omid")
    omid_phone = people.open({"width": 390, "height": 844})
    omid_phone.goto("/")
    log_in(omid_phone, omid_name)
    link_device(omid, omid_phone)
    return sara, sara_name, omid, omid_name, omid_phone


def test_reactions_reach_every_device_live_and_stay_through_a_reload_as_envelopes_only(people):
    sara, sara_name, omid, omid_name, omid_phone = three_devices(people)
    send_by_api(sara, omid_name, "فردا ساعت ده؟")
    for page, peer in ((sara, omid_name), (omid, sara_name), (omid_phone, sara_name)):
        open_chat(page, peer)
        expect(message_with_text(page, "فردا ساعت ده؟")).to_be_visible()

    menu_of(omid, "فردا ساعت ده؟").locator('[data-testid=quick-reaction][data-emoji="👍"]').click()
    for page, pressed in ((sara, "false"), (omid, "true"), (omid_phone, "true")):
        expect(chip(page, "فردا ساعت ده؟", "👍")).to_have_attribute("aria-pressed", pressed)
        expect(chip(page, "فردا ساعت ده؟", "👍")).to_have_attribute("data-count", "1")

    chip(sara, "فردا ساعت ده؟", "👍").click()  # sara joins it
    for page in (sara, omid, omid_phone):
        expect(chip(page, "فردا ساعت ده؟", "👍")).to_have_attribute("data-count", "2")

    menu_of(omid_phone, "فردا ساعت ده؟").get_by_test_id("more-reactions").click()
    omid_phone.locator('[data-testid=reaction-picker-emoji][data-emoji="❤️"]').first.click()
    for page in (sara, omid, omid_phone):  # one reaction each: omid's heart replaced his thumb
        expect(chip(page, "فردا ساعت ده؟", "❤️")).to_have_attribute("data-count", "1")
        expect(chip(page, "فردا ساعت ده؟", "👍")).to_have_attribute("data-count", "1")

    sara.reload()
    expect(chip(sara, "فردا ساعت ده؟", "❤️")).to_have_attribute("aria-pressed", "false")
    expect(chip(sara, "فردا ساعت ده؟", "👍")).to_have_attribute("aria-pressed", "true")

    stored = sara.request.get(
        f"/api/conversations/{omid_name}/messages", headers={"authorization": f"Bearer {token_of(sara)}"}
    ).json()["messages"][-1]["reactions"]
    assert len(stored) == 2 and all(r["envelope"] and "emoji" not in r for r in stored), stored
    assert not any("❤" in r["envelope"] or "👍" in r["envelope"] for r in stored)

    chip(omid, "فردا ساعت ده؟", "❤️").click()  # taken back
    for page in (sara, omid, omid_phone):
        expect(chip(page, "فردا ساعت ده؟", "❤️")).to_have_count(0)
        expect(chip(page, "فردا ساعت ده؟", "👍")).to_have_count(1)


def test_pins_show_on_every_device_cycle_through_and_unpin_for_both(people):
    sara, sara_name, omid, omid_name, omid_phone = three_devices(people)
    send_by_api(sara, omid_name, "نشانی: خیابان بهار")
    send_by_api(omid, sara_name, "رمز وای‌فای")
    send_by_api(sara, omid_name, "پیام معمولی")
    for page, peer in ((sara, omid_name), (omid, sara_name), (omid_phone, sara_name)):
        open_chat(page, peer)
        expect(message_with_text(page, "پیام معمولی")).to_be_visible()
        expect(page.get_by_test_id("pinned-bar")).to_be_hidden()

    menu_of(sara, "نشانی: خیابان بهار").locator("[data-action=pin]").click()
    for page in (sara, omid, omid_phone):
        expect(page.get_by_test_id("pinned-text")).to_have_text("نشانی: خیابان بهار")
        expect(message_with_text(page, "نشانی: خیابان بهار").get_by_test_id("pinned-mark")).to_be_visible()
    menu_of(omid_phone, "رمز وای‌فای").locator("[data-action=pin]").click()
    for page in (sara, omid, omid_phone):
        expect(page.get_by_test_id("pinned-text")).to_have_text("رمز وای‌فای")  # the newest pin first
        expect(page.get_by_test_id("pinned-count")).to_have_text("۱/۲")

    omid.get_by_test_id("pinned-show").click()  # shows the pinned message, then the next pin
    expect(omid.get_by_test_id("pinned-text")).to_have_text("نشانی: خیابان بهار")
    expect(omid.get_by_test_id("pinned-count")).to_have_text("۲/۲")

    omid.reload()
    expect(omid.get_by_test_id("pinned-count")).to_have_text("۱/۲")
    omid.get_by_test_id("pinned-unpin").click()  # unpins the one shown, for both
    for page in (sara, omid, omid_phone):
        expect(page.get_by_test_id("pinned-text")).to_have_text("نشانی: خیابان بهار")
        expect(page.get_by_test_id("pinned-count")).to_have_text("")
    menu_of(sara, "نشانی: خیابان بهار").locator("[data-action=unpin]").click()
    for page in (sara, omid, omid_phone):
        expect(page.get_by_test_id("pinned-bar")).to_be_hidden()


def test_in_a_chat_with_a_script_without_keys_a_reaction_is_the_emoji_itself(people):
    sara, _ = people.register("sara")
    bot, bot_token = register_without_keys(sara, "bot")
    send_plaintext_by_api(sara, sara_name_of(sara), "status: all green", token=bot_token)
    open_chat(sara, bot)
    menu_of(sara, "status: all green").locator('[data-testid=quick-reaction][data-emoji="🙏"]').click()
    expect(chip(sara, "status: all green", "🙏")).to_have_attribute("aria-pressed", "true")
    seen_by_bot = sara.request.get(
        f"/api/conversations/{sara_name_of(sara)}/messages", headers={"authorization": f"Bearer {bot_token}"}
    ).json()["messages"][-1]["reactions"]
    assert [(r["user"], r["emoji"]) for r in seen_by_bot] == [(sara_name_of(sara), "🙏")]


def sara_name_of(page: Page) -> str:
    return page.evaluate("JSON.parse(localStorage.getItem('payambar.session')).user.username")
