"""Fixtures for the browser tests: Debian's Chromium driven by Playwright against the real server
(`live_server` comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import Loop, People, launched_chromium
from playwright.sync_api import Browser

SCREENSHOTS = Path(__file__).parent / "screenshots"


# Module scope: sync Playwright keeps an event loop running while it is open, and the async
# tests of the other rooms need none to be running when they start.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_chromium()


@pytest.fixture
def people(browser: Browser, live_server) -> Iterator[People]:
    crowd = People(browser, live_server)
    yield crowd
    crowd.close()
    assert crowd.page_errors == [], "uncaught errors in the page"


@pytest.fixture
def screenshot(request: pytest.FixtureRequest):
    """Saves the page under tests/browser/screenshots/, named after the test."""

    def take(page, label: str = "") -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        name = request.node.name + (f"-{label}" if label else "")
        page.screenshot(path=SCREENSHOTS / f"{name}.png")

    return take


@pytest.fixture
def loop() -> Iterator[Loop]:
    """A loop of its own thread for the Python clients a browser test talks to."""
    running = Loop()
    yield running
    running.close()
