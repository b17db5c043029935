"""Helpers for the browser tests: people in their own browser contexts, and the common steps."""

from __future__ import annotations

import os
import uuid

from playwright.sync_api import Browser, BrowserContext, Page, expect

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


def send_by_api(page: Page, to: str, text: str, reply_to: int | None = None) -> dict:
    """Sends as the person logged in on `page`, through the HTTP API (no UI involved)."""
    response = page.request.post(
        "/api/messages",
        headers={"authorization": f"Bearer {token_of(page)}"},
        data={"to": to, "text": text, "client_id": uuid.uuid4().hex, "reply_to": reply_to},
    )
    assert response.ok, response.text()
    return response.json()


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
