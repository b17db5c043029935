"""Settings in groups with log out last, devices named from their User-Agent ("Chrome on Linux"),
on a desktop and on a phone, and the words for several browsers and systems."""

from browser_helpers import PASSWORD, PHONE
from playwright.sync_api import expect

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
GROUPS = ["profile", "general", "notifications", "privacy", "security", "delete"]


def open_settings(page):
    page.get_by_test_id("settings-button").click()
    expect(page.get_by_test_id("logout")).to_be_visible()


def test_settings_come_in_groups_with_log_out_last_and_named_devices(people, screenshot):
    page, sara = people.register("sara", viewport={"width": 1440, "height": 900})
    answer = page.request.post(
        "/api/auth/login", data={"username": sara, "password": PASSWORD}, headers={"user-agent": IPHONE}
    )
    assert answer.ok, answer.text()
    open_settings(page)
    groups = page.locator(".settings > .settings-card")
    expect(groups).to_have_count(len(GROUPS))
    for index, name in enumerate(GROUPS):
        expect(groups.nth(index)).to_have_attribute("data-testid", f"settings-group-{name}")
    last = page.locator(".settings > :last-child")
    expect(last).to_have_attribute("data-testid", "logout")

    devices = page.get_by_test_id("session-device")
    expect(devices).to_have_count(2)
    expect(page.get_by_test_id("session").filter(has=page.get_by_test_id("session-current"))).to_contain_text(
        "Chrome روی Linux"
    )
    expect(devices).to_contain_text(["Safari روی iOS"])
    assert "AppleWebKit" not in page.get_by_test_id("sessions").inner_text()  # never the raw string
    screenshot(page)

    page.get_by_test_id("lang-toggle").click()
    for name in ("Chrome on Linux", "Safari on iOS"):
        expect(page.get_by_test_id("session-device").filter(has_text=name)).to_have_count(1)


def test_settings_fit_a_phone_and_fields_look_alike(people):
    page, _ = people.register("sara", **PHONE)
    open_settings(page)
    body = page.locator(".settings")
    assert body.evaluate("(node) => node.scrollWidth <= node.clientWidth")  # nothing sticks out sideways
    for test_id in ("last-seen-visibility", "token-name", "block-username", "sessions-password"):
        field = page.get_by_test_id(test_id)
        box = field.bounding_box()
        assert box["height"] >= 44, (test_id, box)
        assert field.evaluate("(node) => getComputedStyle(node).borderRadius") == "10px", test_id
    logout = page.get_by_test_id("logout")
    logout.scroll_into_view_if_needed()
    assert logout.bounding_box()["width"] > 300


WORDS = """async (agents) => {
  const { deviceName } = await import('/ui/useragent.js');
  return agents.map(deviceName);
}"""


def test_devices_are_named_for_the_common_browsers(people):
    page = people.open()
    page.goto("/")
    agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0 Safari/537.36 Edg/124.0",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Safari/605.1.15",
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/24.0 Chrome/117.0 Mobile Safari/537.36",
        "python-httpx/0.27.0",
        "",
    ]
    assert page.evaluate(WORDS, agents) == [
        "Edge روی Windows",
        "Chrome روی Android",
        "Safari روی macOS",
        "Firefox روی Linux",
        "Samsung Internet روی Android",
        "python-httpx/0.27.0",
        "دستگاه ناشناس",
    ]
