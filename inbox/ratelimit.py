"""Send-rate limits per channel (Telegram 30/s per bot and 1/s per chat, VK ~20/s per
community, ...): a sliding-window log, in one process (`MemoryRateLimiter`) or shared by every
process through Redis (`RedisRateLimiter`). Why not the `limits` library: docs/bus.md."""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

DEFAULT_NAMESPACE = "default"

log = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class Ticket:
    """A counted send, to `release` when it has reached the provider: each key's entry of
    it (a time in microseconds in memory, a sorted-set member in Redis) moves to then."""

    limits: Limits
    stamps: tuple[Any, ...]
    owner: RateLimiter


class RateLimiter(ABC):
    """Counts sends per key. A key has one rate; a send may have to pass several keys."""

    async def acquire_all(self, limits: Limits) -> float:
        """All or nothing: if every key has room, count the send on each and return 0.0;
        otherwise count nothing and return the seconds until the fullest key has room."""
        wait, _ticket = await self._take(limits)
        return wait

    @abstractmethod
    async def _take(self, limits: Limits) -> tuple[float, Ticket | None]:
        """`acquire_all`, with the ticket of the send when it was counted."""

    @abstractmethod
    async def release(self, ticket: Ticket) -> None:
        """The send of `ticket` is done (it reached the provider, or failed): its entries
        count from now, not from when it left. A provider counts a send when it arrives,
        somewhere between the two; counting from the end of the send means the next send
        of a full window cannot arrive within a window of it, however late the loop ran
        (a busy CPU) or the network carried it."""

    @abstractmethod
    async def pause(self, keys: Sequence[str], seconds: float) -> None:
        """Admit nothing on `keys` for `seconds` (a provider's retry_after)."""

    async def acquire(self, key: str, limit: Rate) -> float:
        """0.0 when a send may go now (and it is counted), else the seconds to wait."""
        return await self.acquire_all([(key, limit)])

    async def wait(self, key: str, limit: Rate) -> None:
        """Sleep until a send may go, and count it."""
        await self.wait_all([(key, limit)])

    async def wait_all(self, limits: Limits) -> None:
        await self.hold(limits)

    async def hold(self, limits: Limits) -> Ticket:
        """Sleep until a send may go, count it, and return its ticket for `release`."""
        while True:
            delay, ticket = await self._take(limits)
            if ticket is not None:
                return ticket
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
    """Send times of one key in microseconds, ascending; only the last `count` matter. A
    list kept sorted, not a deque: `release` moves an entry forward, past newer ones."""

    __slots__ = ("count", "sends", "window_us")

    def __init__(self, rate: Rate) -> None:
        self.window_us = rate.window_us
        self.count = rate.count
        self.sends: list[int] = []

    def wait_us(self, rate: Rate, now: int) -> int:
        if len(self.sends) < rate.count:
            return 0
        # The send that must leave the window before another fits.
        oldest = self.sends[len(self.sends) - rate.count]
        return max(0, oldest + rate.window_us - now)

    def add(self, stamp: int) -> None:
        bisect.insort(self.sends, stamp)
        if len(self.sends) > self.count:
            del self.sends[0]

    def move(self, stamp: int, now: int) -> None:
        index = bisect.bisect_left(self.sends, stamp)
        if index < len(self.sends) and self.sends[index] == stamp:
            del self.sends[index]
            bisect.insort(self.sends, now)


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
        self._paused: dict[str, int] = {}  # key -> until, in microseconds
        self._acquired = 0

    def _now(self) -> int:
        return round(self._clock() * 1_000_000)

    async def _take(self, limits: Limits) -> tuple[float, Ticket | None]:
        _checked(limits)
        now = self._now()
        wait = self._wait_us(limits, now)
        if wait:
            return wait / 1_000_000, None
        return 0.0, self._count(limits, now)

    def _wait_us(self, limits: Limits, now: int) -> int:
        wait = 0
        for key, rate in limits:
            log = self._logs.get(key)
            if log is not None:
                wait = max(wait, log.wait_us(rate, now))
            if (until := self._paused.get(key)) is not None:
                wait = max(wait, until - now)
        return wait

    def peek(self, limits: Limits) -> float:
        """The seconds `acquire_all` would wait now, counting nothing."""
        return self._wait_us(_checked(limits), self._now()) / 1_000_000

    def note(self, limits: Limits) -> Ticket:
        """Count a send another limiter admitted (the shadow kept beside Redis)."""
        return self._count(_checked(limits), self._now())

    def _count(self, limits: Limits, now: int) -> Ticket:
        for key, rate in limits:
            log = self._logs.get(key)
            if log is None or log.count != rate.count or log.window_us != rate.window_us:
                log = self._logs[key] = _Log(rate)
            log.add(now)
        self._acquired += 1
        if self._acquired % self.SWEEP_EVERY == 0:
            self._sweep(now)
        return Ticket(limits, (now,), self)

    async def release(self, ticket: Ticket) -> None:
        now = self._now()
        (stamp,) = ticket.stamps
        for key, _rate in ticket.limits:
            if (log := self._logs.get(key)) is not None:
                log.move(stamp, now)

    async def pause(self, keys: Sequence[str], seconds: float) -> None:
        until = self._now() + round(seconds * 1_000_000)
        for key in keys:
            self._paused[key] = max(until, self._paused.get(key, 0))

    def _sweep(self, now: int) -> None:
        # Per-chat keys come and go; forget the ones whose last send left the window.
        idle = [
            key for key, log in self._logs.items()
            if not log.sends or log.sends[-1] + log.window_us <= now
        ]  # fmt: skip
        for key in idle:
            del self._logs[key]
        for key in [key for key, until in self._paused.items() if until <= now]:
            del self._paused[key]

    async def _sleep(self, seconds: float) -> None:
        await self._sleep_for(seconds)


