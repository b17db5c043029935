"""The Redis backend: pub/sub channels between instances, and shared presence.

Redis is a pipe and a cache, never the record: whatever it loses (a restart, a cut connection)
is caught up from the database. When the subscription connection breaks, this backend keeps
reconnecting by itself and, once subscribed again, yields a RECONNECTED event so every local
connection catches up from its cursor.

Presence: a hash per user, one field per instance holding that instance's connection count,
and a sorted set of instances with their last heartbeat. A user is online while any instance
that is still alive counts a connection, so a crashed instance's counts simply stop counting.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from broadcast.base import RECONNECTED, Event

log = logging.getLogger("payambar.broadcast")

PREFIX = "payambar:"
HEARTBEAT_SECONDS = 5.0
INSTANCE_TIMEOUT_MS = 15_000
PRESENCE_TTL_SECONDS = 86_400
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0)
COMMAND_TIMEOUT_SECONDS = 2.0
CONFIRM_SECONDS = 2.0


class RedisBackend:
    shared = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.instance = secrets.token_hex(6)
        self._client = aioredis.from_url(
            url, decode_responses=True, socket_timeout=COMMAND_TIMEOUT_SECONDS, socket_connect_timeout=2.0
        )
        self._listener_client: aioredis.Redis | None = None
        self._pubsub: aioredis.client.PubSub | None = None
        self._channels: set[str] = set()
        self._broken = False
        self._live_instances: set[str] = {self.instance}
        self._heartbeat_task: asyncio.Task | None = None
        self._local_counts: dict[int, int] = {}
        self._confirmations: dict[str, list[asyncio.Event]] = {}  # channel -> subscribers waiting

    # ---- channels -------------------------------------------------------------------------

    async def connect(self) -> None:
        await self._open_pubsub()
        await self._beat()
        self._heartbeat_task = asyncio.create_task(self._heartbeat(), name="payambar-redis-heartbeat")

    async def _open_pubsub(self) -> None:
        # No silent retries on this connection: a break must surface here, so that listeners
        # are told to catch up.
        self._listener_client = aioredis.from_url(
            self.url, decode_responses=True, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2.0
        )
        self._pubsub = pubsub = self._listener_client.pubsub()
        if self._channels:
            await pubsub.subscribe(*(PREFIX + channel for channel in self._channels))
        else:
            await pubsub.subscribe(f"{PREFIX}noop")

    async def _close_pubsub(self) -> None:
        pubsub, client = self._pubsub, self._listener_client
        self._pubsub = self._listener_client = None
        for closing in (pubsub, client):
            if closing is None:
                continue
            try:
                await closing.aclose()
            except (RedisError, OSError):
                pass

    async def disconnect(self) -> None:
        if self._heartbeat_task:
            self._heartbeat_task.cancel()
        try:
            pipe = self._client.pipeline(transaction=False)
            for user_id in self._local_counts:
                pipe.hdel(f"{PREFIX}presence:{user_id}", self.instance)
            pipe.zrem(f"{PREFIX}instances", self.instance)
            await pipe.execute()
        except (RedisError, OSError):
            pass
        await self._close_pubsub()
        await self._client.aclose()

    async def subscribe(self, channel: str) -> bool:
        """Subscribes and waits for Redis to confirm it (the listener sees the confirmation), so
        that what is published from then on is sure to arrive here."""
        self._channels.add(channel)
        if self._pubsub is None or self._broken:
            return False
        confirmed = asyncio.Event()
        self._confirmations.setdefault(PREFIX + channel, []).append(confirmed)
        try:
            await self._pubsub.subscribe(PREFIX + channel)
            await asyncio.wait_for(confirmed.wait(), CONFIRM_SECONDS)
            return True
        except (RedisError, OSError):
            self._broken = True
            return False
        except TimeoutError:
            return False
        finally:
            waiting = self._confirmations.get(PREFIX + channel, [])
            if confirmed in waiting:
                waiting.remove(confirmed)
            if not waiting:
                self._confirmations.pop(PREFIX + channel, None)

    def _confirmed(self, channel: str) -> None:
        for confirmed in self._confirmations.get(channel, ()):
            confirmed.set()

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        if self._pubsub is not None and not self._broken:
            try:
                await self._pubsub.unsubscribe(PREFIX + channel)
            except (RedisError, OSError):
                self._broken = True

    async def publish(self, messages: Sequence[tuple[str, str]]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for channel, message in messages:
            pipe.publish(PREFIX + channel, message)
        await pipe.execute()

    async def next_published(self) -> Event:
        while True:
            if self._broken or self._pubsub is None:
                await self._reconnect()
                return Event(RECONNECTED, "")
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as error:
                log.warning("redis subscription lost (%s); reconnecting", error)
                self._broken = True
                continue
            if message is None:
                continue
            if message.get("type") == "subscribe":
                self._confirmed(message["channel"])
            elif message.get("type") == "message":
                return Event(message["channel"][len(PREFIX) :], message["data"])

    async def _reconnect(self) -> None:
        attempt = 0
        while True:
            await self._close_pubsub()
            try:
                await self._open_pubsub()
                self._broken = False
                await self._restore_presence()
                log.warning("redis subscription restored")
                return
            except (RedisError, OSError):
                await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
                attempt += 1

    async def ping(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self._client.ping(), COMMAND_TIMEOUT_SECONDS))
        except (RedisError, OSError, TimeoutError):
            return False

    # ---- presence -------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self._beat()
            except (RedisError, OSError):
                pass  # the subscription's reconnect restores what a restart lost

    async def _beat(self) -> None:
        now = int(time.time() * 1000)
        pipe = self._client.pipeline(transaction=False)
        pipe.zadd(f"{PREFIX}instances", {self.instance: now})
        pipe.zremrangebyscore(f"{PREFIX}instances", 0, now - 10 * INSTANCE_TIMEOUT_MS)
        pipe.zrangebyscore(f"{PREFIX}instances", now - INSTANCE_TIMEOUT_MS, "+inf")
        *_, live = await pipe.execute()
        self._live_instances = set(live) | {self.instance}

    async def _restore_presence(self) -> None:
        """After Redis restarted (it keeps nothing), counts this instance's connections again."""
        await self._beat()
        if not self._local_counts:
            return
        pipe = self._client.pipeline(transaction=False)
        for user_id, count in self._local_counts.items():
            pipe.hset(f"{PREFIX}presence:{user_id}", self.instance, count)
            pipe.expire(f"{PREFIX}presence:{user_id}", PRESENCE_TTL_SECONDS)
        await pipe.execute()

    def _count_live(self, fields: dict[str, str]) -> int:
        return sum(int(count) for instance, count in fields.items() if instance in self._live_instances)

    async def join(self, user_id: int) -> int:
        self._local_counts[user_id] = self._local_counts.get(user_id, 0) + 1
        key = f"{PREFIX}presence:{user_id}"
        pipe = self._client.pipeline(transaction=False)
        pipe.hincrby(key, self.instance, 1)
        pipe.expire(key, PRESENCE_TTL_SECONDS)
        pipe.hgetall(key)
        *_, fields = await pipe.execute()
        return self._count_live(fields)

    async def leave(self, user_id: int) -> int:
        remaining = self._local_counts.get(user_id, 0) - 1
        if remaining > 0:
            self._local_counts[user_id] = remaining
        else:
            self._local_counts.pop(user_id, None)
        key = f"{PREFIX}presence:{user_id}"
        pipe = self._client.pipeline(transaction=False)
        if remaining > 0:
            pipe.hset(key, self.instance, remaining)
        else:
            pipe.hdel(key, self.instance)
        pipe.hgetall(key)
        *_, fields = await pipe.execute()
        return self._count_live(fields)

    async def online(self, user_ids: Sequence[int]) -> set[int]:
        if not user_ids:
            return set()
        pipe = self._client.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hgetall(f"{PREFIX}presence:{user_id}")
        found = await pipe.execute()
        return {user_id for user_id, fields in zip(user_ids, found, strict=True) if self._count_live(fields) > 0}
