"""Link previews, POST /api/link-preview, against a real web server on loopback: what a page says of
itself (Open Graph first, else <title>), its image made small, redirects followed, no cookie ever
kept or sent; and what the server refuses to fetch — private addresses, other schemes and ports,
credentials — with the limits of size, time and rate."""

from __future__ import annotations

import base64
import io
import time

import pytest
from checks import assert_error
from helpers import register
from PIL import Image
from web_site import PAGE, Site

from previews.page import read_head


@pytest.fixture(scope="module")
def site():
    running = Site()
    yield running
    running.close()


@pytest.fixture
def preview_server(server_factory):
    return server_factory(LINK_PREVIEW_ALLOW_PRIVATE="1")


async def ask(api, url) -> object:
    return await api.post("/api/link-preview", json={"url": url})


async def test_a_page_gives_its_open_graph_title_description_and_a_small_image(preview_server, site):
    api = await register(preview_server)
    answer = await ask(api, f"{site.url}/page#part")
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert preview["url"] == f"{site.url}/page"
    assert preview["title"] == "سفر به اصفهان"  # the bidi override gone, spaces collapsed
    assert preview["description"] == "میدان نقش جهان، پل خواجو"
    assert preview["site_name"] == "سفرنامه"
    image = preview["image"]
    data = base64.urlsafe_b64decode(image["data"] + "=" * (-len(image["data"]) % 4))
    assert len(data) <= 16 * 1024 and data[:2] == b"\xff\xd8"
    shown = Image.open(io.BytesIO(data))
    assert shown.size == (image["width"], image["height"]) and max(shown.size) <= 320
    assert abs(shown.width / shown.height - 1.5) < 0.05
    # a second ask comes from the cache: the site is not asked again
    asked = len(site.requests)
    assert (await ask(api, f"{site.url}/page")).json() == preview
    assert len(site.requests) == asked
    await api.client.aclose()


async def test_redirects_are_followed_and_no_cookie_is_ever_sent_back(preview_server, site):
    api = await register(preview_server)
    answer = await ask(api, f"{site.url}/moved")
    assert answer.status_code == 200 and answer.json()["title"] == "سفر به اصفهان"
    assert (await ask(api, f"{site.url}/windows-1256")).json()["title"] == "سلام"
    assert all("Cookie" not in headers and "cookie" not in headers for _, headers in site.requests), site.requests
    assert all("authorization" not in {k.lower() for k in headers} for _, headers in site.requests)
    assert_error(await ask(api, f"{site.url}/loop"), 404)
    await api.client.aclose()


@pytest.mark.parametrize("path", ["/text", "/untitled", "/missing", "/nowhere"])
async def test_what_is_not_a_titled_page_has_no_preview(preview_server, site, path):
    api = await register(preview_server)
    answer = await ask(api, f"{site.url}{path}")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "no_preview", answer.text
    await api.client.aclose()


async def test_a_huge_page_is_read_only_as_far_as_its_head_and_a_slow_one_is_given_up(preview_server, site):
    api = await register(preview_server)
    assert (await ask(api, f"{site.url}/huge")).json()["title"] == "big"
    started = time.monotonic()
    slow = await ask(api, f"{site.url}/slow")
    assert slow.status_code == 404 and time.monotonic() - started < 10.5
    await api.client.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/page",
        "http://localhost/page",
        "http://10.1.2.3/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "https://example.com:8443/",
        "file:///etc/passwd",
        "ftp://example.com/",
        "javascript:alert(1)",
        "http://user:secret@example.com/",
        "http:///nohost",
        "https://" + "a" * 2100 + ".com/",
    ],
)
async def test_the_server_never_fetches_from_its_own_network_or_beyond_http(live_server, url):
    api = await register(live_server)
    answer = await ask(api, url)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "url_refused", answer.text
    await api.client.aclose()


async def test_previews_can_be_turned_off_need_a_login_and_are_rate_limited(server_factory, preview_server, site):
    off = server_factory(LINK_PREVIEWS="0")
    api = await register(off)
    answer = await ask(api, f"{site.url}/page")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "previews_off"
    await api.client.aclose()
    api = await register(preview_server)
    assert (await api.client.post("/api/link-preview", json={"url": f"{site.url}/page"})).status_code == 401
    assert_error(await api.post("/api/link-preview", json={}), 422)
    assert_error(await api.post("/api/link-preview", json={"url": 42}), 422)
    statuses = [(await ask(api, f"{site.url}/page")).status_code for _ in range(29)]
    assert statuses[:28] == [200] * 28 and statuses[28] == 429  # 30 a minute, the two refused ones counted
    await api.client.aclose()


def test_the_head_is_read_as_the_page_says_it_and_nothing_from_the_body():
    head = read_head(PAGE, "https://example.org/travel/")
    assert head == {
        "title": "سفر به اصفهان",
        "description": "میدان نقش جهان، پل خواجو",
        "site_name": "سفرنامه",
        "image": "https://example.org/picture.png",
    }
    assert read_head("<title>  only\ta\ntitle </title>", "https://x.org/") == {"title": "only a title"}
    assert read_head('<meta property="og:image" content="javascript:alert(1)"><title>t</title>', "https://x.org/") == {
        "title": "t"
    }
    assert read_head("<title>" + "ب" * 500 + "</title>", "https://x.org/")["title"].endswith("…")
    assert read_head("<<<>>><title>still</title><meta", "https://x.org/") == {"title": "still"}
