"""Fixtures for the browser tests: Debian's Chromium driven by Playwright against a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).parent / "screenshots"
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
PASSWORD = "correct horse battery"

expect.set_options(timeout=10_000)


@dataclass
class Server:
    url: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("browser-data")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{data}/p.db", "SECRET_KEY": "browser-tests-secret-key-0123456789"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the server did not start") from None
            time.sleep(0.1)
    yield Server(url)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM}")
        pytest.skip(f"Chromium is missing at {CHROMIUM}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class People:
    """Opens one browser context per person, and closes them all at the end of a test."""

    def __init__(self, browser: Browser, server: Server) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[BrowserContext] = []

    def open(self, viewport: dict | None = None) -> Page:
        context = self.browser.new_context(
            base_url=self.server.url,
            viewport=viewport or {"width": 1280, "height": 800},
            locale="fa-IR",
        )
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: print(f"page error: {error}"))
        return page

    def register(self, prefix: str, viewport: dict | None = None) -> tuple[Page, str]:
        page = self.open(viewport)
        username = unique_name(prefix)
        page.goto("/")
        register(page, username)
        return page, username

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def people(browser: Browser, live_server: Server) -> Iterator[People]:
    crowd = People(browser, live_server)
    yield crowd
    crowd.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest):
    def take(page: Page, label: str = "") -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        name = request.node.name + (f"-{label}" if label else "")
        page.screenshot(path=SCREENSHOTS / f"{name}.png")

    return take


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
    return page.locator("[data-testid=message]").filter(has=page.get_by_test_id("message-text").get_by_text(text, exact=True))


def wait_for_service_worker(page: Page) -> None:
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
