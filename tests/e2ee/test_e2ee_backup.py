"""History under a recovery key (docs/e2ee.md §14): the vectors rebuild byte for byte, the right key
opens the backup, and a wrong key, a typo, a changed byte or another person's backup open nothing;
the server keeps only the sealed bytes it was given."""

from __future__ import annotations

import json

import pytest
from checks import close_all, register_many

from payambar.e2ee import backup
from payambar.e2ee.backup_vectors import VECTORS_FILE, build
from payambar.e2ee.primitives import DecryptError, b64, unb64

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
