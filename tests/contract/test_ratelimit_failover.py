"""The limiter while Redis is away: the failover limiter keeps counting in the process and
goes back to Redis when it answers again, against a private redis-server this test starts
and kills (tests/redis_server.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import cast

import pytest
import redis.asyncio as aioredis

from inbox.ratelimit import FailoverRateLimiter, MemoryRateLimiter, Rate, RedisRateLimiter
from tests.redis_server import RedisServer


@pytest.fixture
async def server(redis_url: str, tmp_path: Path) -> AsyncIterator[RedisServer]:
    # `redis_url` makes this a Redis test: skipped without PULT_TEST_REDIS_URL (a machine
    # that may have no redis-server), and CI fails when a Redis test is skipped.
    del redis_url
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


async def test_a_redis_outage_limits_in_the_process_and_redis_is_used_again_when_back(
    server: RedisServer,
) -> None:
    # Before: the Redis limiter raised ConnectionError, which killed the outbox job.
    client = aioredis.from_url(server.url, socket_connect_timeout=0.5, socket_timeout=0.5)
    shared = RedisRateLimiter(client, namespace=f"test-{uuid.uuid4().hex[:8]}")
    limiter = FailoverRateLimiter(shared, MemoryRateLimiter(), retry_seconds=0.2)
    rate = Rate(2, 30.0)
    try:
        assert await limiter.acquire("telegram:bot", rate) == 0.0
        assert not limiter.using_fallback
        server.kill()
        # Redis is away: the local limiter takes over and still limits, knowing the send
        # Redis admitted before.
        assert await limiter.acquire("telegram:bot", rate) == 0.0
        assert limiter.using_fallback and limiter.failovers == 1
        assert await limiter.acquire("telegram:bot", rate) > 0
        ticket = await limiter.hold([("telegram:chat:1", rate)])
        await limiter.release(ticket)
        await limiter.pause(["telegram:chat:2"], 5.0)
        assert await limiter.acquire("telegram:chat:2", rate) > 4

        server.start()
        await asyncio.sleep(0.25)  # the retry interval: no event tells us it has passed
        # Back on Redis (a new, empty one: it keeps nothing on disk), which counts again;
        # what this process sent meanwhile still counts: the bot key stays full.
        assert await limiter.acquire("telegram:chat:9", Rate(1, 30.0)) == 0.0
        assert not limiter.using_fallback
        assert await limiter.acquire("telegram:chat:9", Rate(1, 30.0)) > 0
        assert await limiter.acquire("telegram:bot", rate) > 0
        keys = await cast("Awaitable[list[bytes]]", client.keys(f"pult:{shared.namespace}:*"))
        assert shared.redis_key("telegram:chat:9").encode() in keys
    finally:
        await client.aclose()
