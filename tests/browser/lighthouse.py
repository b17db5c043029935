"""Lighthouse on the chat screen (not part of CI).

Usage, with a server running (`make run`) and Lighthouse from npm (`npm install lighthouse` somewhere):
    .venv/bin/python tests/browser/lighthouse.py http://127.0.0.1:8000 [path/to/node_modules/.bin/lighthouse]

Registers two people in a fresh Chromium profile, exchanges a few messages, then runs Lighthouse
on that profile (storage kept) against the open conversation, and prints the category scores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid

from browser_helpers import CHROMIUM_ARGS, open_chat, register, send
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"


def prepare_profile(base_url: str, profile: str) -> str:
    sara, omid = f"sara_{uuid.uuid4().hex[:6]}", f"omid_{uuid.uuid4().hex[:6]}"
    with sync_playwright() as playwright:
        other = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        omid_page = other.new_context(base_url=base_url).new_page()
        omid_page.goto("/")
        register(omid_page, omid)
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, base_url=base_url
        )
        page = context.new_page()
        page.goto("/")
        register(page, sara)
        open_chat(page, omid)
        send(page, "سلام امید! امروز جلسه ساعت چند است؟")
        omid_page.locator(f'[data-testid=chat-item][data-peer="{sara}"]').click()
        send(omid_page, "ساعت ۵ عصر. See you there")
        send(page, "عالی، ممنون")
        page.wait_for_timeout(1000)
        context.close()
        other.close()
    return f"{base_url}/#/chat/{omid}"


def main() -> None:
    base_url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    lighthouse = sys.argv[2] if len(sys.argv) > 2 else "lighthouse"
    profile = tempfile.mkdtemp(prefix="payambar-lighthouse-")
    url = prepare_profile(base_url, profile)
    report = os.path.join(profile, "report.json")
    flags = f"--headless --no-sandbox --disable-gpu --user-data-dir={profile} " + " ".join(CHROMIUM_ARGS[2:])
    subprocess.run(
        [
            lighthouse,
            url,
            f"--chrome-flags={flags}",
            "--disable-storage-reset",
            "--only-categories=accessibility,best-practices,performance",
            "--output=json",
            f"--output-path={report}",
            "--quiet",
        ],
        check=True,
        env={**os.environ, "CHROME_PATH": CHROMIUM},
    )
    with open(report) as file:
        result = json.load(file)
    print(f"Lighthouse {result['lighthouseVersion']} ({result['configSettings']['formFactor']}) on {url}")
    for name, category in result["categories"].items():
        print(f"  {name}: {round(category['score'] * 100)}")


if __name__ == "__main__":
    main()
