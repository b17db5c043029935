"""Helpers for the browser tests: people in their own browser contexts, and the common steps."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from payambar.client import Client

PASSWORD = "correct horse battery"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

expect.set_options(timeout=10_000)


class People:
    """Opens one browser context per person, and closes them all at the end of a test."""

    def __init__(self, browser: Browser, server) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[BrowserContext] = []
        self.page_errors: list[str] = []

    def open(self, viewport: dict | None = None, **options) -> Page:
        context = self.browser.new_context(
            base_url=self.server.url,
            viewport=viewport or {"width": 1280, "height": 800},
            locale="fa-IR",
            **options,
        )
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        return page

    def register(self, prefix: str, viewport: dict | None = None, **options) -> tuple[Page, str]:
        page = self.open(viewport, **options)
        username = unique_name(prefix)
        page.goto("/")
        register(page, username)
        return page, username

    def close(self) -> None:
        for context in self.contexts:
            try:
                context.close()
            except Exception:  # closed by the test already
                pass


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def register(page: Page, username: str) -> None:
    page.get_by_test_id("auth-switch").click()
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("search-input")).to_be_visible()


def open_chat(page: Page, username: str) -> None:
    page.get_by_test_id("search-input").fill(username)
    page.locator(f'[data-testid=search-result][data-peer="{username}"]').click()
    expect(page.get_by_test_id("peer-name")).to_have_text(username)


def send(page: Page, text: str) -> None:
    composer = page.get_by_test_id("composer")
    composer.fill(text)
    composer.press("Enter")


def messages(page: Page):
    return page.get_by_test_id("message")


def message_with_text(page: Page, text: str):
    text_match = page.get_by_test_id("message-text").get_by_text(text, exact=True)
    return page.locator("[data-testid=message]").filter(has=text_match)


def wait_for_service_worker(page: Page) -> None:
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")


def token_of(page: Page) -> str:
    return page.evaluate("JSON.parse(localStorage.getItem('payambar.session')).token")


SEND_FROM_PAGE = """async ([to, text, clientId, replyTo]) => {
  const e2ee = await import('/e2ee.js');
  const inner = e2ee.textInner(text, { replyTo });
  const fields = await e2ee.sealSend(to, inner, clientId, { text, reply_to: replyTo });
  const token = JSON.parse(localStorage.getItem('payambar.session')).token;
  const response = await fetch('/api/messages', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ to, client_id: clientId, ...fields }),
  });
  return { ok: response.ok, body: await response.json() };
}"""


def send_by_api(page: Page, to: str, text: str, reply_to: int | None = None) -> dict:
    """Sends as the person logged in on `page`, through the HTTP API (no UI involved), sealed by
    the page's own keys where the chat is end-to-end encrypted (the server refuses plaintext there)."""
    answer = page.evaluate(SEND_FROM_PAGE, [to, text, uuid.uuid4().hex, reply_to])
    assert answer["ok"], answer["body"]
    return answer["body"]


READ_FROM_PAGE = """async ([peer, limit]) => {
  const e2ee = await import('/e2ee.js');
  const token = JSON.parse(localStorage.getItem('payambar.session')).token;
  const response = await fetch(`/api/conversations/${encodeURIComponent(peer)}/messages?limit=${limit}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const page = await response.json();
  return await e2ee.openMessages(page.messages);
}"""


def history_as_read(page: Page, peer: str, limit: int = 100) -> list[dict]:
    """The chat's history from the server, each envelope opened by the device on `page`."""
    return page.evaluate(READ_FROM_PAGE, [peer, limit])


def send_plaintext_by_api(page: Page, to: str, text: str, token: str | None = None) -> dict:
    """A plaintext send with the page's token, or another (for chats with someone without keys)."""
    response = page.request.post(
        "/api/messages",
        headers={"authorization": f"Bearer {token or token_of(page)}"},
        data={"to": to, "text": text, "client_id": uuid.uuid4().hex},
    )
    assert response.ok, response.text()
    return response.json()


IDENTITY_SEED = """async () => {
  const { E2eeClient } = await import('/crypto/client.js');
  const { b64 } = await import('/crypto/bytes.js');
  const user = JSON.parse(localStorage.getItem('payambar.session')).user;
  const client = await E2eeClient.open({ id: user.id, username: user.username });
  return b64((await client.store.load()).identitySeed);
}"""

