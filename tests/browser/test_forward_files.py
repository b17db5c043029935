"""Forwarding files between end-to-end encrypted chats: the server cannot copy a sealed file, so the
forwarding browser opens it and sends it again, sealed under a key of its own, marked as forwarded
from its first author. The new recipient opens it byte for byte; the server only ever held
ciphertext of it, under two different keys."""

from __future__ import annotations

import base64
import re

from browser_helpers import open_chat, open_chat_from_list, pick_files, send_by_api
from playwright.sync_api import expect
from test_sealed_media import OPENED, served

MARKER = b"forwarded-file-marker-7f3a " * 40


def forward_newest(page, target: str) -> None:
    bubble = page.get_by_test_id("message").last
    bubble.hover()
    bubble.get_by_test_id("message-actions").click()
    page.locator("[data-action=forward]").click()
    page.locator(f'[data-testid=forward-target][data-peer="{target}"]').click()
    expect(page.get_by_test_id("peer-name")).to_have_text(target)


def test_a_sealed_file_forwarded_into_another_encrypted_chat_is_sealed_again_and_opens(people, tmp_path):
    omid_page, omid = people.register("omid")
    leila_page, leila = people.register("leila")
    page, sara = people.register("sara")
    send_by_api(page, leila, "hi leila")  # a chat with leila to forward into
    path = tmp_path / "notes-۱۴۰۵.bin"
    path.write_bytes(MARKER)
    open_chat(omid_page, sara)
    pick_files(omid_page, path)
    expect(omid_page.get_by_test_id("message").last).not_to_have_attribute("data-status", "pending", timeout=20_000)

    open_chat_from_list(page, omid)
    expect(page.get_by_test_id("file-name").last).to_have_text(path.name)
    forward_newest(page, leila)
    copy = page.get_by_test_id("message").last
    expect(copy.get_by_test_id("forwarded-from")).to_contain_text(omid)
    expect(copy).not_to_have_attribute("data-status", re.compile("pending|failed"), timeout=20_000)

    open_chat_from_list(leila_page, sara)
    received = leila_page.get_by_test_id("message").last
    expect(received.get_by_test_id("forwarded-from")).to_contain_text(omid)
    expect(received.get_by_test_id("file-name")).to_have_text(path.name)
    opened = leila_page.evaluate(OPENED, sara)
    assert opened["e2ee"] == "opened" and opened["described"]["name"] == path.name
    assert base64.b64decode(opened["bytes"]) == MARKER

    first, first_bytes = served(page, omid)
    second, second_bytes = served(leila_page, sara)
    assert first["attachment"]["id"] != second["attachment"]["id"], "a new upload, not the server's copy"
    for data in (first_bytes, second_bytes):
        assert b"forwarded-file-marker" not in data and len(data) > len(MARKER)
    assert first_bytes != second_bytes, "sealed again under a key of its own"
    assert path.name.encode() not in second_bytes and "envelope" in second and not second.get("text")
