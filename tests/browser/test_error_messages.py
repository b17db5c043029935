"""Errors said in the interface's language: a proxy's 502 is "server unavailable" (never a code),
the server's English sentences are translated, and an offline search says it cannot reach the server."""

from browser_helpers import PASSWORD, unique_name
from playwright.sync_api import expect

SERVER_UNAVAILABLE = "سرور الان در دسترس نیست. کمی بعد دوباره امتحان کنید."


def test_a_proxy_502_on_login_says_the_server_is_unavailable(people):
    page = people.open()
    page.route(
        "**/api/auth/login",
        lambda route: route.fulfill(status=502, content_type="text/html", body="<h1>502 Bad Gateway</h1>"),
    )
    page.goto("/")
    page.locator("input[name=username]").fill(unique_name("sara"))
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("form-error")).to_have_text(SERVER_UNAVAILABLE)


def test_a_503_anywhere_is_said_the_same_way(people):
    page, _ = people.register("sara")
    # On the context, not the page: a request the service worker passes on is routed there too.
    page.context.route("**/api/me/blocked", lambda route: route.fulfill(status=503, body="Service Unavailable"))
    page.context.route("**/api/users/*/block", lambda route: route.fulfill(status=504, body=""))
    page.evaluate("location.hash = '#/settings'")
    page.get_by_test_id("block-username").fill(unique_name("omid"))
    page.get_by_test_id("block-submit").click()
    expect(page.get_by_test_id("block-status")).to_have_text(SERVER_UNAVAILABLE)


def test_blocking_an_unknown_user_is_said_in_persian(people):
    page, _ = people.register("sara")
    page.evaluate("location.hash = '#/settings'")
    page.get_by_test_id("block-username").fill(unique_name("nobody"))
    page.get_by_test_id("block-submit").click()
    expect(page.get_by_test_id("block-status")).to_have_text("کاربری با این نام نیست.")


def test_searching_offline_says_the_server_cannot_be_reached(people):
    page, _ = people.register("sara")
    page.context.set_offline(True)
    page.get_by_test_id("search-input").fill("کیک")
    expect(page.get_by_test_id("chat-list-note")).to_have_text("برای جستجو به سرور دسترسی نیست. اتصال را بررسی کنید.")
