"""The settings that guard an account, in Persian and English: last-seen privacy, devices,
API tokens, blocked people and deleting the account."""

import pytest
from browser_helpers import PASSWORD
from playwright.sync_api import expect


def test_privacy_devices_tokens_blocks_and_deletion_from_settings(people, screenshot):
    page, sara = people.register("sara")
    _, pest = people.register("pest")
    page.get_by_test_id("settings-button").click()

    choice = page.get_by_test_id("last-seen-visibility")
    expect(choice.locator("option")).to_have_text(["همه", "کسانی که با آن‌ها گفت‌وگو دارم", "هیچ‌کس"])
    choice.select_option("nobody")
    expect(page.get_by_test_id("last-seen-status")).to_have_text("ذخیره شد")
    token = page.evaluate("JSON.parse(localStorage.getItem('payambar.session')).token")
    me = page.request.get("/api/me", headers={"authorization": f"Bearer {token}"}).json()
    assert me["last_seen_visibility"] == "nobody"

    expect(page.get_by_test_id("session")).to_have_count(1)
    expect(page.get_by_test_id("session-current")).to_have_text("همین دستگاه")

    page.get_by_test_id("token-name").fill("پشتیبان‌گیری")
    page.get_by_test_id("token-password").fill("not my password")
    page.get_by_test_id("token-create").click()
    expect(page.get_by_test_id("token-status")).to_have_text("گذرواژه نادرست است.")
    expect(page.get_by_test_id("token-scope-account")).not_to_be_checked()  # asked for, never the default
    page.get_by_test_id("token-password").fill(PASSWORD)
    page.get_by_test_id("token-create").click()
    value = page.get_by_test_id("token-value")
    expect(value).to_be_visible()
    api_token = value.input_value()
    assert page.request.get("/api/me", headers={"authorization": f"Bearer {api_token}"}).ok
    expect(page.get_by_test_id("token")).to_have_count(1)
    expect(page.get_by_test_id("token")).to_contain_text("پشتیبان‌گیری")
    expect(page.get_by_test_id("token-scopes")).to_contain_text("فرستادن پیام")
    assert (
        page.request.patch("/api/me", data={"bio": "x"}, headers={"authorization": f"Bearer {api_token}"}).status == 403
    )
    screenshot(page, "fa")
    page.get_by_test_id("token-revoke").click()
    expect(page.get_by_test_id("token")).to_have_count(0)
    assert page.request.get("/api/me", headers={"authorization": f"Bearer {api_token}"}).status == 401

    page.get_by_test_id("block-username").fill(pest)
    page.get_by_test_id("block-submit").click()
    expect(page.get_by_test_id("blocked-user")).to_contain_text("@" + pest)
    page.get_by_test_id("unblock").click()
    expect(page.get_by_test_id("blocked-user")).to_have_count(0)
    page.get_by_test_id("block-username").fill("no_such_person_here")
    page.get_by_test_id("block-submit").click()
    expect(page.get_by_test_id("block-status")).not_to_be_empty()

    page.get_by_test_id("lang-toggle").click()
    expect(page.get_by_test_id("section-delete")).to_contain_text("Delete account")
    expect(page.get_by_test_id("section-tokens")).to_contain_text("API tokens")
    screenshot(page, "en")

    # The password is asked in the app's own dialog, never the browser's confirm().
    page.on("dialog", lambda dialog: pytest.fail(f"a browser dialog: {dialog.message}"))
    page.get_by_test_id("delete-account").click()
    dialog = page.get_by_test_id("delete-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("delete-confirm").click()
    expect(dialog.get_by_test_id("delete-status")).to_have_text("Enter your password.")
    dialog.get_by_test_id("delete-password").fill("not my password")
    dialog.get_by_test_id("delete-confirm").click()
    expect(dialog.get_by_test_id("delete-status")).to_have_text("The password is wrong.")
    dialog.get_by_test_id("delete-cancel").click()
    expect(dialog).to_have_count(0)
    assert page.request.get(f"/api/users/{sara}").ok
    page.get_by_test_id("delete-account").click()
    page.get_by_test_id("delete-password").fill(PASSWORD)
    page.get_by_test_id("delete-password").press("Enter")
    expect(page.get_by_test_id("auth-submit")).to_be_visible()
    assert page.request.get(f"/api/users/{sara}").status == 404
