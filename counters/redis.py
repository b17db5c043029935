"""Counters in Redis, shared by every instance: one key each, lapsing by Redis's own expiry.
Redis away means CountersUnavailable, at once (each caller decides whether to let the action
through)."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from counters.base import CountersUnavailable

PREFIX = "payambar:count:"
COMMAND_TIMEOUT_SECONDS = 2.0


class RedisCounters:
    shared = True

    def __init__(self, url: str) -> None:
        self._client = aioredis.from_url(
            url, decode_responses=True, socket_timeout=COMMAND_TIMEOUT_SECONDS, socket_connect_timeout=2.0
        )

    async def __aenter__(self) -> RedisCounters:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self._client.aclose()

    async def add(self, key: str, amount: int, ttl_seconds: int) -> int:
        full_key = PREFIX + key
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.incrby(full_key, amount)
            pipe.expire(full_key, ttl_seconds, nx=True)
            value, _ = await pipe.execute()
        except (RedisError, OSError) as error:
            raise CountersUnavailable(str(error)) from None
        return int(value)

    async def get(self, key: str) -> int:
        try:
            value = await self._client.get(PREFIX + key)
        except (RedisError, OSError) as error:
            raise CountersUnavailable(str(error)) from None
        return int(value) if value else 0

    async def delete(self, key: str) -> None:
        try:
            await self._client.delete(PREFIX + key)
        except (RedisError, OSError) as error:
            raise CountersUnavailable(str(error)) from None
