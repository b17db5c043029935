"""History under a recovery key (docs/e2ee.md §14): the vectors rebuild byte for byte, the right key
opens the backup, and a wrong key, a typo, a changed byte or another person's backup open nothing;
the server keeps only the sealed bytes it was given."""

from __future__ import annotations

import asyncio
import json

import pytest
from checks import close_all, register_many

from payambar.client import Client
from payambar.e2ee import backup
from payambar.e2ee.backup_vectors import VECTORS_FILE, build
from payambar.e2ee.primitives import DecryptError, b64, unb64
from tests.e2ee_people import close
from tests.e2ee_people import person as e2ee_person
from tests.helpers import PASSWORD

VECTORS = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
KEY = bytes.fromhex(VECTORS["recovery_key"])
SEALED = bytes.fromhex(VECTORS["sealed"])
HISTORY = {entry["message_id"]: bytes.fromhex(entry["content_key"]) for entry in VECTORS["history"]}


def test_the_vectors_rebuild_byte_for_byte():
    assert build() == VECTORS


def test_the_right_key_opens_the_backup_and_the_written_form_reads_back():
    assert backup.open_backup(KEY, VECTORS["user_id"], SEALED) == HISTORY
    for written in [VECTORS["written"], *VECTORS["accepted_written"]]:
        assert backup.parse_recovery_key(written) == KEY


@pytest.mark.parametrize("written", VECTORS["refused_written"])
def test_a_typo_in_the_written_key_is_caught_before_anything_is_tried(written):
    with pytest.raises(backup.BadRecoveryKey):
        backup.parse_recovery_key(written)


def test_a_wrong_key_a_changed_byte_or_another_persons_backup_opens_nothing():
    with pytest.raises(DecryptError):
        backup.open_backup(bytes.fromhex(VECTORS["wrong_recovery_key"]), VECTORS["user_id"], SEALED)
    with pytest.raises(DecryptError):
        backup.open_backup(KEY, VECTORS["user_id"] + 1, SEALED)  # moved to another person
    for at in (0, 5, len(SEALED) // 2, len(SEALED) - 1):
        changed = bytearray(SEALED)
        changed[at] ^= 0x01
        with pytest.raises(DecryptError):
            backup.open_backup(KEY, VECTORS["user_id"], bytes(changed))


def test_a_history_must_be_sorted_and_whole():
    data = backup.history_bytes(HISTORY)
    assert backup.parse_history(data) == HISTORY
    with pytest.raises(DecryptError):
        backup.parse_history(data[:-1])
    entries = data[5:]
    swapped = data[:5] + entries[40:80] + entries[:40] + entries[80:]
    with pytest.raises(DecryptError):
        backup.parse_history(swapped)


@pytest.fixture
async def person(live_server):
    (sara,) = await register_many(live_server, 1)
    yield sara
    await close_all(sara)


async def test_the_server_keeps_only_the_sealed_bytes_and_gives_them_back(person):
    me = (await person.get("/api/me")).json()
    history = {message_id: bytes([message_id % 256]) * 32 for message_id in range(1, 2001)}
    recovery_key = backup.new_recovery_key()
    sealed = backup.seal_backup(recovery_key, me["id"], history)
    response = await person.request("PUT", "/api/keys/backup", json={"replaces": 0, "sealed": b64(sealed)})
    assert response.status_code == 200, response.text
    stored = (await person.get("/api/keys/backup")).json()
    assert unb64(stored["sealed"]) == sealed
    assert backup.open_backup(recovery_key, me["id"], unb64(stored["sealed"])) == history
    assert recovery_key.hex() not in json.dumps(stored) and b64(recovery_key) not in stored["sealed"]


async def test_a_script_restores_its_history_with_the_key_and_hands_it_to_a_device_it_links(live_server, tmp_path):
    sara, omid = await e2ee_person(live_server, tmp_path, 1), await e2ee_person(live_server, tmp_path, 1)
    me, peer = sara[0].username, omid[0].username
    laptop = Client(live_server.url, tmp_path / "sara-laptop.keys")
    try:
        await omid[0].send_text(me, "یک")
        await omid[0].send_text(me, "two")
        await sara[0].send_text(peer, "three, from sara")
        wanted = ["یک", "two", "three, from sara"]
        assert [m.text for m in await sara[0].history(peer)] == wanted
        written = await sara[0].set_up_recovery()
        headers = {"authorization": f"Bearer {sara[0].token}"}
        stored = (await sara[0].http.get("/api/keys/backup", headers=headers)).json()
        assert backup.parse_recovery_key(written).hex() not in json.dumps(stored)

        # The device loses what it had opened and sent: the ratchet has moved on, nothing opens.
        store = sara[0].keystore
        for kept in (store.history, store.opened, store.sent, store.sent_keys):
            kept.clear()
        assert all(m.error for m in await sara[0].history(peer))
        with pytest.raises(backup.BadRecoveryKey):
            await sara[0].restore(written[:-1] + ("A" if written[-1] != "A" else "B"))
        with pytest.raises(DecryptError):
            await sara[0].restore(backup.format_recovery_key(bytes(32)))
        assert not store.history, "a wrong key kept nothing"
        assert await sara[0].restore(written.lower()) == 3
        assert [m.text for m in await sara[0].history(peer)] == wanted

        # A device linked over the relay gets the history with its identity.
        await laptop.login(me, PASSWORD)
        request = await laptop.start_link()
        approving = asyncio.create_task(sara[0].approve_link(request.qr, confirm=lambda code: True, timeout=30))
        await request.finish(timeout=30)
        await approving
        assert [m.text for m in await laptop.history(peer)] == wanted
        assert await sara[0].back_up(backup.parse_recovery_key(written)) == 3
    finally:
        await laptop.close()
        await close(sara, omid)
