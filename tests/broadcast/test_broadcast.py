"""The broadcaster on its own (memory and Redis backends) and the sending that feeds a
connection: acknowledgements, overflow, kicks, seq dedupe and gap filling."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson
import pytest

from broadcast import Broadcaster, Subscriber
from broadcast.memory import MemoryBackend
from live.client import Client
from live.delivery import publisher
from live.outgoing import send_out
from store import Store
from store.operations import SendMessage
from tests.services import redis_server
from wire.protocol import ack_frame


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0.01)


@pytest.fixture
async def hub():
    broadcaster = Broadcaster(MemoryBackend())
    await broadcaster.connect()
    yield broadcaster
    await broadcaster.disconnect()


async def test_the_asking_connection_gets_its_ack_and_the_others_the_update(hub):
    asking, other = hub.new_subscriber(7, "s1"), hub.new_subscriber(7, "s2")
    await hub.attach(asking)
    await hub.attach(other)
    hub.publish([(7, 1, "update", asking.id, "ack")])
    await settle()
    assert await asking.next_frames() == [(1, "ack", True)]
    assert await other.next_frames() == [(1, "update", False)]


async def test_users_hear_only_their_own_notices(hub):
    mine, theirs = hub.new_subscriber(1), hub.new_subscriber(2)
    await hub.attach(mine)
    await hub.attach(theirs)
    hub.send(1, "for one")
    await settle()
    assert await mine.next_frames() == [(None, "for one", False)]
    theirs.wake()
    assert await theirs.next_frames() == []


async def test_a_send_queue_that_overflows_tells_its_connection_once():
    subscriber = Subscriber("x.1", 1, limit=16)
    told = []
    subscriber.on_overflow = lambda: told.append(True)
    for seq in range(1, 30):
        subscriber.deliver(seq, f"f{seq}")
    assert subscriber.overflowed and told == [True]
    assert len(await subscriber.next_frames()) == 16


async def test_a_revoked_session_is_kicked_and_forgotten_everywhere(hub):
    forgotten = []
    hub.on_revoke = forgotten.append
    kept, ended = hub.new_subscriber(3, "keep"), hub.new_subscriber(3, "end")
    await hub.attach(kept)
    await hub.attach(ended)
    hub.revoke("end", 4003)
    await settle()
    assert ended.kicked == 4003 and kept.kicked is None
    assert forgotten == ["end"]


async def test_connections_are_counted_for_presence(hub):
    first, second = hub.new_subscriber(5), hub.new_subscriber(5)
    assert await hub.attach(first) == 1
    assert await hub.attach(second) == 2
    assert await hub.online([5, 6]) == {5}
    assert await hub.detach(first) == 1
    assert await hub.detach(second) == 0
    assert await hub.online([5]) == set()


class RecordingTransport:
    """Stands in for the socket: the pump's frames, in the order it sends them."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send_text(self, text: str) -> None:
        self.sent.append(orjson.loads(text))


@pytest.fixture
async def stream(tmp_path, hub):
    store = Store(f"sqlite:///{tmp_path}/pump.db")
    committed = []
    await store.open(on_commit=committed.extend)
    sara = await store.create_user("sara", "Sara", "hash")
    omid = await store.create_user("omid", "Omid", "hash")
    for number in range(6):
        await store.send_message(SendMessage(sara.id, omid.id, f"m{number}", f"c{number}", None))
    subscriber = hub.new_subscriber(omid.id)
    transport = RecordingTransport()
    connection = Client(transport, SimpleNamespace(store=store), omid.id, "", subscriber)
    yield SimpleNamespace(store=store, committed=committed, subscriber=subscriber, connection=connection,
                          transport=transport, sara=sara, omid=omid, hub=hub)  # fmt: skip
    await store.close()


def _frames_for(stream, user_id: int) -> dict[int, str]:
    """Each committed update of the user as the live notice text, by seq."""
    texts = {}
    publish = publisher(stream.store, SimpleNamespace(publish=lambda notices: texts.update(
        {seq: text for uid, seq, text, _, _ in notices if uid == user_id and seq is not None})))  # fmt: skip
    publish(stream.committed)
    return texts


async def run_sending(stream) -> None:
    task = asyncio.create_task(send_out(stream.connection))
    await settle()
    await asyncio.sleep(0.1)
    stream.subscriber.close()
    await task


async def test_a_seq_that_jumps_ahead_is_preceded_by_the_missing_ones(stream):
    texts = _frames_for(stream, stream.omid.id)
    for seq in (1, 2, 5, 4, 6):  # 3 and 4 lost or late, 4 arrives after 5
        stream.subscriber.deliver(seq, texts[seq])
    await run_sending(stream)
    assert [f["seq"] for f in stream.transport.sent] == [1, 2, 3, 4, 5, 6]
    assert [f["message"]["text"] for f in stream.transport.sent] == [f"m{n}" for n in range(6)]


async def test_updates_already_sent_are_skipped_but_an_ack_still_answers(stream):
    texts = _frames_for(stream, stream.omid.id)
    stream.connection.last_seq = 3
    message_json = orjson.dumps(orjson.loads(texts[2])["message"]).decode()
    stream.subscriber.deliver(2, texts[2])
    stream.subscriber.deliver(2, ack_frame(2, "r9", message_json), True)
    stream.subscriber.deliver(4, texts[4])
    await run_sending(stream)
    sent = stream.transport.sent
    assert [(f["type"], f["seq"]) for f in sent] == [("ack", None), ("message", 4)]
    assert sent[0]["ref"] == "r9"


async def test_a_catch_up_sends_what_is_stored_after_the_last_seq_sent(stream):
    stream.connection.last_seq = 4
    stream.subscriber.request_catch_up()
    await run_sending(stream)
    assert [f["seq"] for f in stream.transport.sent] == [5, 6]


async def test_redis_carries_notices_and_presence_between_instances(tmp_path):
    redis = redis_server(tmp_path / "redis")
    from broadcast.redis import RedisBackend

    first, second = Broadcaster(RedisBackend(redis.url)), Broadcaster(RedisBackend(redis.url))
    await first.connect()
    await second.connect()
    try:
        here = first.new_subscriber(9, "s")
        assert await first.attach(here) == 1
        there = second.new_subscriber(9, "t")
        assert await second.attach(there) == 2
        await asyncio.sleep(0.2)  # Redis confirms subscriptions a moment later
        second.publish([(9, 1, "update", here.id, "ack")])
        received = await asyncio.wait_for(here.next_frames(), 5)
        assert received == [(1, "ack", True)]
        assert await asyncio.wait_for(there.next_frames(), 5) == [(1, "update", False)]
        assert await first.online([9, 10]) == {9}
        second.revoke("s", 4003)
        for _ in range(50):
            if here.kicked:
                break
            await asyncio.sleep(0.05)
        assert here.kicked == 4003
        assert await second.detach(there) == 1
        assert await first.detach(here) == 0
    finally:
        await first.disconnect()
        await second.disconnect()
        redis.stop()
