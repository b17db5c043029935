"""End-to-end encryption in the PWA: two people in their own Chromium exchange sealed messages both
ways and through a reload, while the server's database and history hold only envelopes; a
tampered envelope reads "could not be decrypted" without breaking what follows; an identity key
swapped in the database (as a hostile operator would) stops sending behind a warning until it is
accepted; a chat with an account without keys says it is not end-to-end encrypted."""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid

from browser_helpers import message_with_text, messages, open_chat, register_without_keys, send, token_of
from playwright.sync_api import expect

from payambar.client.keystore import Keystore
from payambar.e2ee.primitives import b64, unb64


def history(page, peer: str) -> list[dict]:
    response = page.request.get(
        f"/api/conversations/{peer}/messages?limit=100", headers={"authorization": f"Bearer {token_of(page)}"}
    )
    assert response.ok, response.text()
    return response.json()["messages"]


def wait_until(check, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def database_bytes(server) -> bytes:
    path = server.database_file
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def two_people(people):
    sara_page, sara = people.register("sara")
    omid_page, omid = people.register("omid")
    open_chat(sara_page, omid)
    open_chat(omid_page, sara)
    for page in (sara_page, omid_page):
        expect(page.get_by_test_id("e2ee-status")).to_have_attribute("data-state", "encrypted")
    return sara_page, sara, omid_page, omid


def test_encrypted_both_ways_through_a_reload_and_never_in_the_database(people, live_server):
    sara_page, sara, omid_page, omid = two_people(people)
    marker = f"marker-{uuid.uuid4().hex}"
    answer = f"answer-{uuid.uuid4().hex}"
    send(sara_page, marker)
    expect(message_with_text(omid_page, marker)).to_be_visible()
    send(omid_page, answer)
    expect(message_with_text(sara_page, answer)).to_be_visible()
    expect(message_with_text(omid_page, answer)).to_have_attribute("data-encrypted", "true")

    for page in (sara_page, omid_page):
        page.reload()
        expect(page.get_by_test_id("peer-name")).to_be_visible()
        expect(message_with_text(page, marker)).to_be_visible()
        expect(message_with_text(page, answer)).to_be_visible()
        expect(page.get_by_test_id("message-undecryptable")).to_have_count(0)

    after = f"after-reload-{uuid.uuid4().hex}"
    send(omid_page, after)  # the sessions carry on after the reload
    expect(message_with_text(sara_page, after)).to_be_visible()
    send(sara_page, "and back")
    expect(message_with_text(omid_page, "and back")).to_be_visible()

    stored = database_bytes(live_server)
    for text in (marker, answer, after):
        assert text.encode() not in stored
    sent = history(sara_page, omid)
    assert len(sent) == 4
    assert all(message["envelope"] and message["text"] == "" for message in sent)


def test_a_tampered_envelope_reads_could_not_be_decrypted_and_breaks_nothing_after(people, live_server):
    sara_page, sara, omid_page, omid = two_people(people)
    send(sara_page, "hello first")
    expect(message_with_text(omid_page, "hello first")).to_be_visible()
    omid_page.goto("about:blank")  # away while the next one arrives, so it is opened only after the change

    send(sara_page, "this one is tampered with")
    expect(message_with_text(sara_page, "this one is tampered with")).to_have_attribute("data-status", "sent")
    target = history(sara_page, omid)[-1]
    with sqlite3.connect(live_server.database_file) as db:
        (envelope,) = db.execute("SELECT envelope FROM messages WHERE id = ?", (target["id"],)).fetchone()
        changed = bytearray(envelope)
        changed[-1] ^= 0x01  # the body's tag
        db.execute("UPDATE messages SET envelope = ? WHERE id = ?", (bytes(changed), target["id"]))

    omid_page.goto("/")
    open_chat_again(omid_page, sara)
    failed = omid_page.locator(f'[data-testid=message][data-id="{target["id"]}"]')
    expect(failed.get_by_test_id("message-undecryptable")).to_be_visible()
    expect(failed.get_by_test_id("message-text")).to_have_count(0)
    expect(message_with_text(omid_page, "hello first")).to_be_visible()

    send(sara_page, "still readable after it")
    expect(message_with_text(omid_page, "still readable after it")).to_be_visible()
    send(omid_page, "and I can answer")
    expect(message_with_text(sara_page, "and I can answer")).to_be_visible()


def open_chat_again(page, peer: str) -> None:
    page.locator(f'[data-testid=chat-item][data-peer="{peer}"]').click()
    expect(page.get_by_test_id("peer-name")).to_have_text(peer)


def swap_identity(server, username: str) -> None:
    """What a hostile operator can do: a device list and bundle of a device of its own, signed by
    a new identity key of its own, in place of the person's."""
    with sqlite3.connect(server.database_file) as db:
        (user_id,) = db.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()
        (version,) = db.execute("SELECT version FROM key_identities WHERE user_id = ?", (user_id,)).fetchone()
        forged = Keystore.new_device(user_id)
        device_list = forged.sign_device_list([(forged.device.device_id, forged.device_key)], version)
        listed = device_list.as_json()
        db.execute(
            "UPDATE key_identities SET identity_key = ?, version = ?, device_list = ? WHERE user_id = ?",
            (listed["identity_key"], listed["version"], json.dumps(listed), user_id),
        )
        db.execute("DELETE FROM key_one_time WHERE user_id = ?", (user_id,))
        db.execute("DELETE FROM key_bundles WHERE user_id = ?", (user_id,))
        db.execute(
            "INSERT INTO key_bundles (user_id, device_id, device_key, bundle, updated_at) VALUES (?, ?, ?, ?, 0)",
            (user_id, b64(forged.device.device_id), b64(forged.device_key), json.dumps(forged.bundle().as_json())),
        )
    assert unb64(listed["identity_key"]) == forged.identity_key


def test_an_identity_key_swapped_in_the_database_blocks_sending_until_accepted(people, live_server):
    sara_page, sara, omid_page, omid = two_people(people)
    send(sara_page, "before the swap")
    expect(message_with_text(omid_page, "before the swap")).to_be_visible()
    swap_identity(live_server, omid)

    send(sara_page, "held back")
    warning = sara_page.get_by_test_id("identity-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(omid)
    held = message_with_text(sara_page, "held back")
    expect(held).to_have_attribute("data-status", "pending")
    time.sleep(1)
    assert [m["id"] for m in history(sara_page, omid)] == [history(sara_page, omid)[0]["id"]]  # nothing went out

    sara_page.get_by_test_id("accept-identity").click()
    expect(warning).to_have_count(0)
    expect(held).to_have_attribute("data-status", re.compile("sent|delivered|read"))
    assert wait_until(lambda: len(history(sara_page, omid)) == 2)
    assert history(sara_page, omid)[-1]["envelope"]


def test_a_chat_with_an_account_without_keys_is_marked_not_encrypted(people, live_server):
    sara_page, sara = people.register("sara")
    bot, bot_token = register_without_keys(sara_page, "bot")

    open_chat(sara_page, bot)
    status = sara_page.get_by_test_id("e2ee-status")
    expect(status).to_have_attribute("data-state", "plaintext")
    expect(status).to_have_text("بدون رمزگذاری سرتاسری")
    send(sara_page, "hello script")
    mine = message_with_text(sara_page, "hello script")
    expect(mine).to_have_attribute("data-status", "sent")
    expect(mine.get_by_test_id("message-not-encrypted")).to_be_visible()

    reply = sara_page.request.post(
        "/api/messages",
        headers={"authorization": f"Bearer {bot_token}"},
        data={"to": sara, "text": "beep, plaintext", "client_id": uuid.uuid4().hex},
    )
    assert reply.ok, reply.text()
    theirs = message_with_text(sara_page, "beep, plaintext")
    expect(theirs.get_by_test_id("message-not-encrypted")).to_be_visible()
    stored = history(sara_page, bot)
    assert [m["text"] for m in stored] == ["hello script", "beep, plaintext"]
    assert all(m["envelope"] is None for m in stored)
    expect(messages(sara_page)).to_have_count(2)


def test_safety_number_is_the_same_on_both_sides_and_can_be_marked_verified(people):
    sara_page, sara, omid_page, omid = two_people(people)
    send(sara_page, "let us compare")
    expect(message_with_text(omid_page, "let us compare")).to_be_visible()
    numbers = []
    for page in (sara_page, omid_page):
        page.get_by_test_id("peer-button").click()
        digits = page.get_by_test_id("safety-number")
        expect(digits.locator(".safety-group")).to_have_count(12)
        numbers.append(digits.inner_text().split())
    assert numbers[0] == numbers[1] and all(len(group) == 5 and group.isdigit() for group in numbers[0])
    expect(sara_page.get_by_test_id("verified-badge")).to_be_hidden()
    sara_page.get_by_test_id("mark-verified").click()
    expect(sara_page.get_by_test_id("verified-badge")).to_be_visible()
