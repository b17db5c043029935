"""One person on two devices: a profile edit on one shows on the other live, and saving there
sends only what was edited (it never writes back the old bio)."""

from browser_helpers import log_in, token_of
from playwright.sync_api import expect


def test_a_second_device_shows_profile_edits_live_and_never_erases_the_bio(people):
    phone, sara = people.register("sara")
    laptop = people.open()
    laptop.goto("/")
    log_in(laptop, sara)
    laptop.evaluate("location.hash = '#/settings'")
    expect(laptop.locator("textarea[name=bio]")).to_have_value("")

    phone.evaluate("location.hash = '#/settings'")
    phone.locator("input[name=display_name]").fill("سارا")
    phone.locator("textarea[name=bio]").fill("عکاس و کوهنورد")
    phone.get_by_test_id("settings-save").click()
    expect(phone.get_by_test_id("settings-status")).not_to_be_empty()

    expect(laptop.locator("textarea[name=bio]")).to_have_value("عکاس و کوهنورد")
    expect(laptop.locator("input[name=display_name]")).to_have_value("سارا")
    expect(laptop.locator(".settings-me .settings-name")).to_have_text("سارا")

    laptop.locator("input[name=display_name]").fill("سارا رحیمی")
    laptop.get_by_test_id("settings-save").click()
    expect(laptop.get_by_test_id("settings-status")).not_to_be_empty()
    me = laptop.request.get("/api/me", headers={"authorization": f"Bearer {token_of(laptop)}"}).json()
    assert (me["display_name"], me["bio"]) == ("سارا رحیمی", "عکاس و کوهنورد")
    expect(phone.locator("input[name=display_name]")).to_have_value("سارا رحیمی")


def test_a_device_that_was_away_shows_the_profile_as_it_is_now(people):
    phone, sara = people.register("sara")
    laptop = people.open()
    laptop.goto("/")
    log_in(laptop, sara)
    laptop.context.set_offline(True)
    phone.request.patch(
        "/api/me", headers={"authorization": f"Bearer {token_of(phone)}"}, data={"bio": "changed while away"}
    )
    laptop.context.set_offline(False)
    laptop.evaluate("location.hash = '#/settings'")
    expect(laptop.locator("textarea[name=bio]")).to_have_value("changed while away")
    laptop.locator("input[name=display_name]").fill("Sara")
    laptop.get_by_test_id("settings-save").click()
    expect(laptop.get_by_test_id("settings-status")).not_to_be_empty()
    me = laptop.request.get("/api/me", headers={"authorization": f"Bearer {token_of(laptop)}"}).json()
    assert me["bio"] == "changed while away"
