"""One job pushed to N matching executors through a fake Bot API enforcing Telegram's limits.

    .venv/bin/python -m bench.fanout [--executors N] [--scale S] [--postgres URL] [--redis URL]
                                     [--fake-in-process] [--no-gc-freeze]

Sets up N executors (default 10,000) with a Telegram identity each (distinct private chats)
in a fresh migrated database, publishes one fixed-price job on the exchange, and queues one
job card per executor (text and the buttons Take / Bid / Skip) with `inbox.outbox.enqueue`,
in a few transactions. That is what the job feed does when a job is published; the feed
itself lives in handlers/, and this benchmark drives the delivery side only, with the same
`enqueue` the feed calls, so its figures hold whatever the feed's matching costs.

Then the real `Dispatcher` (one, running as in a worker process) sends the cards through the
real `TelegramChannel` (an aiogram Bot from `make_bot`) to `FakeTelegramAPI`, which answers
429 with retry_after when a limit is broken, as Telegram does. The fake runs in a process of
its own, as Telegram is not on our event loop (`--fake-in-process` puts it there).

**Scale.** Telegram allows about 30 messages/s per bot: 10,000 cards would take 5.5 minutes.
Instead of the clock, the per-bot limit is scaled, on both sides: the fake allows S x 30
messages/s (default S = 20: 600/s, below the 1,000/s Telegram allows a paid broadcast) and
the dispatcher's limiter is given the same Rate through its `limits` setting. The per-chat
limit (1/s) is Telegram's own; every executor is a chat of its own, so it only matters if
a card were sent twice. Scaling the limit rather than the clock keeps real time for the
HTTP calls, the database and Redis (whose TIME the Redis limiter reads, and cannot be
sped up), and makes the run S times harder on everything but the limit itself.

Printed, from the first send reaching the fake to the last card recorded as delivered:
cards/s, the allowed rate and the share of it reached; the share over the whole 1 s windows
after the first (the sliding window lets a full window go at once at the start, which a
short run would count as speed); the 429s the fake answered; the cards not delivered when
the run ended (lost); the retries. The dispatcher counts every send from its end
(docs/outbox.md, rate limits) and keeps every window 25 ms longer than the limit's
(`Dispatcher.limit_margin_seconds`), so the most it will take is 97.6 % less the sends' own
round trip per window.

Backends: SQLite + in-process limiter (the embedded default); PostgreSQL + Redis limiter (a
throw-away database next to the URL given, a private Redis namespace)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from math import nan
from pathlib import Path
from typing import cast

import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.telegram import TelegramChannel, make_bot
from core import exchange, orders
from core.events import DomainEvent, LocalPublisher
from core.models import (
    ChannelIdentity,
    Client,
    Executor,
    ExecutorStatus,
    OrderKind,
    StaffRole,
    User,
)
from core.transitions import Actor
from core.uow import UnitOfWork
from inbox.channel import Button, ChannelRegistry, Outgoing
from inbox.dispatcher import Dispatcher
from inbox.events import DeliveryChanged
from inbox.files import LocalFileStore
from inbox.models import OutboxItem, OutboxStatus
from inbox.outbox import enqueue
from inbox.ratelimit import (
    TELEGRAM_CHAT,
    Limits,
    MemoryRateLimiter,
    Rate,
    RateLimiter,
    RedisRateLimiter,
)
from runtime import eventloop
from runtime.database import create_engine, scratch_database, session_factory
from runtime.migrate import upgrade
from tests.fakes.telegram_api import FakeTelegramAPI

Sessions = async_sessionmaker[AsyncSession]

TELEGRAM_PER_BOT = 30  # messages/s, Telegram's published per-bot limit
FIRST_CHAT = 7_000_000_000  # private chat ids (= user ids) of the executors
CARDS_PER_TRANSACTION = 2_500
INSERT_CHUNK = 1_000


async def fanout(
    url: str,
    limiter: RateLimiter,
    executors: int,
    scale: int,
    tmp: Path,
    *,
    fake_in_process: bool = False,
    freeze_gc: bool = True,
) -> dict[str, float]:
    await upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    publisher = LocalPublisher()
    allowed = Rate(scale * TELEGRAM_PER_BOT, 1.0)
    try:
        card = await _job(sessions, publisher)
        await _executors(sessions, executors)
        began = time.perf_counter()
        await _enqueue_cards(sessions, publisher, card)
        enqueue_s = time.perf_counter() - began

        # Setup's garbage goes now, and with `freeze` what is left (the app's modules:
        # some 270,000 objects) is no longer traversed by full collections, each of which
        # otherwise stops the loop for about 0.2 s: a send acquired before such a pause
        # leaves late, and the one acquired a window later arrives too soon after it.
        gc.collect()
        if freeze_gc:
            gc.freeze()
        async with _fake_api(allowed.count, in_process=fake_in_process) as fake:
            bot = make_bot(fake.token, fake.base_url)
            files = LocalFileStore(tmp / "files", max_size=1024 * 1024)
            dispatcher = Dispatcher(
                sessions,
                publisher,
                ChannelRegistry([TelegramChannel(bot, files)]),
                limiter=limiter,
                limits=_scaled(allowed),
            )
            outcome = _Outcome(executors)
            publisher.subscribe(outcome.seen)
            stop, wake = asyncio.Event(), asyncio.Event()
            running = asyncio.create_task(dispatcher.run(stop, wake))
            # Generous: three times the time the limit needs, plus a minute for retries.
            deadline = 3 * executors / allowed.count + 60
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(outcome.done.wait(), deadline)
            stop.set()
            await running
            await bot.session.close()
            seen = await fake.report()
        lost, retries = await _tally(sessions)
    finally:
        await engine.dispose()
        gc.unfreeze()
    elapsed = outcome.last_delivered - seen.first_send
    rate = outcome.delivered / elapsed
    return {
        "executors": executors,
        "enqueue s": enqueue_s,
        "enqueued cards/s": executors / enqueue_s,
        "send s": elapsed,
        "sent/s": rate,
        "allowed/s": allowed.count,
        "share of allowed %": 100 * rate / allowed.count,
        "steady share %": (
            100 * seen.steady_per_second / allowed.count if seen.steady_per_second else nan
        ),
        "429s": seen.too_many_requests,
        "lost": lost,
        "retries": retries,
    }


class _Outcome:
    """Counts DeliveryChanged events as the dispatcher commits them."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.delivered = 0
        self.failed = 0
        self.last_delivered = 0.0
        self.done = asyncio.Event()

    async def seen(self, event: DomainEvent) -> None:
        if not isinstance(event, DeliveryChanged):
            return
        if event.status == OutboxStatus.SENT.value:
            self.delivered += 1
            self.last_delivered = time.monotonic()
        elif event.status == OutboxStatus.FAILED.value:
            self.failed += 1
        if self.delivered + self.failed >= self.expected:
            self.done.set()


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the fake saw: the 429s it answered, when the first send arrived (time.monotonic,
    one clock for every process on the machine), and the sends/s it accepted over the
    whole 1 s windows after the first one (None when the run is shorter than that)."""

    too_many_requests: int
    first_send: float
    steady_per_second: float | None

    @classmethod
    def of(cls, fake: FakeTelegramAPI) -> _Seen:
        calls = fake.calls_of("sendMessage")
        accepted = sorted(call.at for call in calls if call.status == 200)
        first = min(call.at for call in calls)
        # The sliding window lets a full window go at once at the start; after it, no
        # sender can average more than the limit, so this one cannot read above 100 %.
        windows = int(accepted[-1] - first - 1) if accepted else 0
        steady = None
        if windows >= 1:
            inside = sum(1 for at in accepted if first + 1 <= at < first + 1 + windows)
            steady = inside / windows
        return cls(fake.too_many_requests, first, steady)


class _InProcess:
    def __init__(self, fake: FakeTelegramAPI) -> None:
        self.fake, self.token, self.base_url = fake, fake.token, fake.base_url

    async def report(self) -> _Seen:
        return _Seen.of(self.fake)


class _ChildProcess:
    def __init__(self, child: asyncio.subprocess.Process, hello: dict[str, str]) -> None:
        self.child, self.token, self.base_url = child, hello["token"], hello["base_url"]

    async def report(self) -> _Seen:
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(b"report\n")
        await self.child.stdin.drain()
        return _Seen(**json.loads(await self.child.stdout.readline()))


@contextlib.asynccontextmanager
async def _fake_api(per_bot: int, *, in_process: bool) -> AsyncIterator[_InProcess | _ChildProcess]:
    """The fake Bot API, by default in a process of its own: Telegram's side of each call
    (an HTTP server parsing the request and answering) is not the dispatcher's CPU, and on
    one event loop it would take about half of it."""
    if in_process:
        async with FakeTelegramAPI(
            per_bot_per_second=per_bot, per_chat_per_second=1, clock=time.monotonic
        ) as fake:
            yield _InProcess(fake)
        return
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.fanout", "--serve-fake", str(per_bot),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    try:
        yield _ChildProcess(child, json.loads(await child.stdout.readline()))
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()


async def _serve_fake(per_bot: int) -> None:
    """The child: serve until asked on stdin, then report on stdout and stop.

    Without the cyclic garbage collector: the fake keeps every call it answered, and full
    collections over 10,000 of them pause its loop for tens of milliseconds, which delays
    the arrival times it counts the limit by. A send that a pause delayed makes the one
    sent a second later look early, a 429 that Telegram's servers would not answer for
    our sake. A process that lives for one run can leave cycles uncollected."""
    gc.disable()
    async with FakeTelegramAPI(
        per_bot_per_second=per_bot, per_chat_per_second=1, clock=time.monotonic
    ) as fake:
        print(json.dumps({"base_url": fake.base_url, "token": fake.token}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        seen = _Seen.of(fake)
        print(json.dumps({name: getattr(seen, name) for name in _Seen.__slots__}), flush=True)


def _scaled(allowed: Rate) -> Callable[[Outgoing], Limits]:
    """The dispatcher's channel limits with the per-bot rate scaled like the fake's."""

    def limits(message: Outgoing) -> Limits:
        return [("telegram:bot", allowed), (f"telegram:chat:{message.chat_id}", TELEGRAM_CHAT)]

    return limits


async def _job(sessions: Sessions, publisher: LocalPublisher) -> Outgoing:
    """A paid student paper published on the exchange at a fixed price, and its card."""
    async with UnitOfWork(sessions, publisher) as uow:
        session = uow.session
        paper = (
            await session.execute(sa.select(OrderKind).where(OrderKind.code == "student_paper"))
        ).scalar_one()
        user = User(email="m@bench.io", name="Менеджер", role=StaffRole.MANAGER, password_hash="-")
        client = Client(name="Клиент")
        session.add_all([user, client])
        await session.flush()
        manager = Actor.staff(user)
        order = await orders.create_order(
            session, kind=paper, client_id=client.id, actor=manager,
            title="Курсовая по сопротивлению материалов, 30 страниц",
        )  # fmt: skip
        await orders.quote_order(session, order, manager, 500_000)
        await orders.accept_quote(session, order, manager)
        await orders.mark_paid(session, order, manager)
        await exchange.publish_to_exchange(session, order, manager, fixed_price=300_000)
        await uow.commit()
    card = Outgoing(
        channel="telegram",
        chat_id="",
        text=f"Новый заказ №{order.number}: {order.title}\n{paper.name} · 3 000 ₽ · взять сейчас",
        buttons=(
            (
                Button("Взять", payload=f"job:take:{order.id}"),
                Button("Предложить цену", payload=f"job:bid:{order.id}"),
                Button("Пропустить", payload=f"job:skip:{order.id}"),
            ),
        ),
        order_id=order.id,
    )
    return card


async def _executors(sessions: Sessions, count: int) -> None:
    """N active executors with a Telegram identity each, in Core bulk inserts."""
    executors = cast(sa.Table, Executor.__table__)
    identities = cast(sa.Table, ChannelIdentity.__table__)
    async with sessions.begin() as session:
        for start in range(0, count, INSERT_CHUNK):
            numbers = range(start, min(start + INSERT_CHUNK, count))
            await session.execute(
                sa.insert(executors),
                [{"name": f"Исполнитель {n}", "status": ExecutorStatus.ACTIVE} for n in numbers],
            )
        ids = list(await session.scalars(sa.select(Executor.id).order_by(Executor.id)))
        for start in range(0, count, INSERT_CHUNK):
            await session.execute(
                sa.insert(identities),
                [
                    {"channel": "telegram", "external_id": str(FIRST_CHAT + n),
                     "chat_id": str(FIRST_CHAT + n), "executor_id": ids[n]}
                    for n in range(start, min(start + INSERT_CHUNK, count))
                ],
            )  # fmt: skip


async def _enqueue_cards(sessions: Sessions, publisher: LocalPublisher, card: Outgoing) -> None:
    """One card per executor's identity through `enqueue`, as the job feed queues them."""
    async with sessions() as session:
        identity_ids = list(
            await session.scalars(
                sa.select(ChannelIdentity.id)
                .where(ChannelIdentity.executor_id.is_not(None))
                .order_by(ChannelIdentity.id)
            )
        )
    for start in range(0, len(identity_ids), CARDS_PER_TRANSACTION):
        chunk = identity_ids[start : start + CARDS_PER_TRANSACTION]
        async with UnitOfWork(sessions, publisher) as uow:
            found = await uow.session.scalars(
                sa.select(ChannelIdentity).where(ChannelIdentity.id.in_(chunk))
            )
            for identity in found:
                assert identity.chat_id is not None
                await enqueue(uow.session, identity, replace(card, chat_id=identity.chat_id))
            await uow.commit()


