"""Composition root: the one place that picks implementations (SQLite or PostgreSQL, Redis
or none, the event publisher, the channels) from the settings. Tests build the app the same
way."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis
import sqlalchemy as sa
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bots.payments import FakePaymentProvider, ManualPaymentProvider, PaymentProviders
from core.events import DomainEvent, LocalPublisher
from core.uow import UnitOfWork
from handlers.engine import Dialogs
from handlers.reactions import reactions
from handlers.services import Services
from inbox.bus import BusPublisher, EventBus, MemoryBus, RedisBus
from inbox.channel import ChannelRegistry
from inbox.events import OutboxQueued
from inbox.files import FileStore, LocalFileStore
from inbox.files.inbound import InboundFiles
from inbox.outbox import CONFIGURED_CHANNELS
from inbox.ratelimit import (
    FailoverRateLimiter,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)
from inbox.receive import DialogHook, Receiver
from runtime.database import create_engine, session_factory
from runtime.settings import Network, Settings
from runtime.worker import read_heartbeat
from webapp.services import HealthCheck

if TYPE_CHECKING:
    from runtime.email import EmailRuntime
    from runtime.telegram import TelegramRuntime

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
    inbound_files: InboundFiles
    payments: PaymentProviders
    channels: ChannelRegistry = field(default_factory=ChannelRegistry)
    # The installation's bot, when PULT_TELEGRAM_TOKEN is set.
    telegram: TelegramRuntime | None = None
    # The desk mailbox, when PULT_EMAIL_ADDRESS is set.
    email: EmailRuntime | None = None
    # Every inbound event of this process goes through it (set by `bootstrap`).
    receiver: Receiver = field(init=False)
    # Set when something was queued in this process; the dispatcher sleeps until then.
    outbox_wake: asyncio.Event = field(default_factory=asyncio.Event)
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    version: str = field(default_factory=pult_version)

    @property
    def default_locale(self) -> str:
        return self.settings.locale

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    @property
    def trusted_proxies(self) -> tuple[Network, ...]:
        return self.settings.trusted_proxies

    @property
    def device_cookie_key(self) -> bytes:
        return self.settings.device_cookie_key

    def uow(self) -> UnitOfWork:
        """A fresh unit of work: `async with container.uow() as uow: ...; await uow.commit()`."""
        return UnitOfWork(self.sessions, self.publisher)

    async def last_heartbeat(self) -> datetime | None:
        return await read_heartbeat(self.sessions)

    async def close(self) -> None:
        if self.telegram is not None:
            await self.telegram.close()
        await self.bus.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()


async def bootstrap(settings: Settings) -> Container:
    engine = create_engine(settings.database_url)
    redis = _redis_client(settings.redis_url)
    files = LocalFileStore(settings.data_dir / "files", max_size=settings.max_file_size)
    channels = ChannelRegistry()
    container = Container(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        publisher=LocalPublisher(),
        redis=redis,
        bus=_event_bus(settings.redis_url),
        rate_limiter=_rate_limiter(redis),
        files=files,
        inbound_files=InboundFiles(channels, files, settings.max_file_size, locale=settings.locale),
        channels=channels,
        payments=_payment_providers(settings),
    )
    # `enqueue` writes a message for a channel that is not configured here as failed, in
    # words, instead of queueing it (inbox/outbox.py).
    container.sessions.configure(info={CONFIGURED_CHANNELS: channels})
    # Inside every transaction, before commit: notices, the job feed, manager alerts.
    for reaction in reactions(_flow_services(container)):
        container.publisher.add_reaction(reaction)
    container.receiver = Receiver(
        container.sessions,
        container.publisher,
        _dialog_hook(container),
        files=container.inbound_files,
        locale=settings.locale,
    )
    if settings.telegram_token is not None:
        container.telegram = _telegram(container)
        channels.add(container.telegram.channel)
    if settings.email is not None:
        container.email = _email(container)
        channels.add(container.email.channel)
    # After every commit: wake this process's dispatcher, and tell other processes (the
    # panel's sockets, a separate worker's dispatcher) through the bus.
    container.publisher.subscribe(lambda event: _wake_dispatcher(container, event))
    bus_publisher = BusPublisher(container.bus)
    container.publisher.subscribe(lambda event: bus_publisher.publish([event]))
    container.health_checks["database"] = lambda: _check_database(engine)
    container.health_checks["redis"] = lambda: _check_redis(redis)
    return container


def _dialog_hook(container: Container) -> DialogHook:
    """The dialog engine (handlers/), offered every inbound event first."""
    return Dialogs(_flow_services(container))


def _flow_services(container: Container) -> Services:
    settings = container.settings
    return Services(
        payments=container.payments,
        files=container.inbound_files,
        public_url=settings.public_url,
        tz=settings.tz,
        locale=settings.locale,
        channels=container.channels,
    )


def _payment_providers(settings: Settings) -> PaymentProviders:
    manual = ManualPaymentProvider()
    if settings.payments == "fake":
        return PaymentProviders(FakePaymentProvider(settings.base_url.rstrip("/")), manual)
    return PaymentProviders(manual)


def _telegram(container: Container) -> TelegramRuntime:
    # Imported here, not at the top: aiogram takes seconds to import, and only an
    # installation with a bot should pay for it (at every `pult` command).
    from runtime.telegram import TelegramRuntime

    return TelegramRuntime(
        container.settings, container.files, container.receiver.receive, container.uow
    )


def _email(container: Container) -> EmailRuntime:
    from runtime.email import EmailRuntime  # only an installation with a mailbox loads it

    return EmailRuntime(
        container.settings, container.files, container.sessions, container.receiver.receive
    )


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
    # While Redis is away the limits are kept in this process, so sending goes on.
    shared = RedisRateLimiter(redis, namespace=REDIS_NAMESPACE)
    return FailoverRateLimiter(shared, MemoryRateLimiter())


def _redis_client(url: str | None) -> aioredis.Redis | None:
    if url is None:
        return None
    return aioredis.from_url(
        url,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        health_check_interval=30,
        # One quick retry covers a pooled connection that died while idle. redis-py's
        # default (three, backing off up to 10 s) held every send for seconds while Redis
        # was away, before the rate limiter could fall back to its local one.
        retry=Retry(NoBackoff(), 1),
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
