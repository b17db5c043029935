"""Never lose, never duplicate: a client that comes back with its cursor gets exactly what it missed."""

from __future__ import annotations

import asyncio

from tests.helpers import Socket, register


async def test_resume_after_disconnect_gives_every_missed_change_once_in_order(live_server):
    sara, omid = await register(live_server), await register(live_server)
    phone = await Socket.open(live_server, sara.token)
    cursor = phone.ready["cursor"]
    await phone.close()

    laptop = await Socket.open(live_server, sara.token)
    omid_socket = await Socket.open(live_server, omid.token)
    ids = []
    for text in ("one", "two", "three"):
        await laptop.send_message(omid.username, text)
        ids.append((await laptop.expect("ack"))["message"]["id"])
    await omid_socket.collect(3)
    await omid_socket.send_frame({"type": "delivered", "ids": ids[:2]})
    await omid_socket.send_frame({"type": "read", "peer": sara.username, "up_to": ids[1]})
    assert (await sara.patch(f"/api/messages/{ids[0]}", json={"text": "one, edited"})).status_code == 200
    assert (await sara.delete(f"/api/messages/{ids[2]}")).status_code == 200
    reply = await omid.send(sara.username, "a reply")
    await laptop.collect(6)  # the laptop saw it all live: 2 statuses, read, edit, delete, reply

    phone = await Socket.open(live_server, sara.token, after=cursor)
    missed = await phone.collect(9)
    assert [frame["seq"] for frame in missed] == list(range(cursor + 1, cursor + 10))
    assert [frame["type"] for frame in missed] == [
        "message", "message", "message", "status", "status", "read", "edit", "delete", "message",
    ]  # fmt: skip
    assert [frame["message"]["id"] for frame in missed[:3]] == ids
    assert {frame["message"]["id"] for frame in missed[3:5]} == set(ids[:2])
    assert missed[5]["up_to"] == ids[1] and missed[5]["reader"] == omid.username
    assert missed[6]["message"]["text"] == "one, edited"
    assert missed[7]["message"]["deleted"] is True and missed[7]["message"]["text"] == ""
    assert missed[8]["message"]["id"] == reply["id"]
    assert await phone.quiet(0.5) == []

    live = await omid.send(sara.username, "after the resume")
    after = await phone.expect("message")
    assert after["message"]["id"] == live["id"] and after["seq"] == cursor + 10
    assert await phone.quiet(0.3) == []
    for socket in (phone, laptop, omid_socket):
        await socket.close()


async def test_reconnecting_often_during_a_stream_of_messages_loses_and_repeats_nothing(live_server):
    sara, omid = await register(live_server), await register(live_server)
    total = 120
    sent_ids: list[int] = []

    async def keep_sending():
        socket = await Socket.open(live_server, sara.token)
        for number in range(total):
            await socket.send_message(omid.username, f"m{number}", client_id=f"stream-{number}")
            sent_ids.append((await socket.expect("ack"))["message"]["id"])
            if number % 10 == 0:
                await asyncio.sleep(0.01)
        await socket.close()

    sender = asyncio.create_task(keep_sending())
    seen: list[int] = []
    seqs: list[int] = []
    cursor = 0
    while len(seen) < total:
        socket = await Socket.open(live_server, omid.token, after=cursor)
        try:
            for _ in range(15):
                frame = await socket.expect("message", timeout=10)
                seen.append(frame["message"]["id"])
                seqs.append(frame["seq"])
                cursor = frame["seq"]
                if len(seen) == total:
                    break
        finally:
            await socket.close()
    await sender
    assert seen == sent_ids
    assert seqs == list(range(1, total + 1))


