"""/u/{name}: the page's title and its link preview (Open Graph) name the person, escaped."""

import html
import re

import httpx


def register(server, username: str, display_name: str, bio: str = "") -> None:
    answer = httpx.post(
        f"{server.url}/api/auth/register",
        json={"username": username, "password": "correct horse battery", "display_name": display_name},
    )
    assert answer.status_code == 201, answer.text
    if bio:
        token = answer.json()["token"]
        changed = httpx.patch(f"{server.url}/api/me", json={"bio": bio}, headers={"authorization": f"Bearer {token}"})
        assert changed.status_code == 200, changed.text


def meta(page: str, key: str) -> str | None:
    found = re.search(rf'<meta property="{re.escape(key)}" content="([^"]*)">', page)
    return html.unescape(found.group(1)) if found else None


def test_a_profile_link_has_the_persons_name_in_its_title_and_preview(live_server):
    register(live_server, "sara_preview", "سارا رحیمی", bio="Designer in Tabriz")
    page = httpx.get(f"{live_server.url}/u/sara_preview")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    title = re.search(r"<title>(.*?)</title>", page.text).group(1)
    assert html.unescape(title) == "سارا رحیمی (@sara_preview) · Payambar"
    assert meta(page.text, "og:title") == "سارا رحیمی (@sara_preview) · Payambar"
    assert meta(page.text, "og:description") == "Designer in Tabriz"
    assert meta(page.text, "og:url") == "/u/sara_preview"  # no PUBLIC_URL: relative, never the Host header
    assert meta(page.text, "og:image") == "/icons/icon-512.png"
    assert '<script type="module" src="/app.js">' in page.text  # still the app


def test_a_name_with_markup_is_escaped_in_the_head(live_server):
    register(live_server, "sly_one", '"><script>alert(1)</script>')
    page = httpx.get(f"{live_server.url}/u/sly_one").text
    assert "<script>alert(1)</script>" not in page
    assert meta(page, "og:title") == '"><script>alert(1)</script> (@sly_one) · Payambar'


def test_an_unknown_or_malformed_name_gets_the_plain_app(live_server):
    for name in ("nobody_here", "bad%20name", "a"):
        page = httpx.get(f"{live_server.url}/u/{name}")
        assert page.status_code == 200
        assert "<title>پیام‌بر</title>" in page.text
        assert "og:title" not in page.text
