"""Composition root: the one place that picks implementations (SQLite or PostgreSQL, Redis
or none, the event publisher) from the settings. Tests build the app the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import cast

import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.events import DomainEvent, LocalPublisher
from core.uow import UnitOfWork
from inbox.bus import BusPublisher, EventBus, MemoryBus, RedisBus
from inbox.channel import ChannelRegistry
from inbox.events import OutboxQueued
from inbox.files import FileStore, LocalFileStore
from inbox.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from runtime.database import create_engine, session_factory
from runtime.settings import Settings
from runtime.worker import read_heartbeat
from webapp.services import HealthCheck

# Short enough that a dead Redis shows up in /healthz, long enough for a busy network.
REDIS_CONNECT_TIMEOUT = 3.0
REDIS_SOCKET_TIMEOUT = 10.0
# Prefix of every Pult channel and key in Redis: pult:<namespace>:... (docs/bus.md).
REDIS_NAMESPACE = "default"


def pult_version() -> str:
    try:
        return version("pult")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


@dataclass(slots=True, kw_only=True)
class Container:
    """Everything a process role (web, worker, CLI command) works with."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    publisher: LocalPublisher
    redis: aioredis.Redis | None
    bus: EventBus
    rate_limiter: RateLimiter
    files: FileStore
    channels: ChannelRegistry = field(default_factory=ChannelRegistry)
    # Set when something was queued in this process; the dispatcher sleeps until then.
    outbox_wake: asyncio.Event = field(default_factory=asyncio.Event)
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    version: str = field(default_factory=pult_version)

    @property
    def default_locale(self) -> str:
        return self.settings.locale

    def uow(self) -> UnitOfWork:
        """A fresh unit of work: `async with container.uow() as uow: ...; await uow.commit()`."""
        return UnitOfWork(self.sessions, self.publisher)

    async def last_heartbeat(self) -> datetime | None:
        return await read_heartbeat(self.sessions)

    async def close(self) -> None:
        await self.bus.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()


async def bootstrap(settings: Settings) -> Container:
    engine = create_engine(settings.database_url)
    redis = _redis_client(settings.redis_url)
    container = Container(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        publisher=LocalPublisher(),
        redis=redis,
        bus=_event_bus(settings.redis_url),
        rate_limiter=_rate_limiter(redis),
        files=LocalFileStore(settings.data_dir / "files", max_size=settings.max_file_size),
    )
    # After every commit: wake this process's dispatcher, and tell other processes (the
    # panel's sockets, a separate worker's dispatcher) through the bus.
    container.publisher.subscribe(lambda event: _wake_dispatcher(container, event))
    bus_publisher = BusPublisher(container.bus)
    container.publisher.subscribe(lambda event: bus_publisher.publish([event]))
    container.health_checks["database"] = lambda: _check_database(engine)
    container.health_checks["redis"] = lambda: _check_redis(redis)
    return container


async def _wake_dispatcher(container: Container, event: DomainEvent) -> None:
    if isinstance(event, OutboxQueued):
        container.outbox_wake.set()


def _event_bus(url: str | None) -> EventBus:
    if url is None:
        return MemoryBus()
    return RedisBus(url, namespace=REDIS_NAMESPACE, connect_timeout=REDIS_CONNECT_TIMEOUT)


def _rate_limiter(redis: aioredis.Redis | None) -> RateLimiter:
    if redis is None:
        return MemoryRateLimiter()
    return RedisRateLimiter(redis, namespace=REDIS_NAMESPACE)


def _redis_client(url: str | None) -> aioredis.Redis | None:
    if url is None:
        return None
    return aioredis.from_url(
        url,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        health_check_interval=30,
    )


async def _check_database(engine: AsyncEngine) -> str:
    async with engine.connect() as connection:
        await connection.execute(sa.text("SELECT 1"))
    return "ok"


async def _check_redis(redis: aioredis.Redis | None) -> str:
    if redis is None:
        return "not configured"
    # redis-py types ping() for its sync and async clients at once; this one is async.
    await cast("Awaitable[bool]", redis.ping())
    return "ok"
