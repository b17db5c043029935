"""Messages between people with keys: envelopes in, envelopes out, plaintext refused on every path."""

from __future__ import annotations

import uuid

import orjson
from checks import assert_error
from helpers import Api, Socket, register

from payambar.e2ee import envelope as env
from payambar.e2ee.primitives import b64, unb64
from tests import e2ee_database as db
from tests.e2ee_people import close, person


def api_of(server, client) -> Api:
    return Api(server, client.token, client.user)


async def test_plaintext_between_two_people_with_keys_is_409_on_http_websocket_forward_and_edit(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path, 1), await person(live_server, tmp_path, 1)
    api = api_of(live_server, sara[0])
    socket = await Socket.open(live_server, sara[0].token)
    try:
        body = {"to": omid[0].username, "client_id": uuid.uuid4().hex, "text": "in the clear"}
        assert_error(await api.post("/api/messages", json=body), 409, "encryption_required")
        await socket.send_frame({"type": "send", "ref": "r1", **body})
        frame = await socket.expect("error")
        assert (frame["code"], frame["ref"]) == ("encryption_required", "r1")
        sent = await sara[0].send_text(omid[0].username, "sealed")
        forward = {"to": omid[0].username, "client_id": uuid.uuid4().hex, "forward_of": sent["id"]}
        assert_error(await api.post("/api/messages", json=forward), 409, "encryption_required")
        assert_error(await api.patch(f"/api/messages/{sent['id']}", json={"text": "plain edit"}), 409)
        history = await omid[0].history(sara[0].username)
        assert [m.text for m in history] == ["sealed"]  # nothing plaintext got in
    finally:
        await socket.close(), await api.close(), await close(sara, omid)


async def test_an_envelope_to_someone_without_keys_is_409_and_their_chat_stays_plaintext(live_server, tmp_path):
    sara = await person(live_server, tmp_path, 1)
    script = await register(live_server)  # an old script: no keys at all
    api = api_of(live_server, sara[0])
    try:
        real = b64(env.Envelope(b"\x01" * 8, 1, (_entry(),), b"\x00" * 12, b"\x00" * 48).to_bytes())
        body = {"to": script.username, "client_id": "c1", "envelope": real}
        assert_error(await api.post("/api/messages", json=body), 409, "peer_not_encrypted")
        plain = await api.send(script.username, "hello script")
        assert plain["envelope"] is None and plain["text"] == "hello script"
        back = await script.send(sara[0].username, "hello person")
        assert back["envelope"] is None
    finally:
        await script.close(), await api.close(), await close(sara)


def _entry() -> env.Entry:
    return env.Entry(b"\x02" * 8, None, b"\x03" * 32, 0, 0, b"\x04" * 48)


async def test_envelopes_are_checked_for_shape_and_size(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path, 1), await person(live_server, tmp_path, 1)
    api = api_of(live_server, sara[0])
    good = env.Envelope(b"\x01" * 8, 1, (_entry(),), b"\x00" * 12, b"\x00" * 48).to_bytes()
    base = {"to": omid[0].username, "client_id": "shape"}
    try:
        for bad in ["not base64!", b64(b"\x02" + good[1:]), b64(good[:-20]), b64(good) + "=", 12]:
            response = await api.post("/api/messages", json=base | {"envelope": bad})
            assert_error(response, 422, "invalid_input", "envelope")
        with_text = await api.post("/api/messages", json=base | {"envelope": b64(good), "text": "also"})
        assert_error(with_text, 422, "invalid_input", "text")
        huge = env.Envelope(b"\x01" * 8, 1, (_entry(),), b"\x00" * 12, b"\x00" * 47_000).to_bytes()
        assert_error(await api.post("/api/messages", json=base | {"envelope": b64(huge)}), 413, "envelope_too_large")
    finally:
        await api.close(), await close(sara, omid)


async def test_history_updates_and_frames_carry_the_stored_envelope_byte_for_byte(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path, 1), await person(live_server, tmp_path, 1)
    socket = await Socket.open(live_server, omid[0].token)
    try:
        sent = await sara[0].send_text(omid[0].username, "byte for byte")
        frame = await socket.expect("message")
        page = (await omid[0]._call("GET", f"/api/conversations/{sara[0].username}/messages"))["messages"]
        stream, _ = await omid[0].updates(after=0, timeout=0)
        stored = (await db.fetch(live_server, "SELECT envelope FROM messages WHERE id = ?", (sent["id"],)))[0][0]
        for message in (frame["message"], page[-1], stream[-1][0]["message"], sent):
            assert unb64(message["envelope"]) == bytes(stored)
            assert message["text"] == ""
        assert stream[-1][1].text == "byte for byte"
    finally:
        await socket.close(), await close(sara, omid)


async def test_an_edit_carries_a_new_envelope_and_a_delete_drops_it(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path, 2), await person(live_server, tmp_path, 1)
    try:
        sent = await sara[0].send_text(omid[0].username, "first words")
        edited = await sara[0].edit_text(sent, "second words")
        assert edited["envelope"] != sent["envelope"] and edited["edited_at"]
        for reader, peer in ((omid[0], sara[0].username), (sara[1], omid[0].username)):
            [message] = await reader.history(peer)
            assert (message.kind, message.text) == ("edit", "second words")
        api = api_of(live_server, sara[0])
        deleted = (await api.delete(f"/api/messages/{sent['id']}")).json()
        await api.close()
        assert deleted["deleted"] is True and deleted["envelope"] is None
        stored = await db.fetch(live_server, "SELECT envelope, text FROM messages WHERE id = ?", (sent["id"],))
        assert stored == [(None, "")]
    finally:
        await close(sara, omid)


async def test_encrypted_messages_never_enter_the_search_index(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path, 1), await person(live_server, tmp_path, 1)
    try:
        sent = await sara[0].send_text(omid[0].username, "findable words")
        await sara[0].edit_text(sent, "findable words again")
        if live_server.env["DATABASE_URL"].startswith("sqlite"):
            query = "SELECT rowid FROM message_search WHERE rowid = ?"
        else:
            query = "SELECT message_id FROM message_search WHERE message_id = ?"
        assert await db.fetch(live_server, query, (sent["id"],)) == []
        found = await sara[0]._call("GET", "/api/search", params={"q": "findable"})
        assert orjson.dumps(found).find(b"findable") == -1
    finally:
        await close(sara, omid)


async def test_an_envelope_for_no_device_is_taken_only_in_a_chat_with_yourself(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path, 1), await person(live_server, tmp_path, 1)
    api = api_of(live_server, sara[0])
    try:
        for_nobody = b64(env.Envelope(b"\x01" * 8, 1, (), b"\x00" * 12, b"\x00" * 48).to_bytes())
        to_self = {"to": sara[0].username, "client_id": "note-1", "envelope": for_nobody}
        answer = await api.post("/api/messages", json=to_self)
        assert answer.status_code == 201 and answer.json()["envelope"] == for_nobody
        to_peer = {"to": omid[0].username, "client_id": "c2", "envelope": for_nobody}
        assert_error(await api.post("/api/messages", json=to_peer), 422, field="envelope")
        assert await omid[0].history(sara[0].username) == []
    finally:
        await api.close(), await close(sara, omid)
