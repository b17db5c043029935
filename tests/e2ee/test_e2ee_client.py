"""The Python client and the real server, end to end: two people with two devices each."""

from __future__ import annotations

import uuid

import httpx
import orjson
import pytest
from helpers import Socket

from payambar.client import Client, IdentityChanged, KeysRejected, Keystore
from payambar.e2ee.primitives import b64, unb64
from tests import e2ee_database as db
from tests.e2ee_people import close, linked_device, person


async def test_two_people_with_two_devices_each_read_every_message_both_ways(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path), await person(live_server, tmp_path)
    try:
        sent = await sara[0].send_text(omid[0].username, "سلام امید، این رمزنگاری شده است")
        assert sent["text"] == "" and sent["envelope"]
        reply = await omid[1].send_text(sara[0].username, "درود سارا! رسید")
        for device in omid + sara:
            texts = [m.text for m in await device.history(omid[0].username if device in sara else sara[0].username)]
            assert texts == ["سلام امید، این رمزنگاری شده است", "درود سارا! رسید"], (device.username, texts)
        again = await sara[1].send_text(omid[0].username, "سومی")
        for device in omid + sara:
            peer = omid[0].username if device in sara else sara[0].username
            assert [m.text for m in await device.history(peer)][-1] == "سومی"
        assert reply["id"] < again["id"]
    finally:
        await close(sara, omid)


async def test_a_device_removed_from_the_list_reads_nothing_sent_after(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path), await person(live_server, tmp_path)
    try:
        await sara[0].send_text(omid[0].username, "before removal")
        await omid[0].remove_device(omid[1].keystore.device.device_id)
        await sara[0].send_text(omid[0].username, "after removal")
        removed = await omid[1].history(sara[0].username)
        assert removed[0].text == "before removal"
        assert removed[1].text is None and removed[1].error.startswith("could not be decrypted")
        assert [m.text for m in await omid[0].history(sara[0].username)] == ["before removal", "after removal"]
        assert [m.text for m in await sara[1].history(omid[0].username)] == ["before removal", "after removal"]
    finally:
        await close(sara, omid)


async def test_a_device_approved_later_reads_what_is_sent_after_it_joined(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path, 1), await person(live_server, tmp_path, 1)
    try:
        await sara[0].send_text(omid[0].username, "before the new phone")
        phone = await linked_device(live_server, tmp_path, omid[0], 1)
        omid.append(phone)
        await sara[0].send_text(omid[0].username, "after the new phone")
        await phone.send_text(sara[0].username, "from the new phone")
        read = await phone.history(sara[0].username)
        assert [m.text for m in read] == [None, "after the new phone", "from the new phone"]
        assert [m.text for m in await omid[0].history(sara[0].username)] == [
            "before the new phone",
            "after the new phone",
            "from the new phone",
        ]
        assert sara[0].safety_number(omid[0].username) == phone.safety_number(sara[0].username)
    finally:
        await close(sara, omid)


async def test_a_marker_sent_encrypted_is_in_no_stored_byte_log_line_response_or_frame(server_factory, tmp_path):
    server = server_factory(LOG_LEVEL="debug")
    answers: list[bytes] = []

    async def record(response: httpx.Response) -> None:
        answers.append(await response.aread())

    def recording_client(path) -> Client:
        http = httpx.AsyncClient(base_url=server.url, timeout=30, event_hooks={"response": [record]})
        return Client(server.url, path, http=http)

    sara, omid = await person(server, tmp_path, 1), await person(server, tmp_path, 1)
    sara_reader, omid_reader = recording_client(sara[0].keystore_path), recording_client(omid[0].keystore_path)
    for reader, owner in ((sara_reader, sara[0]), (omid_reader, omid[0])):
        reader.token, reader.user, reader.keystore = owner.token, owner.user, owner.keystore
    socket = await Socket.open(server, omid[0].token)
    marker = f"MARKER-{uuid.uuid4().hex}-نشانه"
    try:
        sent = await sara_reader.send_text(omid[0].username, f"the secret is {marker}")
        edited = await sara_reader.edit_text(sent, f"the secret, edited, is {marker}")
        frames = [await socket.expect("message"), await socket.expect("edit")]
        read = await omid_reader.history(sara[0].username)
        assert read[0].text == f"the secret, edited, is {marker}"
        stream, _ = await omid_reader.updates(after=0, timeout=0)
        assert all(m.encrypted for _, m in stream if m)
        history = await omid_reader._call("GET", f"/api/conversations/{sara[0].username}/messages")
        assert all(m["envelope"] and m["text"] == "" for m in history["messages"])
        needle = marker.encode()
        assert needle not in await db.every_stored_byte(server)
        assert needle not in server.log().encode()
        assert answers and not any(needle in answer for answer in answers)
        assert not any(needle in orjson.dumps(frame) for frame in frames + [sent, edited])
    finally:
        await socket.close(), await sara_reader.close(), await omid_reader.close(), await close(sara, omid)


