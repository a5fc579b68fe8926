"""The rate limiter contract, run against every implementation: the memory one on a manual
clock (exact and instant), the Redis one on real time with short windows and two separate
connections standing in for two processes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import cast

import pytest
import redis.asyncio as aioredis

from inbox.ratelimit import MemoryRateLimiter, Rate, RateLimiter, RedisRateLimiter

# Real sleeps against Redis's wall clock: a few milliseconds of slack so that an NTP slew or
# the round trip never turns "exactly the wait" into "a hair too early".
REDIS_SLACK = 0.005


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Limiters:
    """The limiter under test, a second one sharing its counts (another process, where there
    can be one), and a way to let time pass."""

    limiter: RateLimiter
    peer: RateLimiter
    clock: ManualClock | None = None
    clients: list[aioredis.Redis] = field(default_factory=list)

    async def advance(self, seconds: float) -> None:
        if self.clock is not None:
            await self.clock.sleep(seconds)
        else:
            await asyncio.sleep(seconds + REDIS_SLACK)

    def now(self) -> float:
        return self.clock() if self.clock is not None else time.monotonic()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiters(request: pytest.FixtureRequest) -> AsyncIterator[Limiters]:
    if request.param == "memory":
        clock = ManualClock()
        limiter = MemoryRateLimiter(clock=clock, sleep=clock.sleep)
        # One process has one limiter: its "peer" is itself.
        yield Limiters(limiter, limiter, clock=clock)
        return
    url: str = request.getfixturevalue("redis_url")
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    clients = [aioredis.from_url(url), aioredis.from_url(url)]
    yield Limiters(
        RedisRateLimiter(clients[0], namespace=namespace),
        RedisRateLimiter(clients[1], namespace=namespace),
        clients=clients,
    )
    keys = [key async for key in clients[0].scan_iter(match=f"pult:{namespace}:*")]
    if keys:
        await cast("Awaitable[int]", clients[0].delete(*keys))
    for client in clients:
        await client.aclose()


class TestRateLimiter:
    async def test_the_send_over_the_limit_waits_at_most_a_window_then_goes(
        self, limiters: Limiters
    ) -> None:
        limiter, rate = limiters.limiter, Rate(3, 0.3)
        assert [await limiter.acquire("bot", rate) for _ in range(3)] == [0.0, 0.0, 0.0]
        wait = await limiter.acquire("bot", rate)
        assert 0 < wait <= rate.per_seconds
        # Refusals are not counted: asking again does not push the wait further out.
        assert 0 < await limiter.acquire("bot", rate) <= wait
        await limiters.advance(wait)
        assert await limiter.acquire("bot", rate) == 0.0

    async def test_the_window_slides_with_each_send(self, limiters: Limiters) -> None:
        limiter, rate = limiters.limiter, Rate(2, 0.4)
        assert await limiter.acquire("chat:1", rate) == 0.0
        await limiters.advance(0.2)
        assert await limiter.acquire("chat:1", rate) == 0.0
        # Room comes back when the FIRST send leaves the window, not a whole window later.
        wait = await limiter.acquire("chat:1", rate)
        assert 0 < wait <= 0.2
        await limiters.advance(wait)
        assert await limiter.acquire("chat:1", rate) == 0.0
        # Full again until the second send leaves, about 0.2 s from now (not a whole window).
        assert 0 < await limiter.acquire("chat:1", rate) <= 0.25

    async def test_keys_are_counted_apart(self, limiters: Limiters) -> None:
        limiter, rate = limiters.limiter, Rate(1, 10.0)
        assert await limiter.acquire("telegram:chat:1", rate) == 0.0
        assert await limiter.acquire("telegram:chat:1", rate) > 0
        assert await limiter.acquire("telegram:chat:2", rate) == 0.0

    async def test_a_send_blocked_by_one_key_counts_on_none(self, limiters: Limiters) -> None:
        limiter = limiters.limiter
        bot, chat = Rate(2, 10.0), Rate(1, 10.0)
        assert await limiter.acquire("telegram:chat:1", chat) == 0.0
        wait = await limiter.acquire_all([("telegram:bot", bot), ("telegram:chat:1", chat)])
        # The wait is the blocking key's (about a whole window), not the free key's 0.
        assert 9.0 < wait <= 10.0
        # The bot key was not counted by the refused send: both of its places are free.
        assert await limiter.acquire("telegram:bot", bot) == 0.0
        assert await limiter.acquire("telegram:bot", bot) == 0.0
        assert await limiter.acquire("telegram:bot", bot) > 0

    async def test_a_send_that_passes_counts_on_every_key(self, limiters: Limiters) -> None:
        limiter, rate = limiters.limiter, Rate(1, 10.0)
        assert await limiter.acquire_all([("vk:community:1", rate), ("vk:peer:5", rate)]) == 0.0
        assert await limiter.acquire("vk:community:1", rate) > 0
        assert await limiter.acquire("vk:peer:5", rate) > 0

    async def test_fifty_racing_sends_admit_exactly_the_limit(self, limiters: Limiters) -> None:
        rate = Rate(10, 1.0)
        racers = [limiters.limiter if n % 2 else limiters.peer for n in range(50)]
        waits = await asyncio.gather(*(racer.acquire("telegram:bot", rate) for racer in racers))
        assert waits.count(0.0) == 10
        assert all(0 < wait <= rate.per_seconds for wait in waits if wait)

    async def test_wait_sleeps_until_a_send_may_go_and_counts_it(self, limiters: Limiters) -> None:
        limiter, rate = limiters.limiter, Rate(1, 0.25)
        started = limiters.now()
        await limiter.wait("smtp", rate)
        await limiter.wait("smtp", rate)
        # The second send had to wait for the first to leave the window, and was counted.
        assert limiters.now() - started >= 0.2
        assert await limiter.acquire("smtp", rate) > 0

    async def test_a_key_given_twice_is_refused(self, limiters: Limiters) -> None:
        rate = Rate(5, 1.0)
        with pytest.raises(ValueError, match="twice"):
            await limiters.limiter.acquire_all([("bot", rate), ("bot", rate)])
        with pytest.raises(ValueError, match="at least one"):
            await limiters.limiter.acquire_all([])


def test_a_rate_needs_a_count_and_a_window() -> None:
    with pytest.raises(ValueError):
        Rate(0, 1.0)
    with pytest.raises(ValueError):
        Rate(1, 0.0)


async def test_redis_keeps_one_sorted_set_per_key_for_one_window(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    limiter = RedisRateLimiter(client, namespace=f"test-{uuid.uuid4().hex[:12]}")
    key = limiter.redis_key("telegram:chat:42")
    try:
        await limiter.acquire("telegram:chat:42", Rate(1, 0.5))
        assert key == f"pult:{limiter.namespace}:rate:telegram:chat:42"
        assert await cast("Awaitable[bytes]", client.type(key)) == b"zset"
        assert 0 < await cast("Awaitable[int]", client.pttl(key)) <= 501
    finally:
        await cast("Awaitable[int]", client.delete(key))
        await client.aclose()


class TestCountingFromTheEnd:
    """Counting a send from its end, and pausing keys: both implementations."""

    async def test_a_released_send_counts_from_when_it_ended_not_when_it_left(
        self, limiters: Limiters
    ) -> None:
        # A send that left at t and arrived at t + 0.2 (a busy loop, a slow network): the
        # next may not leave at t + window, it would arrive less than a window after.
        limiter, rate = limiters.limiter, Rate(1, 0.4)
        ticket = await limiter.hold([("telegram:chat:1", rate)])
        await limiters.advance(0.2)
        await limiter.release(ticket)
        await limiters.advance(0.25)  # 0.45 s after it left, 0.25 s after it ended
        wait = await limiter.acquire("telegram:chat:1", rate)
        assert 0.1 < wait <= 0.16
        await limiters.advance(wait)
        assert await limiter.acquire("telegram:chat:1", rate) == 0.0

    async def test_a_paused_key_admits_nothing_until_the_pause_ends(
        self, limiters: Limiters
    ) -> None:
        limiter, rate = limiters.limiter, Rate(30, 1.0)
        await limiter.pause(["telegram:bot"], 0.3)
        wait = await limiter.acquire_all([("telegram:bot", rate), ("telegram:chat:1", rate)])
        assert 0.2 < wait <= 0.3
        assert await limiter.acquire("telegram:chat:1", rate) == 0.0  # other keys go on
        await limiters.advance(wait)
        assert await limiter.acquire("telegram:bot", rate) == 0.0
