"""Headers that guard the app's pages: HSTS only over https (as a trusted proxy says), a
connect-src of the app's own origin only, and a profile page that never repeats the Host header."""

from __future__ import annotations

import httpx
from helpers import register


async def test_hsts_is_sent_when_a_trusted_proxy_says_https_and_never_over_plain_http(live_server):
    async with httpx.AsyncClient(base_url=live_server.url) as client:  # 127.0.0.1: the trusted proxy
        plain = await client.get("/")
        behind_https = await client.get("/", headers={"x-forwarded-proto": "https"})
        api = await client.get("/health", headers={"x-forwarded-proto": "https"})
    assert "strict-transport-security" not in plain.headers
    assert behind_https.headers["strict-transport-security"] == "max-age=31536000"
    assert api.headers["strict-transport-security"] == "max-age=31536000"


async def test_an_untrusted_client_cannot_claim_https(server_factory):
    server = server_factory(FORWARDED_ALLOW_IPS="10.0.0.1")  # the test client is no proxy now
    async with httpx.AsyncClient(base_url=server.url) as client:
        answer = await client.get("/", headers={"x-forwarded-proto": "https"})
    assert "strict-transport-security" not in answer.headers


async def test_pages_may_connect_to_their_own_origin_only(live_server):
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        policy = (await client.get("/")).headers["content-security-policy"]
    connect = next(part.strip() for part in policy.split(";") if part.strip().startswith("connect-src"))
    assert connect == "connect-src 'self'"  # no ws: or wss: of any host


async def test_the_profile_page_never_repeats_the_host_header(live_server):
    person = await register(live_server)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        page = (await client.get(f"/u/{person.username}", headers={"host": "evil.example"})).text
    assert "evil.example" not in page
    assert f'<meta property="og:url" content="/u/{person.username}">' in page
    await person.close()


async def test_with_public_url_the_profile_page_links_there(server_factory):
    server = server_factory(PUBLIC_URL="https://chat.example.org/")
    person = await register(server)
    async with httpx.AsyncClient(base_url=server.url) as client:
        page = (await client.get(f"/u/{person.username}", headers={"host": "evil.example"})).text
    assert f'<meta property="og:url" content="https://chat.example.org/u/{person.username}">' in page
    assert '<meta property="og:image" content="https://chat.example.org/icons/icon-512.png">' in page
    await person.close()