async def _tally(sessions: Sessions) -> tuple[int, int]:
    """Cards not delivered, and retries (attempts beyond the first) over all cards."""
    async with sessions() as session:
        lost = await session.scalar(
            sa.select(sa.func.count()).where(OutboxItem.status != OutboxStatus.SENT)
        )
        retries = await session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(OutboxItem.attempts), 0))
        )
    return int(lost or 0), int(retries or 0)


def _print(title: str, figures: dict[str, float]) -> None:
    print(title)
    for name, value in figures.items():
        shown = f"{value:>10}" if isinstance(value, int) else f"{value:>10.1f}"
        print(f"  {name:<20} {shown}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--executors", type=int, default=10_000)
    parser.add_argument("--scale", type=int, default=20, help="per-bot limit = S x 30/s")
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument(
        "--fake-in-process", action="store_true", help="run the fake Bot API on our event loop"
    )
    parser.add_argument(
        "--no-gc-freeze", action="store_true", help="leave the collector as a worker has it"
    )
    parser.add_argument("--serve-fake", type=int, metavar="PER_BOT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        return await _serve_fake(args.serve_fake)
    margin = Dispatcher.limit_margin_seconds
    print(
        f"one job to {args.executors} executors; per-bot limit scaled x{args.scale}: "
        f"{args.scale * TELEGRAM_PER_BOT}/s on the fake and in our limiter "
        f"(Telegram: {TELEGRAM_PER_BOT}/s); per chat 1/s as Telegram.\n"
        f"The dispatcher counts each send from its end and keeps each window "
        f"{margin * 1000:.0f} ms longer than the limit's (a steady ceiling under "
        f"{100 / (1 + margin):.1f} %); the fake runs in "
        f"{'this' if args.fake_in_process else 'its own'} process; the collector is "
        f"{'left as it is' if args.no_gc_freeze else 'frozen after setup'}."
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        figures = await fanout(
            url, MemoryRateLimiter(), args.executors, args.scale, Path(tmp),
            fake_in_process=args.fake_in_process, freeze_gc=not args.no_gc_freeze,
        )  # fmt: skip
        _print("SQLite + in-process limiter", figures)
        if args.postgres and args.redis:
            redis = aioredis.from_url(args.redis)
            limiter = RedisRateLimiter(redis, namespace=f"bench-{uuid.uuid4().hex[:6]}")
            try:
                async with scratch_database(args.postgres, "pult_bench") as pg:
                    figures = await fanout(
                        pg, limiter, args.executors, args.scale, Path(tmp),
                        fake_in_process=args.fake_in_process,
                        freeze_gc=not args.no_gc_freeze,
                    )  # fmt: skip
                    _print("PostgreSQL + Redis limiter", figures)
            finally:
                await redis.aclose()


if __name__ == "__main__":
    eventloop.run(main())