async def test_resume_frame_replays_from_the_given_cursor_without_reconnecting(live_server):
    sara, omid = await register(live_server), await register(live_server)
    socket = await Socket.open(live_server, omid.token)
    first = await sara.send(omid.username, "first")
    second = await sara.send(omid.username, "second")
    frames = await socket.collect(2)
    assert [f["message"]["id"] for f in frames] == [first["id"], second["id"]]
    await socket.send_frame({"type": "resume", "after": 1})
    replayed = await socket.expect("message")
    assert replayed["seq"] == 2 and replayed["message"]["id"] == second["id"]
    third = await sara.send(omid.username, "third")
    live = await socket.expect("message")
    assert live["seq"] == 3 and live["message"]["id"] == third["id"]
    assert await socket.quiet(0.3) == []
    await socket.close()


async def test_send_retried_after_a_lost_connection_makes_one_message(live_server):
    sara, omid = await register(live_server), await register(live_server)
    socket = await Socket.open(live_server, sara.token)
    await socket.send_message(omid.username, "did it arrive?", client_id="retry-me")
    await socket.close()  # gone before reading the ack
    socket = await Socket.open(live_server, sara.token)
    await socket.send_message(omid.username, "did it arrive?", client_id="retry-me")
    # The first send may commit after this connection opened: then its update comes here first.
    ack = await socket.expect("ack", skip=("presence", "message"))
    history = (await omid.get(f"/api/conversations/{sara.username}/messages")).json()["messages"]
    assert [m["id"] for m in history] == [ack["message"]["id"]]
    await socket.close()


async def test_many_senders_at_once_each_message_stored_once_and_delivered_once(live_server):
    receiver = await register(live_server)
    senders = [await register(live_server) for _ in range(4)]
    inbox = await Socket.open(live_server, receiver.token)
    per_sender = 50

    async def burst(api):
        socket = await Socket.open(live_server, api.token)
        for number in range(per_sender):
            await socket.send_message(receiver.username, f"{api.username}:{number}", client_id=str(number))
        acks = await socket.collect(per_sender)
        await socket.close()
        return [ack["message"]["id"] for ack in acks]

    acked = await asyncio.gather(*(burst(api) for api in senders))
    received = await inbox.collect(per_sender * len(senders), timeout=10)
    assert sorted(f["message"]["id"] for f in received) == sorted(i for ids in acked for i in ids)
    assert [f["seq"] for f in received] == list(range(1, per_sender * len(senders) + 1))
    for ids in acked:
        assert ids == sorted(ids)  # one sender's messages keep their order
    await inbox.close()


async def test_cursor_survives_a_server_restart(server_factory):
    server = server_factory()
    sara, omid = await register(server), await register(server)
    await sara.send(omid.username, "before restart")
    socket = await Socket.open(server, omid.token)
    cursor = socket.ready["cursor"]
    await socket.close()
    server.stop()
    server.start()
    await sara.send(omid.username, "after restart")
    socket = await Socket.open(server, omid.token, after=cursor)
    frame = await socket.expect("message")
    assert frame["seq"] == cursor + 1 and frame["message"]["text"] == "after restart"
    assert await socket.quiet(0.3) == []
    await socket.close()


async def test_retry_after_a_restart_still_returns_the_first_message(server_factory):
    server = server_factory()
    sara, omid = await register(server), await register(server)
    first = await sara.send(omid.username, "sent once", client_id="before-restart")
    server.stop()
    server.start()  # the server no longer remembers the send; the database must
    socket = await Socket.open(server, sara.token)
    await socket.send_message(omid.username, "sent once", client_id="before-restart")
    await socket.send_message(omid.username, "a new one", client_id="after-restart")
    ack_retry, ack_new = await socket.collect(2)
    assert ack_retry["message"]["id"] == first["id"]
    assert ack_new["message"]["text"] == "a new one"
    again = await sara.post(
        "/api/messages", json={"to": omid.username, "text": "sent once", "client_id": "before-restart"}
    )
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    history = (await omid.get(f"/api/conversations/{sara.username}/messages")).json()["messages"]
    assert [m["client_id"] for m in history] == ["before-restart", "after-restart"]
    await socket.close()
