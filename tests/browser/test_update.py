"""A new deployment is picked up: the new service worker installs and the page offers to reload."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser_helpers import register, unique_name, wait_for_service_worker
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
SHELL_CACHES = "async () => (await caches.keys()).filter((name) => name.startsWith('payambar-shell-'))"
LEFT_OUT = shutil.ignore_patterns(".git", ".venv", "data", "tests", "node_modules", "__pycache__", "*.db*")


@pytest.fixture
def deployment(tmp_path):
    """A server running from a copy of the tree, so the test can deploy a new version of public/."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=LEFT_OUT)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/update.db", "ENVIRONMENT": "test"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tree,
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
            assert server.poll() is None and time.monotonic() < deadline, "the copied server did not start"
            time.sleep(0.05)
    yield url, tree / "public"
    server.terminate()
    server.wait(timeout=10)


def test_a_new_service_worker_version_offers_a_reload(people, deployment, screenshot):
    url, public = deployment
    page = people.open()
    page.goto(url)
    register(page, unique_name("sara"))
    wait_for_service_worker(page)
    worker = public / "sw.js"
    version = re.search(r"const VERSION = '([^']+)'", worker.read_text()).group(1)
    assert page.evaluate(SHELL_CACHES) == [f"payambar-shell-{version}"]

    worker.write_text(worker.read_text().replace(f"const VERSION = '{version}'", f"const VERSION = '{version}-next'"))
    page.evaluate("() => navigator.serviceWorker.getRegistration().then((registration) => registration.update())")
    expect(page.get_by_test_id("update-banner")).to_be_visible()
    screenshot(page, "offer")

    with page.expect_event("load"):
        page.get_by_test_id("update-reload").click()
    expect(page.get_by_test_id("search-input")).to_be_visible()
    expect(page.get_by_test_id("update-banner")).to_have_count(0)
    assert page.evaluate(SHELL_CACHES) == [f"payambar-shell-{version}-next"]  # the old shell is gone
    screenshot(page)
