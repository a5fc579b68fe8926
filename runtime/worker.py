"""The worker: long-running jobs supervised in one process until asked to stop.

A job is `async def job(container, stop) -> None`: it loops until `stop` is set and then
returns. Register it in `JOBS` (and in `ONLY_WHEN` if it runs only with some settings); a
job that crashes is logged and restarted with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import utcnow
from core.models import WorkerHeartbeat
from inbox.bus import OUTBOX_WAKE, EventBus
from inbox.dispatcher import Dispatcher, RetryPolicy
from webapp.access.sessions import sweep_expired

if TYPE_CHECKING:
    from runtime.bootstrap import Container

Job = Callable[["Container", asyncio.Event], Awaitable[None]]

HEARTBEAT_NAME = "worker"
HEARTBEAT_INTERVAL = 30.0
RESTART_DELAY_FIRST = 1.0
RESTART_DELAY_MAX = 60.0
INBOUND_RETRY_INTERVAL = 60.0
MAX_INBOUND_ATTEMPTS = 5
SESSION_SWEEP_INTERVAL = 3600.0

log = logging.getLogger(__name__)


async def heartbeat(container: Container, stop: asyncio.Event) -> None:
    """Prove the worker is alive: /healthz and `pult check` read the time it writes."""
    while not stop.is_set():
        await write_heartbeat(container.sessions)
        await sleep_unless_stopped(stop, HEARTBEAT_INTERVAL)


async def outbox(container: Container, stop: asyncio.Event) -> None:
    """Send what the outbox holds, waking at once when anything is queued: in this process
    directly, in another (a web process) through the bus."""
    settings = container.settings
    policy = RetryPolicy(
        max_delay_seconds=settings.outbox_retry_ceiling,
        give_up_after=timedelta(seconds=settings.outbox_give_up_after),
    )
    dispatcher = Dispatcher(
        container.sessions,
        container.publisher,
        container.channels,
        policy=policy,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        limiter=container.rate_limiter,
        locale=settings.locale,
    )
    async with asyncio.TaskGroup() as group:
        relay = group.create_task(_relay_wakes(container.bus, container.outbox_wake, stop))
        try:
            await dispatcher.run(stop, container.outbox_wake)
        finally:
            relay.cancel()


# While the bus is away the dispatcher is woken this often to look at the database itself.
BUS_DOWN_POLL_SECONDS = 1.0
BUS_RETRY_FIRST, BUS_RETRY_MAX = 0.5, 5.0


async def _relay_wakes(bus: EventBus, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Wake the dispatcher on every OUTBOX_WAKE from other processes. Without the bus
    (Redis down at start, or its subscription failing) the dispatcher must go on sending:
    while there is no subscription it is woken every BUS_DOWN_POLL_SECONDS to poll the
    database, and the subscription is tried again with backoff; once subscribed, it looks
    once more for what it missed. (A bus that drops later reconnects by itself and sends
    GAP, which wakes it too.)"""
    subscribed = asyncio.Event()
    ticker = asyncio.create_task(_poll_while_unsubscribed(subscribed, wake, stop))
    delay = BUS_RETRY_FIRST
    try:
        while not stop.is_set():
            try:
                async with bus.subscribe(OUTBOX_WAKE) as wakes:
                    subscribed.set()
                    delay = BUS_RETRY_FIRST
                    wake.set()
                    async for _notice in wakes:
                        wake.set()
            except Exception as error:  # BusUnavailable, or the connection failing
                log.warning("outbox: no bus (%s); polling the database meanwhile", error)
            finally:
                subscribed.clear()
            await sleep_unless_stopped(stop, delay)
            delay = min(delay * 2, BUS_RETRY_MAX)
    finally:
        ticker.cancel()


async def _poll_while_unsubscribed(
    subscribed: asyncio.Event, wake: asyncio.Event, stop: asyncio.Event
) -> None:
    # Also while a subscription attempt waits for Redis's confirmation (seconds).
    while not stop.is_set():
        if not subscribed.is_set():
            wake.set()
        await sleep_unless_stopped(stop, BUS_DOWN_POLL_SECONDS)


