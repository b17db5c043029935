"""History on a new device (docs/e2ee.md §14) in Chromium: public/crypto/backup.js reproduces
docs/e2ee-backup-vectors.json; a recovery key set up in Settings, shown once, backs the history up
sealed (the Python side opens it with the same key, and nothing the server keeps holds the key); a
browser of the same person that starts a new identity reads nothing old until it restores with that
key (a typo and a wrong key restore nothing and say so); and a browser linked by the short code
reads what the approving device had read before it joined."""

from __future__ import annotations

import json
import re
from pathlib import Path

from browser_helpers import message_with_text, open_chat, send
from playwright.sync_api import expect
from test_accessibility import serious_violations
from test_e2ee_linking_browser import (
    HISTORY,
    OPEN_DEVICE,
    pick_and_compare,
    second_browser,
    signed_up_browser,
    texts,
)

from payambar.e2ee import backup
from payambar.e2ee.primitives import unb64
from tests.e2ee_people import close, person

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "docs" / "e2ee-backup-vectors.json").read_text())

CHECK = """
async (v) => {
  const { hex, unhex, b64 } = await import('/crypto/bytes.js');
  const b = await import('/crypto/backup.js');
  const results = {};
  const key = unhex(v.recovery_key);
  results.written = (await b.formatRecoveryKey(key)) === v.written;
  results.parsed = hex(await b.parseRecoveryKey(v.written)) === v.recovery_key;
  const accepted = await Promise.all(v.accepted_written.map(async (w) => hex(await b.parseRecoveryKey(w))));
  results.accepted = accepted.every((k) => k === v.recovery_key);
  results.refused = [];
  for (const w of v.refused_written) {
    try {
      await b.parseRecoveryKey(w);
      results.refused.push('accepted');
    } catch (error) {
      results.refused.push(error.name);
    }
  }
  results.backup_key = hex(await b.backupKey(key, v.user_id)) === v.backup_key;
  results.associated_data = hex(b.associatedData(v.user_id)) === v.associated_data;
  const history = new Map(v.history.map((e) => [e.message_id, unhex(e.content_key)]));
  results.history_bytes = hex(b.historyBytes(history)) === v.history_bytes;
  const sealed = await b.sealBackup(key, v.user_id, history, unhex(v.nonce));
  results.sealed = hex(sealed) === v.sealed && b64(sealed) === v.sealed_b64;
  const opened = await b.openBackup(key, v.user_id, unhex(v.sealed));
  results.opened = [...opened].map(([id, k]) => [id, hex(k)]);
  const refusedOpen = async (name, work) => {
    try {
      await work();
      results[name] = 'opened';
    } catch (error) {
      results[name] = error.name;
    }
  };
  await refusedOpen('wrong_key', () => b.openBackup(unhex(v.wrong_recovery_key), v.user_id, unhex(v.sealed)));
  await refusedOpen('other_person', () => b.openBackup(key, v.user_id + 1, unhex(v.sealed)));
  const flipped = unhex(v.sealed);
  flipped[20] ^= 1;
  await refusedOpen('tampered', () => b.openBackup(key, v.user_id, flipped));
  const fresh = b.newRecoveryKey();
  results.round_trip = hex(await b.parseRecoveryKey((await b.formatRecoveryKey(fresh)).toLowerCase())) === hex(fresh);
  results.newest = [...b.newest(history, 2).keys()];
  return results;
}
"""


def test_the_browser_backup_module_reproduces_the_backup_vectors(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/")
    results = page.evaluate(CHECK, VECTORS)
    context.close()
    assert results.pop("opened") == [[e["message_id"], e["content_key"]] for e in VECTORS["history"]]
    assert results.pop("refused") == ["BadRecoveryKey"] * len(VECTORS["refused_written"])
    assert results.pop("newest") == [41, 1099511627781]
    for name in ("wrong_key", "other_person", "tampered"):
        assert results.pop(name) == "DecryptError", name
    assert results == {name: True for name in results} and len(results) == 8, results


APP_HISTORY = """
async (peer) => {
  const e2ee = await import('/e2ee.js');
  const token = JSON.parse(localStorage.getItem('payambar.session')).token;
  const path = `/api/conversations/${encodeURIComponent(peer)}/messages?limit=100`;
  const answer = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  const read = await e2ee.openMessages((await answer.json()).messages);
  return read.map((m) => ({ id: m.id, text: m.text, e2ee: m.e2ee ?? null }));
}
"""


def open_settings(page) -> None:
    page.evaluate("location.hash = '#/settings'")
    expect(page.get_by_test_id("section-recovery")).to_be_visible()


def set_up_recovery_key(page) -> str:
    open_settings(page)
    expect(page.get_by_test_id("recovery-status")).to_have_attribute("data-state", "off")
    page.get_by_test_id("recovery-setup").click()
    dialog = page.get_by_test_id("recovery-dialog")
    expect(dialog).to_be_visible()
    written = page.get_by_test_id("recovery-key").inner_text()
    assert re.fullmatch(r"([A-Z2-7]{4}-){13}[A-Z2-7]{4}", written), written
    assert serious_violations(page) == []
    expect(page.get_by_test_id("recovery-done")).to_be_disabled()
    page.keyboard.press("Escape")  # shown once: only "Done" closes it
    expect(dialog).to_be_visible()
    page.get_by_test_id("recovery-saved").check()
    page.get_by_test_id("recovery-done").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_test_id("recovery-status")).to_have_attribute("data-state", "on")
    return written


