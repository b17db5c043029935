"""Batched delivery: a connection that asks for it gets waiting frames together, one `updates`
frame for many, each update still once and in order."""

from __future__ import annotations

import websockets

from tests.helpers import Socket, register


async def open_batched(server, token: str, after: int | None = None) -> Socket:
    connection = await websockets.connect(server.ws_url, max_size=2**22)
    socket = Socket(connection)
    frame = {"type": "auth", "token": token, "batch": True}
    if after is not None:
        frame["after"] = after
    await socket.send_frame(frame)
    socket.ready = await socket.expect("ready")
    return socket


def flatten(frames: list[dict]) -> list[dict]:
    out = []
    for frame in frames:
        out.extend(frame["updates"] if frame["type"] == "updates" else [frame])
    return out


async def test_a_replay_arrives_as_batches_each_update_once_in_order(live_server):
    sara, omid = await register(live_server), await register(live_server)
    for number in range(40):
        await sara.send(omid.username, f"m{number}")
    device = await open_batched(live_server, omid.token, after=0)
    try:
        frames = []
        while len(flatten(frames)) < 40:
            frames.append(await device.receive())
        assert any(frame["type"] == "updates" for frame in frames)
        assert [u["seq"] for u in flatten(frames)] == list(range(1, 41))
        assert await device.quiet(0.3) == []
    finally:
        await device.close()


async def test_one_message_at_a_time_is_a_plain_frame(live_server):
    sara, omid = await register(live_server), await register(live_server)
    device = await open_batched(live_server, omid.token)
    try:
        await sara.send(omid.username, "alone")
        frame = await device.expect("message")
        assert frame["message"]["text"] == "alone"
    finally:
        await device.close()


async def test_a_burst_of_sends_is_answered_in_fewer_frames_with_every_ack(live_server):
    sara, omid = await register(live_server), await register(live_server)
    sender = await open_batched(live_server, sara.token)
    try:
        refs = [f"r{n}" for n in range(100)]
        await sender.send_frame({"type": "ping"})
        for ref in refs:
            await sender.send_frame({"type": "send", "ref": ref, "to": omid.username, "text": ref, "client_id": ref})
        frames, acks = [], []
        while len(acks) < len(refs):
            frame = await sender.receive()
            frames.append(frame)
            acks += [f for f in flatten([frame]) if f["type"] == "ack"]
        assert [a["ref"] for a in acks] == refs
        assert [a["seq"] for a in acks] == list(range(1, 101))
        assert len(frames) < len(refs) + 1  # the pong and 100 acks: unbatched they take 101 frames
    finally:
        await sender.close()