# A sorted set per key: members are sends, scores their server time in microseconds. Two
# passes so that nothing is counted unless every key has room. TIME is read inside the
# script, so every process measures with the same clock. KEYS: the n rate keys, then
# their n pause keys; returns {wait} or {0, member}.
_ACQUIRE_ALL = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = #KEYS / 2
local wait = 0
for i = 1, n do
  local key = KEYS[i]
  local count = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local used = redis.call('ZCARD', key)
  if used >= count then
    local oldest = redis.call('ZRANGE', key, used - count, used - count, 'WITHSCORES')
    local until_free = tonumber(oldest[2]) + window - now
    if until_free > wait then wait = until_free end
  end
  local paused = redis.call('PTTL', KEYS[n + i])
  if paused > 0 and paused * 1000 > wait then wait = paused * 1000 end
end
if wait > 0 then return {wait} end
-- Unique member even for two sends in the same microsecond.
local member = t[1] .. '.' .. t[2] .. '.' .. redis.call('INCR', KEYS[1] .. ':seq') % 1000000
redis.call('PEXPIRE', KEYS[1] .. ':seq', 60000)
for i = 1, n do
  local window = tonumber(ARGV[2 * i])
  redis.call('ZADD', KEYS[i], now, member)
  redis.call('PEXPIRE', KEYS[i], math.ceil(window / 1000) + 1)
end
return {0, member}
"""

# The send of `member` is done: its entry on each key counts from now (if still there).
_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i, key in ipairs(KEYS) do
  if redis.call('ZADD', key, 'XX', 'CH', now, ARGV[1]) == 1 then
    redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[i + 1]) / 1000) + 1)
  end
end
return 0
"""


