"""Send-rate limits per channel (Telegram 30/s per bot and 1/s per chat, VK ~20/s per
community, ...): a sliding-window log, in one process (`MemoryRateLimiter`) or shared by every
process through Redis (`RedisRateLimiter`). Why not the `limits` library: docs/bus.md."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis

DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True, slots=True)
class Rate:
    """At most `count` sends in any `per_seconds` long stretch of time."""

    count: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.count < 1 or not self.per_seconds > 0:
            raise ValueError(f"a rate needs count >= 1 and per_seconds > 0, not {self}")

    @property
    def window_us(self) -> int:
        return round(self.per_seconds * 1_000_000)


# Defaults from the providers' published limits; Viber and SMTP are set per installation.
TELEGRAM_BOT = Rate(30, 1.0)  # key "telegram:bot" (":<bot id>" appended with several bots)
TELEGRAM_CHAT = Rate(1, 1.0)  # key "telegram:chat:<chat id>"
TELEGRAM_GROUP = Rate(20, 60.0)  # key "telegram:chat:<chat id>" of a group chat
VK_COMMUNITY = Rate(20, 1.0)  # key "vk:community:<group id>"

Limits = Sequence[tuple[str, Rate]]


class RateLimiter(ABC):
    """Counts sends per key. A key has one rate; a send may have to pass several keys."""

    @abstractmethod
    async def acquire_all(self, limits: Limits) -> float:
        """All or nothing: if every key has room, count the send on each and return 0.0;
        otherwise count nothing and return the seconds until the fullest key has room."""

    async def acquire(self, key: str, limit: Rate) -> float:
        """0.0 when a send may go now (and it is counted), else the seconds to wait."""
        return await self.acquire_all([(key, limit)])

    async def wait(self, key: str, limit: Rate) -> None:
        """Sleep until a send may go, and count it."""
        await self.wait_all([(key, limit)])

    async def wait_all(self, limits: Limits) -> None:
        while (delay := await self.acquire_all(limits)) > 0:
            await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _checked(limits: Limits) -> Limits:
    keys = [key for key, _ in limits]
    if not keys:
        raise ValueError("acquire at least one key")
    if len(set(keys)) != len(keys):
        # The same key twice would be counted twice for one send.
        raise ValueError(f"a key appears twice in {keys}")
    return limits


class _Log:
    """Send times of one key in microseconds, oldest first; only the last `count` matter."""

    __slots__ = ("sends", "window_us")

    def __init__(self, rate: Rate) -> None:
        self.window_us = rate.window_us
        self.sends: deque[int] = deque(maxlen=rate.count)

    def wait_us(self, rate: Rate, now: int) -> int:
        if len(self.sends) < rate.count:
            return 0
        # The send that must leave the window before another fits.
        oldest = self.sends[len(self.sends) - rate.count]
        return max(0, oldest + rate.window_us - now)


class MemoryRateLimiter(RateLimiter):
    """Limits inside one process. `clock` (seconds) and `sleep` are injectable so tests run on
    a manual clock. Safe for asyncio tasks: nothing awaits between the check and the count."""

    SWEEP_EVERY = 1024

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep_for = sleep
        self._logs: dict[str, _Log] = {}
        self._acquired = 0

    async def acquire_all(self, limits: Limits) -> float:
        _checked(limits)
        now = round(self._clock() * 1_000_000)
        wait = 0
        for key, rate in limits:
            log = self._logs.get(key)
            if log is not None:
                wait = max(wait, log.wait_us(rate, now))
        if wait:
            return wait / 1_000_000
        for key, rate in limits:
            log = self._logs.get(key)
            if log is None or log.sends.maxlen != rate.count:
                log = self._logs[key] = _Log(rate)
            log.sends.append(now)
        self._acquired += 1
        if self._acquired % self.SWEEP_EVERY == 0:
            self._sweep(now)
        return 0.0

    def _sweep(self, now: int) -> None:
        # Per-chat keys come and go; forget the ones whose last send left the window.
        idle = [key for key, log in self._logs.items() if log.sends[-1] + log.window_us <= now]
        for key in idle:
            del self._logs[key]

    async def _sleep(self, seconds: float) -> None:
        await self._sleep_for(seconds)


# A sorted set per key: members are sends, scores their server time in microseconds. Two
# passes so that nothing is counted unless every key has room. TIME is read inside the
# script, so every process measures with the same clock.
_ACQUIRE_ALL = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local used = redis.call('ZCARD', key)
  if used >= count then
    local oldest = redis.call('ZRANGE', key, used - count, used - count, 'WITHSCORES')
    local until_free = tonumber(oldest[2]) + window - now
    if until_free > wait then wait = until_free end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[2 * i])
  -- Unique member even for two sends in the same microsecond.
  local same = redis.call('ZCOUNT', key, now, now)
  redis.call('ZADD', key, now, t[1] .. '.' .. t[2] .. '.' .. same)
  redis.call('PEXPIRE', key, math.ceil(window / 1000) + 1)
end
return 0
"""


class RedisRateLimiter(RateLimiter):
    """Limits shared by every process using the same Redis and namespace. Keys are
    `pult:<namespace>:rate:<key>` sorted sets that expire one window after their last send."""

    def __init__(self, redis: aioredis.Redis, *, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.namespace = namespace
        self._prefix = f"pult:{namespace}:rate:"
        self._script = redis.register_script(_ACQUIRE_ALL)

    def redis_key(self, key: str) -> str:
        return self._prefix + key

    async def acquire_all(self, limits: Limits) -> float:
        _checked(limits)
        keys = [self.redis_key(key) for key, _ in limits]
        args: list[int] = []
        for _, rate in limits:
            args += [rate.count, rate.window_us]
        wait_us = await cast("Awaitable[int]", self._script(keys=keys, args=args))
        return int(wait_us) / 1_000_000