def restore_with(page, written: str, state: str, reason: str = "") -> None:
    page.get_by_test_id("recovery-input").fill(written)
    page.get_by_test_id("recovery-restore").click()
    result = page.get_by_test_id("recovery-result")
    expect(result).to_have_attribute("data-state", state)
    if reason:
        expect(result).to_have_attribute("data-reason", reason)
    expect(result).not_to_be_empty()


def test_a_new_identity_reads_old_history_only_after_restoring_with_the_recovery_key(
    people, loop, tmp_path, live_server, screenshot
):
    omid = loop.run(person(people.server, tmp_path, 1))
    try:
        first, sara = signed_up_browser(people)
        me, peer = sara["username"], omid[0].username
        loop.run(omid[0].send_text(me, "سلام، پیش از پشتیبان"))
        loop.run(omid[0].send_text(me, "second before the backup"))
        open_chat(first, peer)
        expect(message_with_text(first, "second before the backup")).to_be_visible()
        send(first, "sara wrote this before")
        expect(message_with_text(first, "sara wrote this before")).to_have_attribute(
            "data-status", re.compile("sent|delivered|read")
        )
        read_first = first.evaluate(APP_HISTORY, peer)
        assert [m["text"] for m in read_first] == [
            "سلام، پیش از پشتیبان",
            "second before the backup",
            "sara wrote this before",
        ]

        written = set_up_recovery_key(first)
        screenshot(first, "backup-on")
        expect(first.get_by_test_id("recovery-status")).to_have_attribute("data-count", "3")

        # The stored backup opens in Python with the written key and holds those three messages;
        # nothing the server keeps holds the key itself.
        raw = backup.parse_recovery_key(written)
        token = first.evaluate("JSON.parse(localStorage.getItem('payambar.session')).token")
        answer = first.request.get("/api/keys/backup", headers={"authorization": f"Bearer {token}"})
        assert answer.ok, answer.text()
        stored = answer.json()
        history = backup.open_backup(raw, sara["id"], unb64(stored["sealed"]))
        assert sorted(history) == [m["id"] for m in read_first]
        for path in Path(live_server.data_dir).rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for form in (raw, raw.hex().encode(), written.encode(), written.replace("-", "").encode()):
                    assert form not in data, f"{path.name} holds the recovery key"

        # Sara's new browser: no device left to link from, so a new identity; old messages stay closed.
        second = second_browser(people, me)
        second.get_by_test_id("link-reset").click()
        second.get_by_test_id("confirm-reset").click()
        second.wait_for_function("() => window.linked === 'reset'")
        assert second.evaluate(OPEN_DEVICE) == "loaded"
        second.evaluate(
            "async () => { const e2ee = await import('/e2ee.js');"
            " return e2ee.setUpDevice(JSON.parse(localStorage.getItem('payambar.session')).user); }"
        )
        before = second.evaluate(APP_HISTORY, peer)
        assert [m["e2ee"] for m in before] == ["failed"] * 3, before
        open_chat(second, peer)
        expect(second.get_by_test_id("message")).to_have_count(3)

        open_settings(second)
        expect(second.get_by_test_id("recovery-status")).to_have_attribute("data-state", "off")
        typo = written[:-1] + ("A" if written[-1] != "A" else "B")
        restore_with(second, typo, "error", "typo")
        other = backup.format_recovery_key(bytes(32))
        restore_with(second, other, "error", "wrong_key")
        assert [m["e2ee"] for m in second.evaluate(APP_HISTORY, peer)] == ["failed"] * 3, (
            "a wrong key restored something"
        )
        screenshot(second, "wrong-key")
        restore_with(second, written.lower().replace("-", " "), "restored")
        expect(second.get_by_test_id("recovery-result")).to_have_attribute("data-count", "3")
        expect(second.get_by_test_id("recovery-status")).to_have_attribute("data-state", "on")
        after = second.evaluate(APP_HISTORY, peer)
        assert [m["text"] for m in after] == [m["text"] for m in read_first]
        # and the chat shows them
        second.get_by_test_id("settings-back").click()
        open_chat(second, peer)
        expect(message_with_text(second, "سلام، پیش از پشتیبان")).to_be_visible()
        expect(message_with_text(second, "sara wrote this before")).to_be_visible()
    finally:
        loop.run(close(omid))


def test_a_browser_linked_by_short_code_reads_what_the_approving_device_had_read(people, loop, tmp_path):
    omid = loop.run(person(people.server, tmp_path, 1))
    try:
        first, sara = signed_up_browser(people)
        me, peer = sara["username"], omid[0].username
        loop.run(omid[0].send_text(me, "sent before the new browser"))
        first.evaluate("async (peer) => window.e2ee.sendText(peer, 'sara before the new browser')", peer)
        assert texts(first.evaluate(HISTORY, peer)) == ["sent before the new browser", "sara before the new browser"]

        second = second_browser(people, me)
        pick_and_compare(first, second)
        first.get_by_test_id("link-approve-confirm").click()
        expect(first.get_by_test_id("link-approve-status")).to_have_attribute("data-state", "approved")
        second.wait_for_function("() => window.linked === 'linked'")
        assert second.evaluate(OPEN_DEVICE) == "loaded"
        assert texts(second.evaluate(HISTORY, peer)) == ["sent before the new browser", "sara before the new browser"]
        loop.run(omid[0].send_text(me, "after the new browser"))
        assert texts(second.evaluate(HISTORY, peer))[-1] == "after the new browser"
    finally:
        loop.run(close(omid))
