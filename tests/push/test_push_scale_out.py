"""Push with two instances sharing PostgreSQL and Redis: a device viewing a chat on one instance
holds back the push for a message that commits on the other."""

from __future__ import annotations

import asyncio

import pytest
from push_service import Browser
from test_push import nothing_more, subscribe

from push.keys import b64url
from tests.helpers import Api, Socket, register
from tests.services import instance, postgres_url, redis_server


@pytest.fixture(scope="module")
def stack(tmp_path_factory, push_service):
    folder = tmp_path_factory.mktemp("push-scale")
    redis = redis_server(folder / "redis")
    database_url = postgres_url()
    shared = {
        "PUSH_ALLOW_PRIVATE": "1",
        "PUSH_CA_FILE": str(push_service.cert_file),
        "VAPID_PRIVATE_KEY": b64url((12345).to_bytes(32, "big")),  # instances must share the key
    }
    first = instance(folder / "a", database_url, redis.url, **shared)
    second = instance(folder / "b", database_url, redis.url, **shared)
    started = []
    try:
        for server in (first, second):
            started.append(server.start())
        yield first, second
    finally:
        for server in started:
            server.stop()
        redis.stop()


async def test_a_view_on_one_instance_holds_back_the_push_of_a_message_sent_on_the_other(stack, push_service):
    first, second = stack
    sara = await register(first)
    omid_here = await register(first)
    omid_there = Api(second, omid_here.token, omid_here.user)
    endpoint = push_service.url()
    browser = await subscribe(omid_there, endpoint, Browser())
    phone = await Socket.open(first, omid_here.token)
    await phone.send_frame({"type": "viewing", "peer": sara.username})
    await phone.send_frame({"type": "ping"})
    await phone.expect("pong")
    sara_there = Api(second, sara.token, sara.user)
    await sara_there.send(omid_here.username, "sent on the other instance")
    await nothing_more(push_service, endpoint, 0)
    await phone.send_frame({"type": "viewing", "peer": None})
    await phone.send_frame({"type": "ping"})
    await phone.expect("pong", skip=("presence", "typing", "message"))
    latest = await sara_there.send(omid_here.username, "now he looks elsewhere")
    assert len(await push_service.wait_for(endpoint, 1)) == 1
    # Read through the other instance than the one that pushed: the read push still comes.
    response = await omid_here.post(f"/api/conversations/{sara.username}/read", json={"up_to": latest["id"]})
    assert response.status_code == 200
    pushes = await push_service.wait_for(endpoint, 2)
    assert browser.decrypt(pushes[1].body) == {"type": "read", "chat": sara.username}
    await phone.close()
    await asyncio.gather(sara.close(), omid_here.close(), omid_there.close(), sara_there.close())