NEW_DEVICE_CARD = """async (seed) => {
  const { E2eeClient } = await import('/crypto/client.js');
  const { b64, unb64 } = await import('/crypto/bytes.js');
  const user = JSON.parse(localStorage.getItem('payambar.session')).user;
  const client = await E2eeClient.open({ id: user.id, username: user.username });
  await client.setUpDevice({ identitySeed: unb64(seed) });
  const card = await client.deviceCard();
  return [b64(card.deviceId), b64(card.deviceKey)];
}"""

APPROVE = """async ([deviceId, deviceKey]) => {
  const { E2eeClient } = await import('/crypto/client.js');
  const { unb64 } = await import('/crypto/bytes.js');
  const user = JSON.parse(localStorage.getItem('payambar.session')).user;
  const client = await E2eeClient.open({ id: user.id, username: user.username });
  await client.approve({ deviceId: unb64(deviceId), deviceKey: unb64(deviceKey) });
}"""

PUBLISH = """async () => {
  const { E2eeClient } = await import('/crypto/client.js');
  const user = JSON.parse(localStorage.getItem('payambar.session')).user;
  const client = await E2eeClient.open({ id: user.id, username: user.username });
  await client.publishPrekeys();
}"""


def link_device(approving: Page, new: Page) -> None:
    """Makes the browser on `new` (logged in, waiting for approval) a device of the person on
    `approving`, as the link of docs/e2ee.md §9 would (its screens are not built yet): the
    identity seed goes over from one page to the other, the approving device signs the new list.
    The new device reads what is sent after this, not before."""
    expect(new.get_by_test_id("device-approval-banner")).to_be_visible()
    card = new.evaluate(NEW_DEVICE_CARD, approving.evaluate(IDENTITY_SEED))
    approving.evaluate(APPROVE, card)
    new.evaluate(PUBLISH)
    new.reload()
    expect(new.get_by_test_id("search-input")).to_be_visible()
    expect(new.get_by_test_id("device-approval-banner")).to_be_hidden()


def register_without_keys(page: Page, prefix: str) -> tuple[str, str]:
    """(username, token) of an account made through the JSON API: a script with no keys, whose
    chats stay plaintext."""
    username = unique_name(prefix)
    created = page.request.post("/api/auth/register", data={"username": username, "password": PASSWORD})
    assert created.ok, created.text()
    return username, created.json()["token"]


def log_in(page: Page, username: str) -> None:
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("search-input")).to_be_visible()


PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}


def open_chat_from_list(page: Page, username: str) -> None:
    page.locator(f'[data-testid=chat-item][data-peer="{username}"]').click()
    expect(page.get_by_test_id("peer-name")).to_be_visible()


def mark_read_by_api(page: Page, peer: str, up_to: int) -> None:
    response = page.request.post(
        f"/api/conversations/{peer}/read",
        headers={"authorization": f"Bearer {token_of(page)}"},
        data={"up_to": up_to},
    )
    assert response.ok, response.text()


def launched_chromium(*extra_args: str) -> Iterator[Browser]:
    """Debian's Chromium, headless, with the suite's flags and any others; never a download."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM}")
        pytest.skip(f"Chromium is missing at {CHROMIUM}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
        )
        yield chromium
        chromium.close()


class Script:
    """Runs the async Python client on a loop of its own (sync Playwright holds this thread's)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.clients: list[Client] = []

    def run(self, coroutine, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def client(self, url: str, keys_path) -> Client:
        async def make():
            return Client(url, keys_path)

        made = self.run(make())
        self.clients.append(made)
        return made

    def close(self) -> None:
        for client in self.clients:
            self.run(client.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def confirm_files(page: Page) -> None:
    """Sends what waits in the file send dialog (picked, dropped or pasted files) as it stands."""
    page.get_by_test_id("file-send-confirm").click()
    expect(page.get_by_test_id("file-send-dialog")).to_have_count(0)


def pick_files(page: Page, *paths) -> None:
    """Picks files with the attach button's picker and sends them from the dialog."""
    page.get_by_test_id("file-picker").set_input_files([str(path) for path in paths])
    confirm_files(page)


class Loop:
    """An asyncio loop on its own thread for the Python clients (sync Playwright owns this one)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
