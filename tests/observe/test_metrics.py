"""/metrics: off unless METRICS_TOKEN is set, then only with that token; Prometheus text with the
figures an operator graphs. /health tells anonymous callers nothing more than up or down."""

from __future__ import annotations

import asyncio
import re

import pytest
from checks import assert_error, close_all, register_many
from helpers import Api, Socket

from settings import SettingsError, load_settings

TOKEN = "metrics-token-for-the-tests-0123"


def _samples(text: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


async def test_metrics_are_off_without_a_token(live_server):
    assert_error(await Api(live_server).get("/metrics"), 404, "not_found")
    response = await Api(live_server).get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert_error(response, 404, "not_found")


async def test_metrics_need_the_token_not_a_user_token(server_factory):
    server = server_factory(METRICS_TOKEN=TOKEN)
    (user,) = await register_many(server, 1)
    assert_error(await Api(server).get("/metrics"), 401, "unauthorized")
    assert_error(await user.get("/metrics"), 401, "unauthorized")  # a user's token is not it
    stranger = Api(server, "not-the-token")
    assert_error(await stranger.get("/metrics"), 401, "unauthorized")
    assert (await Api(server, TOKEN).get("/metrics")).status_code == 200
    await close_all(user, stranger)


async def test_guessing_the_token_is_rate_limited(server_factory):
    server = server_factory(METRICS_TOKEN=TOKEN)
    guesser = Api(server, "guess")
    statuses = [(await guesser.get("/metrics")).status_code for _ in range(12)]
    assert statuses[:10] == [401] * 10
    assert_error(await guesser.get("/metrics"), 429, "rate_limited")
    await guesser.close()


async def test_metrics_count_connections_messages_batches_and_responses(server_factory):
    server = server_factory(METRICS_TOKEN=TOKEN)
    scraper = Api(server, TOKEN)
    sara, omid = await register_many(server, 2)
    before = _samples((await scraper.get("/metrics")).text)
    sockets = [await Socket.open(server, sara.token), await Socket.open(server, omid.token)]
    for number in range(30):
        await sockets[0].send_message(omid.username, f"m{number}")
    await sockets[0].collect(30)
    await asyncio.gather(*(sara.send(omid.username, f"h{number}") for number in range(20)))
    response = await scraper.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE payambar_writer_batch_size histogram" in response.text
    after = _samples(response.text)
    assert after["payambar_websocket_connections"] == 2
    assert after["payambar_messages_stored_total"] - before["payambar_messages_stored_total"] == 50
    assert after["payambar_writer_batches_total"] > before["payambar_writer_batches_total"]
    assert after['payambar_writer_batch_size_bucket{le="+Inf"}'] == after["payambar_writer_batches_total"]
    assert after["payambar_writer_batch_size_sum"] == after["payambar_writer_operations_total"]
    buckets = [value for name, value in after.items() if name.startswith("payambar_writer_batch_size_bucket")]
    assert buckets == sorted(buckets), "buckets are cumulative"
    assert after["payambar_writer_queue_depth"] >= 0
    assert after["payambar_send_queue_frames"] >= 0 and after["payambar_broadcast_queue_depth"] >= 0
    assert after["payambar_broadcast_published_total"] > before["payambar_broadcast_published_total"]
    assert (
        after['payambar_http_responses_total{class="2xx"}'] >= before['payambar_http_responses_total{class="2xx"}'] + 20
    )
    assert after["payambar_websocket_sessions_total"] == before["payambar_websocket_sessions_total"] + 2
    assert re.search(r"^payambar_start_time_seconds \d", response.text, re.M)
    for socket in sockets:
        await socket.close()
    await close_all(scraper, sara, omid)


async def test_health_does_not_tell_anonymous_callers_the_connection_count(server_factory):
    server = server_factory(METRICS_TOKEN=TOKEN)
    (sara,) = await register_many(server, 1)
    socket = await Socket.open(server, sara.token)
    body = (await Api(server).get("/health")).json()
    assert body == {"status": "ok", "database": "ok"}
    await socket.close()
    await sara.close()


def test_a_short_metrics_token_stops_the_server_at_start(tmp_path):
    with pytest.raises(SettingsError, match="METRICS_TOKEN"):
        load_settings({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 32, "METRICS_TOKEN": "short"})
    assert load_settings({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 32}).metrics_token == ""


async def test_what_the_app_made_at_start_is_frozen_out_of_garbage_collection(server_factory):
    server = server_factory(METRICS_TOKEN=TOKEN)
    samples = _samples((await Api(server, TOKEN).get("/metrics")).text)
    assert samples["payambar_gc_frozen_objects"] > 10_000, "modules, routes and the store, walked never again"
    assert {'payambar_gc_collections_total{generation="0"}', 'payambar_gc_collections_total{generation="2"}'} <= set(
        samples
    )