async def test_tampered_replayed_reordered_and_moved_ciphertexts_fail_and_break_nothing_after(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path, 1), await person(live_server, tmp_path, 1)
    reza = await person(live_server, tmp_path, 1)
    try:
        first = await sara[0].send_text(omid[0].username, "one")
        assert [m.text for m in await omid[0].history(sara[0].username)] == ["one"]
        later = [await sara[0].send_text(omid[0].username, word) for word in ("two", "three", "four", "five", "six")]
        two, three, four, five, six = (m["id"] for m in later)
        envelopes = dict(
            await db.fetch(live_server, "SELECT id, envelope FROM messages WHERE id IN (?, ?)", (three, four))
        )
        tampered = bytearray((await db.fetch(live_server, "SELECT envelope FROM messages WHERE id = ?", (two,)))[0][0])
        tampered[-20] ^= 0x01
        await db.execute(live_server, "UPDATE messages SET envelope = ? WHERE id = ?", (bytes(tampered), two))
        # reordered: three's ciphertext under four's row and the other way round
        await db.execute(live_server, "UPDATE messages SET envelope = ? WHERE id = ?", (envelopes[four], three))
        await db.execute(live_server, "UPDATE messages SET envelope = ? WHERE id = ?", (envelopes[three], four))
        # replayed: "one" again, under five's row with one's own client_id (one's row let go of it)
        one = (await db.fetch(live_server, "SELECT envelope, client_id FROM messages WHERE id = ?", (first["id"],)))[0]
        await db.execute(live_server, "UPDATE messages SET client_id = 'let-go' WHERE id = ?", (first["id"],))
        await db.execute(live_server, "UPDATE messages SET envelope = ?, client_id = ? WHERE id = ?", (*one, five))
        # moved: six now claims to come from reza, in the chat reza and omid never had
        await db.execute(live_server, "UPDATE messages SET sender_id = ? WHERE id = ?", (reza[0].user_id, six))
        after = await sara[0].send_text(omid[0].username, "seven")
        read = {m.id: m for m in await omid[0].history(sara[0].username)}
        assert read[first["id"]].text == "one"  # read before, kept on the device
        for message_id in (two, three, four, five):
            assert read[message_id].text is None and read[message_id].error.startswith("could not be decrypted")
        moved = [m for m in await omid[0].history(reza[0].username) if m.id == six]
        assert moved[0].text is None and moved[0].error
        assert read[after["id"]].text == "seven"
        await omid[0].send_text(sara[0].username, "still talking")
        assert [m.text for m in await sara[0].history(omid[0].username)][-1] == "still talking"
    finally:
        await close(sara, omid, reza)


async def test_a_device_added_by_the_operator_is_refused_before_anything_is_sent(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path, 1), await person(live_server, tmp_path, 1)
    try:
        await sara[0].send_text(omid[0].username, "hello")
        intruder = Keystore.new_device(omid[0].user_id)
        listed = orjson.loads((await db.fetch(live_server, LIST, (omid[0].user_id,)))[0][0])
        listed["devices"].append({"device_id": b64(intruder.device.device_id), "device_key": b64(intruder.device_key)})
        listed["devices"].sort(key=lambda d: unb64(d["device_id"]))
        await db.execute(live_server, SET_LIST, (orjson.dumps(listed).decode(), omid[0].user_id))
        await db.execute(live_server, ADD_BUNDLE, _intruder_row(omid[0].user_id, intruder))
        count = await _message_count(live_server)
        with pytest.raises(KeysRejected):
            await sara[0].send_text(omid[0].username, "not for the intruder")
        assert await _message_count(live_server) == count
    finally:
        await close(sara, omid)


async def test_an_identity_swapped_by_the_operator_blocks_sending_until_accepted(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path, 1), await person(live_server, tmp_path, 1)
    try:
        await sara[0].send_text(omid[0].username, "hello")
        before = sara[0].safety_number(omid[0].username)
        intruder = Keystore.new_device(omid[0].user_id)  # a new identity, validly signed by the operator
        forged = intruder.sign_device_list([(intruder.device.device_id, intruder.device_key)], 5)
        await db.execute(live_server, SET_LIST, (orjson.dumps(forged.as_json()).decode(), omid[0].user_id))
        await db.execute(live_server, ADD_BUNDLE, _intruder_row(omid[0].user_id, intruder))
        count = await _message_count(live_server)
        with pytest.raises(IdentityChanged):
            await sara[0].send_text(omid[0].username, "not for the intruder")
        assert await _message_count(live_server) == count
        sara[0].accept_identity(omid[0].user_id)  # the person decides; only then does it go
        await sara[0].send_text(omid[0].username, "accepted")
        assert sara[0].safety_number(omid[0].username) != before
    finally:
        await close(sara, omid)


async def test_a_bundle_swapped_by_the_operator_is_refused(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path, 1), await person(live_server, tmp_path, 1)
    try:
        device_id = b64(omid[0].keystore.device.device_id)
        bundle = orjson.loads((await db.fetch(live_server, BUNDLE, (omid[0].user_id, device_id)))[0][0])
        bundle["signed_prekey"]["key"] = b64(Keystore.new_device(1).bundle().signed_prekey)
        await db.execute(live_server, SET_BUNDLE, (orjson.dumps(bundle).decode(), omid[0].user_id, device_id))
        with pytest.raises(KeysRejected):
            await sara[0].send_text(omid[0].username, "never sent")
    finally:
        await close(sara, omid)


LIST = "SELECT device_list FROM key_identities WHERE user_id = ?"
SET_LIST = "UPDATE key_identities SET device_list = ? WHERE user_id = ?"
BUNDLE = "SELECT bundle FROM key_bundles WHERE user_id = ? AND device_id = ?"
SET_BUNDLE = "UPDATE key_bundles SET bundle = ? WHERE user_id = ? AND device_id = ?"
ADD_BUNDLE = "INSERT INTO key_bundles (user_id, device_id, device_key, bundle, updated_at) VALUES (?, ?, ?, ?, 0)"


def _intruder_row(user_id: int, intruder: Keystore) -> tuple:
    bundle = orjson.dumps(intruder.bundle().as_json()).decode()
    return (user_id, b64(intruder.device.device_id), b64(intruder.device_key), bundle)


async def _message_count(server) -> int:
    return (await db.fetch(server, "SELECT COUNT(*) FROM messages"))[0][0]
