"""The app installs like a phone app: Chromium finds no installability error in it."""

from browser_helpers import CHROMIUM, CHROMIUM_ARGS
from playwright.sync_api import sync_playwright


def test_chromium_finds_the_app_installable(live_server, tmp_path, screenshot):
    # Installability is not judged in incognito-like contexts, so this one has a profile folder.
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "profile", executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = context.new_page()
            page.goto(live_server.url)
            page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")
            cdp = context.new_cdp_session(page)
            errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
            manifest = cdp.send("Page.getAppManifest")
            screenshot(page)
        finally:
            context.close()
    assert errors == []
    assert manifest["errors"] == []
