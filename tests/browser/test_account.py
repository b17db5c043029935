"""Accounts: inline validation, the public profile link, profile editing, silent renewal and logout."""

from browser_helpers import PASSWORD, register, unique_name
from playwright.sync_api import expect


def test_the_server_rules_are_shown_inline_before_any_request(people, screenshot):
    page = people.open()
    page.goto("/")
    page.get_by_test_id("auth-switch").click()
    requests = []
    page.on("request", lambda request: "/api/" in request.url and requests.append(request.url))
    page.locator("input[name=username]").fill("no spaces allowed")
    page.locator("input[name=password]").fill("short")
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("error-username")).not_to_be_empty()
    expect(page.get_by_test_id("error-password")).not_to_be_empty()
    expect(page.locator("input[name=username]")).to_have_attribute("aria-invalid", "true")
    assert requests == []
    screenshot(page)


def test_a_taken_username_is_reported_on_its_field(people, screenshot):
    _, taken = people.register("sara")
    page = people.open()
    page.goto("/")
    page.get_by_test_id("auth-switch").click()
    page.locator("input[name=username]").fill(taken.upper())
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("error-username")).to_have_text("این نام کاربری گرفته شده است.")
    screenshot(page)


def test_profile_link_offers_send_message_through_sign_up(people, screenshot):
    _, sara = people.register("sara")
    page = people.open()
    page.goto(f"/u/{sara}")
    expect(page.get_by_test_id("public-profile")).to_contain_text(f"@{sara}")
    page.get_by_test_id("profile-send").click()
    omid = unique_name("omid")
    register(page, omid)
    expect(page.get_by_test_id("peer-name")).to_have_text(sara)
    expect(page.get_by_test_id("composer")).to_be_focused()
    screenshot(page)


def test_profile_edit_saves_name_and_bio_and_logout_forgets_the_session(people, screenshot):
    page, sara = people.register("sara")
    page.get_by_test_id("settings-button").click()
    page.locator("input[name=display_name]").fill("سارا جعفری")
    page.locator("textarea[name=bio]").fill("Tea, books, بدون شکر")
    page.get_by_test_id("settings-save").click()
    expect(page.get_by_test_id("settings-status")).to_have_text("ذخیره شد")
    profile = page.request.get(f"/api/users/{sara}").json()
    assert (profile["display_name"], profile["bio"]) == ("سارا جعفری", "Tea, books, بدون شکر")
    screenshot(page, "settings")

    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("auth-submit")).to_be_visible()
    assert page.evaluate("localStorage.getItem('payambar.session')") is None
    page.reload()
    expect(page.get_by_test_id("auth-submit")).to_be_visible()
    screenshot(page)


def test_an_ageing_token_is_renewed_quietly(people, screenshot):
    page, _ = people.register("sara")
    old = page.evaluate("JSON.parse(localStorage.getItem('payambar.session'))")
    page.evaluate(
        """() => {
            const session = JSON.parse(localStorage.getItem('payambar.session'));
            session.issued_at = new Date(Date.now() - 23 * 3600 * 1000).toISOString();
            session.expires_at = new Date(Date.now() + 3600 * 1000).toISOString();
            localStorage.setItem('payambar.session', JSON.stringify(session));
        }"""
    )
    with page.expect_response("**/api/auth/refresh") as refreshed:
        page.reload()
    assert refreshed.value.status == 200
    page.wait_for_function(
        "old => JSON.parse(localStorage.getItem('payambar.session')).issued_at !== old", arg=old["issued_at"]
    )
    new = page.evaluate("JSON.parse(localStorage.getItem('payambar.session'))")
    assert new["expires_at"] >= old["expires_at"]  # the real expiry, not the faked one
    expect(page.get_by_test_id("search-input")).to_be_visible()
    screenshot(page)