async def inbound_recovery(container: Container, stop: asyncio.Event) -> None:
    """Process inbound events stored but never processed: at start-up those left by a crash,
    then, every minute, those whose processing failed (a database hiccup, a flow bug since
    fixed), until MAX_INBOUND_ATTEMPTS; a provider's retry of such an event is a duplicate,
    so nothing else would ever pick it up."""
    receiver = container.receiver
    recovered = await receiver.process_pending(max_attempts=MAX_INBOUND_ATTEMPTS)
    if recovered:
        log.info("processed %d inbound events left from before the restart", recovered)
    while not stop.is_set():
        await sleep_unless_stopped(stop, INBOUND_RETRY_INTERVAL)
        # Older than a minute: an event being processed right now is left to its receiver.
        cutoff = utcnow() - timedelta(seconds=INBOUND_RETRY_INTERVAL)
        retried = await receiver.process_pending(
            received_before=cutoff, max_attempts=MAX_INBOUND_ATTEMPTS
        )
        if retried:
            log.info("processed %d inbound events on a later attempt", retried)


async def sweep_sessions(container: Container, stop: asyncio.Event) -> None:
    """Delete expired staff sessions at start and then hourly (nothing else ever would)."""
    while not stop.is_set():
        async with container.sessions.begin() as session:
            swept = await sweep_expired(session)
        if swept:
            log.info("deleted %d expired staff sessions", swept)
        await sleep_unless_stopped(stop, SESSION_SWEEP_INTERVAL)


async def telegram_polling(container: Container, stop: asyncio.Event) -> None:
    """Bring Telegram updates in by long polling (no PULT_PUBLIC_URL, so no webhook). One
    poller per bot: Telegram answers a second one with 409 Conflict (retried, logged)."""
    if container.telegram is not None:
        await container.telegram.poll(stop)


async def email_listener(container: Container, stop: asyncio.Event) -> None:
    """Read the desk mailbox over IMAP (IDLE): new mail lands in its order in real time."""
    if container.email is not None:
        await container.email.listen(stop)


# The registry: later issues add the scheduler.
JOBS: dict[str, Job] = {
    "heartbeat": heartbeat,
    "outbox": outbox,
    "inbound_recovery": inbound_recovery,
    "sweep_sessions": sweep_sessions,
    "telegram_polling": telegram_polling,
    "email_listener": email_listener,
}

# Jobs that run only with some settings; the others always run.
ONLY_WHEN: dict[str, Callable[[Container], bool]] = {
    "telegram_polling": lambda container: container.settings.telegram_mode == "polling",
    "email_listener": lambda container: container.email is not None,
}


def jobs_for(container: Container) -> dict[str, Job]:
    """The jobs this container's settings call for."""
    return {
        name: job
        for name, job in JOBS.items()
        if name not in ONLY_WHEN or ONLY_WHEN[name](container)
    }


async def run_worker(
    container: Container,
    stop: asyncio.Event,
    jobs: Mapping[str, Job] | None = None,
    restart_delay: float = RESTART_DELAY_FIRST,
) -> None:
    """Run every job (default: those of JOBS the settings call for) until `stop` is set and
    each has returned."""
    selected = jobs_for(container) if jobs is None else jobs
    log.info("worker started: %s", ", ".join(selected) or "no jobs")
    async with asyncio.TaskGroup() as group:
        for name, job in selected.items():
            supervised = _supervise(name, job, container, stop, restart_delay)
            group.create_task(supervised, name=f"job:{name}")
    log.info("worker stopped")


async def _supervise(
    name: str, job: Job, container: Container, stop: asyncio.Event, delay: float
) -> None:
    while not stop.is_set():
        try:
            await job(container, stop)
        except Exception:
            log.exception("job %s failed; restarting in %.0f s", name, delay)
            await sleep_unless_stopped(stop, delay)
            delay = min(delay * 2, RESTART_DELAY_MAX)
        else:
            return


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake at once when the worker is asked to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def write_heartbeat(
    sessions: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> None:
    moment = now or utcnow()
    async with sessions.begin() as session:
        # INSERT .. ON CONFLICT: two workers starting together must not collide on the row.
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(WorkerHeartbeat).values(name=HEARTBEAT_NAME, beat_at=moment)
        statement = statement.on_conflict_do_update(
            index_elements=[WorkerHeartbeat.name], set_={"beat_at": moment}
        )
        await session.execute(statement)


async def read_heartbeat(sessions: async_sessionmaker[AsyncSession]) -> datetime | None:
    async with sessions() as session:
        return await session.scalar(
            sa.select(WorkerHeartbeat.beat_at).where(WorkerHeartbeat.name == HEARTBEAT_NAME)
        )