class RedisRateLimiter(RateLimiter):
    """Limits shared by every process using the same Redis and namespace. Keys are
    `pult:<namespace>:rate:<key>` sorted sets that expire one window after their last send,
    and `pult:<namespace>:pause:<key>` while a key is paused."""

    def __init__(self, redis: aioredis.Redis, *, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.namespace = namespace
        self._redis = redis
        self._prefix = f"pult:{namespace}:rate:"
        self._pause_prefix = f"pult:{namespace}:pause:"
        self._script = redis.register_script(_ACQUIRE_ALL)
        self._release = redis.register_script(_RELEASE)

    def redis_key(self, key: str) -> str:
        return self._prefix + key

    async def _take(self, limits: Limits) -> tuple[float, Ticket | None]:
        _checked(limits)
        keys = [self.redis_key(key) for key, _ in limits]
        keys += [self._pause_prefix + key for key, _ in limits]
        args: list[int] = []
        for _, rate in limits:
            args += [rate.count, rate.window_us]
        reply = await cast("Awaitable[list[Any]]", self._script(keys=keys, args=args))
        wait_us = int(reply[0])
        if wait_us > 0:
            return wait_us / 1_000_000, None
        return 0.0, Ticket(limits, (reply[1],), self)

    async def release(self, ticket: Ticket) -> None:
        (member,) = ticket.stamps
        keys = [self.redis_key(key) for key, _ in ticket.limits]
        args = [member, *(rate.window_us for _, rate in ticket.limits)]
        await cast("Awaitable[int]", self._release(keys=keys, args=args))

    async def pause(self, keys: Sequence[str], seconds: float) -> None:
        milliseconds = max(1, round(seconds * 1000))
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(self._pause_prefix + key, 1, px=milliseconds)
            await pipe.execute()


# What a Redis limiter raises when Redis is away: its own errors and the socket's.
REDIS_DOWN = (RedisError, OSError, asyncio.TimeoutError)


class FailoverRateLimiter(RateLimiter):
    """The Redis limiter while Redis answers, the local one while it does not: a Redis
    outage slows nothing down and stops nothing (each process then keeps the limits on its
    own, which for the usual single worker is the same limit). Redis is tried again every
    `retry_seconds`, by one caller at a time (the others keep the local limiter meanwhile),
    and used again as soon as it answers.

    The local limiter counts every send of this process, also while Redis admits them, and
    a send must pass it too: so the switch either way (to a local limiter that would know
    nothing, or back to a Redis restarted empty) does not let a chat's next message go
    sooner than its limit allows."""

    def __init__(
        self,
        primary: RateLimiter,
        fallback: MemoryRateLimiter,
        *,
        retry_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary, self.fallback = primary, fallback
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._down_until: float | None = None  # None: Redis is up
        self._probing = False
        self.failovers = 0  # times Redis was found away (for tests and logs)

    @property
    def using_fallback(self) -> bool:
        return self._down_until is not None

    def _try_primary(self) -> bool:
        if self._down_until is None:
            return True
        if self._probing or self._clock() < self._down_until:
            return False
        self._probing = True
        return True

    def _failed(self, error: BaseException) -> None:
        if self._down_until is None:
            self.failovers += 1
            log.warning("rate limiter: Redis is away (%s); limiting in this process", error)
        self._down_until = self._clock() + self.retry_seconds
        self._probing = False

    def _answered(self) -> None:
        if self._down_until is not None:
            log.info("rate limiter: Redis is back; limits are shared again")
        self._down_until, self._probing = None, False

    async def _take(self, limits: Limits) -> tuple[float, Ticket | None]:
        if (local_wait := self.fallback.peek(limits)) > 0:
            return local_wait, None
        if self._try_primary():
            try:
                wait, ticket = await self.primary._take(limits)
            except REDIS_DOWN as error:
                self._failed(error)
            else:
                self._answered()
                if ticket is None:
                    return wait, None
                shadow = self.fallback.note(limits)
                return 0.0, Ticket(limits, (ticket, shadow), self)
        return await self.fallback._take(limits)

    async def release(self, ticket: Ticket) -> None:
        if ticket.owner is not self:
            return await ticket.owner.release(ticket)
        shared, shadow = ticket.stamps
        await self.fallback.release(shadow)
        try:
            await self.primary.release(shared)
        except REDIS_DOWN as error:
            self._failed(error)

    async def pause(self, keys: Sequence[str], seconds: float) -> None:
        # Locally always (the next sends here may be local), and in Redis when it answers.
        await self.fallback.pause(keys, seconds)
        if self._try_primary():
            try:
                await self.primary.pause(keys, seconds)
            except REDIS_DOWN as error:
                self._failed(error)
            else:
                self._answered()
