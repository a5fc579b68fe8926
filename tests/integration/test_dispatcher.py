"""The outbox dispatcher against the loopback channel: delivery and thread references,
retries with backoff honouring retry_after, permanent failures, the attempt limit,
per-chat order under retries and under concurrent sends, a batch sent concurrently and
recorded in shared transactions, the running loop claiming ahead of its sends, waking on
new items and sharing the queue between workers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.db import utcnow
from core.events import LocalPublisher, take_pending
from core.models import ChannelIdentity
from inbox.channel import (
    BLOCKED_BY_USER,
    ChannelRegistry,
    DeliveryReceipt,
    Outgoing,
    PermanentError,
    RetryableError,
)
from inbox.conversations import order_thread
from inbox.dispatcher import Dispatcher, RetryPolicy, describe_reason, retry_failed
from inbox.events import OutboxQueued
from inbox.models import (
    ConversationKind,
    DeliveryStatus,
    Direction,
    Message,
    OutboxItem,
    OutboxStatus,
    ThreadRef,
)
from inbox.outbox import CONFIGURED_CHANNELS
from inbox.ratelimit import MemoryRateLimiter, Rate
from inbox.replies import reply
from runtime.database import create_engine, session_factory
from tests import builders
from tests.fakes.loopback import LoopbackChannel


class Clock:
    """The dispatcher's clock, a minute ahead so items queued during the test are due."""

    def __init__(self) -> None:
        self.moment = utcnow() + timedelta(minutes=1)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def channel() -> LoopbackChannel:
    return LoopbackChannel()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def dispatcher(sessions: async_sessionmaker[AsyncSession], channel: LoopbackChannel,
               clock: Clock, **kw: object) -> Dispatcher:  # fmt: skip
    return Dispatcher(
        sessions, LocalPublisher(), ChannelRegistry([channel]), now=clock,
        rng=random.Random(7), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


async def _replies(
    sessions: async_sessionmaker[AsyncSession], *texts: str, chat: str = "c1"
) -> int:
    """A client thread with a loopback identity and `texts` queued as replies."""
    async with sessions() as session:
        order, _manager = await builders.paper_order(session)
        identity = ChannelIdentity(channel="loopback", external_id=chat, chat_id=chat,
                                   client_id=order.client_id)  # fmt: skip
        session.add(identity)
        thread = await order_thread(session, order, ConversationKind.CLIENT)
        for text in texts:
            await reply(session, thread, text, author_user_id=1)
        await session.commit()
        return thread.id


async def _items(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxItem]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


async def test_delivery_records_the_external_id_and_a_thread_reference(
    sessions: async_sessionmaker[AsyncSession], channel: LoopbackChannel, clock: Clock
) -> None:
    thread_id = await _replies(sessions, "Ваш заказ готов")
    assert await dispatcher(sessions, channel, clock).run_once() == 1
    assert [m.text for m in channel.sent] == ["Ваш заказ готов"]
    async with sessions() as session:
        message = await session.scalar(select(Message).where(Message.direction == Direction.OUT))
        ref = await session.scalar(select(ThreadRef))
    (item,) = await _items(sessions)
    assert (item.status, item.external_id) == (OutboxStatus.SENT, "loopback-1")
    assert message is not None and message.delivery_status is DeliveryStatus.SENT
    assert ref is not None and (ref.external_id, ref.conversation_id) == ("loopback-1", thread_id)


async def test_a_retryable_failure_waits_for_retry_after_then_delivers(
    sessions: async_sessionmaker[AsyncSession], channel: LoopbackChannel, clock: Clock
) -> None:
    await _replies(sessions, "Напоминание")
    channel.fail_next(RetryableError("too_many_requests", retry_after=30))
    worker = dispatcher(sessions, channel, clock)
    await worker.run_once()
    (item,) = await _items(sessions)
    wait = (item.next_attempt_at - clock()).total_seconds()
    assert (item.status, item.attempts) == (OutboxStatus.PENDING, 1)
    assert 30 <= wait < 31
    clock.advance(29)
    assert await worker.run_once() == 0
    clock.advance(2)
    assert await worker.run_once() == 1
    assert [m.text for m in channel.sent] == ["Напоминание"]


def test_backoff_grows_exponentially_within_the_jitter_and_the_cap() -> None:
    policy = RetryPolicy(base_seconds=2, factor=2, max_delay_seconds=60, jitter=0.2)
    rng = random.Random(1)
    for attempt, nominal in [(1, 2), (2, 4), (3, 8), (4, 16), (6, 60), (10, 60)]:
        delay = policy.delay(attempt, None, rng)
        assert nominal * 0.8 <= delay <= nominal * 1.2
    assert policy.delay(1, 100.0, rng) == 100.0


async def test_a_permanent_failure_marks_the_identity_unreachable_and_tells_the_manager(
    sessions: async_sessionmaker[AsyncSession], channel: LoopbackChannel, clock: Clock
) -> None:
    await _replies(sessions, "Оплатите, пожалуйста")
    channel.fail_next(PermanentError(BLOCKED_BY_USER, "Forbidden: bot was blocked by the user"))
    await dispatcher(sessions, channel, clock).run_once()
    async with sessions() as session:
        identity = await session.scalar(select(ChannelIdentity))
        notes = list(
            await session.scalars(select(Message.text).where(Message.direction == Direction.SYSTEM))
        )
        failed = await session.scalar(select(Message).where(Message.direction == Direction.OUT))
    (item,) = await _items(sessions)
    assert (item.status, item.last_error) == (OutboxStatus.FAILED, BLOCKED_BY_USER)
    assert identity is not None and not identity.reachable
    assert notes == ["Сообщение не доставлено: получатель заблокировал бота"]
    assert failed is not None and failed.delivery_status is DeliveryStatus.FAILED

    async with sessions() as session:
        await retry_failed(session, item.id)
        await session.commit()
    await dispatcher(sessions, channel, clock).run_once()
    assert [m.text for m in channel.sent] == ["Оплатите, пожалуйста"]


async def _notes(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        query = select(Message.text).where(Message.direction == Direction.SYSTEM)
        return list(await session.scalars(query.order_by(Message.id)))


async def test_an_outage_longer_than_eight_attempts_loses_no_message_and_keeps_the_order(
    sessions: async_sessionmaker[AsyncSession], channel: LoopbackChannel, clock: Clock
) -> None:
    # An hour of 500s: the old limit of 8 attempts (about 4.5 min of backoff) gave the
    # first message up and sent the chat's later ones without it.
    await _replies(sessions, "первое", "второе", "третье")
    channel.fail_next(*[RetryableError("server") for _ in range(30)])
    worker = dispatcher(sessions, channel, clock)
    outage_ends = clock() + timedelta(hours=1)
    while clock() < outage_ends:
        await worker.run_once()
        clock.advance(60)
    channel.recover()  # the outage is over
    clock.advance(600 * 1.2)  # the ceiling, with its jitter
    while await worker.run_once():
        pass
    assert [m.text for m in channel.sent] == ["первое", "второе", "третье"]
    assert {item.status for item in await _items(sessions)} == {OutboxStatus.SENT}
    assert await _notes(sessions) == []


async def test_retries_back_off_to_the_ceiling_and_give_up_at_the_age_in_words(
    sessions: async_sessionmaker[AsyncSession], channel: LoopbackChannel, clock: Clock
) -> None:
    await _replies(sessions, "первое", "второе")
    policy = RetryPolicy(max_delay_seconds=60, give_up_after=timedelta(minutes=10), jitter=0)
    worker = dispatcher(sessions, channel, clock, policy=policy, locale="ru")
    channel.fail_next(*[RetryableError("server") for _ in range(100)])
    delays = []
    while (await _items(sessions))[0].status is OutboxStatus.PENDING:
        await worker.run_once()
        (first, _second) = await _items(sessions)
        if first.status is OutboxStatus.PENDING:
            delays.append((first.next_attempt_at - clock()).total_seconds())
            clock.advance(delays[-1])
    assert delays[:6] == [2, 4, 8, 16, 32, 60] and set(delays[6:]) == {60}
    first, second = await _items(sessions)
    # Given up on in words, and the second is held behind it rather than sent alone.
    assert (first.status, first.last_error) == (OutboxStatus.FAILED, "server")
    assert (second.status, second.last_error) == (OutboxStatus.FAILED, "held_behind")
    assert channel.sent == [] and {m.text for m in channel.attempts} == {"первое"}
    assert await _notes(sessions) == [
        "Сообщение не доставлено: сервер канала всё время отвечал ошибкой"
    ]

    # "Retry" puts both back in their order, with a fresh age.
    channel.recover()
    async with sessions() as session:
        await retry_failed(session, first.id)
        await session.commit()
    clock.advance(1)
    while await worker.run_once():
        pass
    assert [m.text for m in channel.sent] == ["первое", "второе"]
    async with sessions() as session:
        statuses = await session.scalars(
            select(Message.delivery_status).where(Message.direction == Direction.OUT)
        )
        assert set(statuses) == {DeliveryStatus.SENT}


async def test_a_message_for_a_channel_that_is_not_configured_fails_at_once_in_words(
    sessions: async_sessionmaker[AsyncSession], channel: LoopbackChannel, clock: Clock
) -> None:
    # Queued for Telegram (say, by `pult demo`) on an installation without a bot.
    async with sessions() as session:
        order, _manager = await builders.paper_order(session)
        identity = ChannelIdentity(channel="telegram", external_id="9", chat_id="9",
                                   client_id=order.client_id)  # fmt: skip
        session.add(identity)
        thread = await order_thread(session, order, ConversationKind.CLIENT)
        await reply(session, thread, "Заказ готов", author_user_id=1)
        await session.commit()
    await _replies(sessions, "ответ менеджера", chat="c2")
    worker = dispatcher(sessions, channel, clock, locale="en")
    assert await worker.run_once() == 2
    telegram, loopback = await _items(sessions)
    assert (telegram.status, telegram.attempts) == (OutboxStatus.FAILED, 0)
    assert telegram.last_error == "not_connected:telegram"
    assert loopback.status is OutboxStatus.SENT
    assert [m.text for m in channel.sent] == ["ответ менеджера"]
    assert await _notes(sessions) == ["Message not delivered: Telegram is not connected"]


async def test_enqueue_writes_a_message_for_an_unconfigured_channel_failed_not_queued(
    engine: AsyncEngine, channel: LoopbackChannel
) -> None:
    sessions = session_factory(engine)
    sessions.configure(info={CONFIGURED_CHANNELS: ChannelRegistry([channel])})
    async with sessions() as session:
        order, _manager = await builders.paper_order(session)
        identity = ChannelIdentity(channel="telegram", external_id="9", chat_id="9",
                                   client_id=order.client_id)  # fmt: skip
        session.add(identity)
        thread = await order_thread(session, order, ConversationKind.CLIENT)
        message = await reply(session, thread, "Заказ готов", author_user_id=1)
        queued = [e for e in take_pending(session) if isinstance(e, OutboxQueued)]
        await session.commit()
    (item,) = await _items(sessions)
    assert (item.status, item.last_error) == (OutboxStatus.FAILED, "not_connected:telegram")
    assert queued == []  # nothing wakes a dispatcher for it
    async with sessions() as session:
        stored = await session.get(Message, message.id)
    assert stored is not None and stored.delivery_status is DeliveryStatus.FAILED
    assert describe_reason(stored.delivery_error or "", "ru") == "Telegram не подключён"


def test_no_reason_code_reaches_people_as_it_is() -> None:
    codes = ["server", "network", "rate_limited", "telegram", "smtp_4xx", "held_behind",
             "something_new", "not_connected:email"]  # fmt: skip
    for locale in ("ru", "en"):
        for code in codes:
            words = describe_reason(code, locale)
            assert words and words != code and not {"_", ":"} & set(words), (locale, code)
    assert describe_reason("server", "en") == "the channel's server kept answering with an error"


async def test_a_later_message_never_overtakes_an_earlier_one_in_the_same_chat(
    sessions: async_sessionmaker[AsyncSession], channel: LoopbackChannel, clock: Clock
) -> None:
    await _replies(sessions, "первое", "второе", "третье")
    await _replies(sessions, "другой чат", chat="c2")
    channel.fail_next(RetryableError("network"))
    worker = dispatcher(sessions, channel, clock)
    await worker.run_once()  # "первое" fails, "другой чат" goes; the rest of c1 must wait
    assert [m.text for m in channel.sent] == ["другой чат"]
    await worker.run_once()
    assert [m.text for m in channel.sent] == ["другой чат"]
    clock.advance(60)
    while await worker.run_once():
        pass
    assert [m.text for m in channel.sent if m.chat_id == "c1"] == ["первое", "второе", "третье"]


async def test_the_dispatcher_wakes_on_new_items_without_waiting_for_the_poll(
    sessions: async_sessionmaker[AsyncSession], channel: LoopbackChannel
) -> None:
    worker = Dispatcher(sessions, LocalPublisher(), ChannelRegistry([channel]))
    stop, wake = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(worker.run(stop, wake, poll_seconds=3600))
    await asyncio.sleep(0.2)
    await _replies(sessions, "сразу")
    wake.set()
    async with asyncio.timeout(5):
        while not channel.sent:  # noqa: ASYNC110  (polling the fake is the point here)
            await asyncio.sleep(0.02)
    stop.set()
    await running
    assert [m.text for m in channel.sent] == ["сразу"]


async def test_two_workers_share_the_queue_and_send_each_item_once(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=10)
    try:
        sessions = session_factory(engine)
        for chat in range(20):
            await _replies(sessions, f"сообщение {chat}", chat=f"chat-{chat}")
        channel = LoopbackChannel()
        channel.delay = 0.01
        workers = [
            Dispatcher(sessions, LocalPublisher(), ChannelRegistry([channel]), batch_size=5)
            for _ in range(2)
        ]

        async def drain(worker: Dispatcher) -> None:
            while await worker.run_once():
                pass

        await asyncio.gather(*(drain(worker) for worker in workers))
        sent = sorted(m.text for m in channel.sent)
    finally:
        await engine.dispose()
    assert sent == sorted(f"сообщение {chat}" for chat in range(20))


async def test_sends_to_one_telegram_chat_are_spaced_by_its_rate_limit(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    seconds = [0.0]

    async def sleep(duration: float) -> None:
        seconds[0] += duration

    telegram = LoopbackChannel("telegram", clock=lambda: seconds[0])
    async with sessions() as session:
        order, _manager = await builders.paper_order(session)
        identity = ChannelIdentity(channel="telegram", external_id="5", chat_id="5",
                                   client_id=order.client_id)  # fmt: skip
        session.add(identity)
        thread = await order_thread(session, order, ConversationKind.CLIENT)
        for text in ("раз", "два", "три"):
            await reply(session, thread, text, author_user_id=1)
        await session.commit()
    limiter = MemoryRateLimiter(clock=lambda: seconds[0], sleep=sleep)
    worker = dispatcher(sessions, telegram, clock, limiter=limiter)
    while await worker.run_once():
        pass
    # Telegram: one message per second per chat, kept with the dispatcher's margin (25 ms)
    # for sends that arrive a little sooner after the previous one than they left.
    assert telegram.sent_at == pytest.approx([0.0, 1.025, 2.05])


async def test_a_permanent_failure_about_the_message_leaves_the_person_reachable(
    sessions: async_sessionmaker[AsyncSession], channel: LoopbackChannel, clock: Clock
) -> None:
    await _replies(sessions, "Кнопки устарели")
    channel.fail_next(PermanentError("message_gone", "message to edit not found"))
    await dispatcher(sessions, channel, clock).run_once()
    async with sessions() as session:
        identity = await session.scalar(select(ChannelIdentity))
    (item,) = await _items(sessions)
    assert (item.status, item.last_error) == (OutboxStatus.FAILED, "message_gone")
    assert identity is not None and identity.reachable


class InFlightChannel(LoopbackChannel):
    """A loopback channel whose sends take a while (20 ms, or seeded random delays up to
    that): it records the most sends it saw in flight at once."""

    def __init__(self, *, jitter: bool = False) -> None:
        super().__init__()
        self._rng = random.Random(3) if jitter else None
        self.in_flight = 0
        self.most_in_flight = 0

    async def send(self, message: Outgoing) -> DeliveryReceipt:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self._rng.uniform(0.001, 0.02) if self._rng else 0.02)
            return await super().send(message)
        finally:
            self.in_flight -= 1


async def test_a_batch_is_sent_concurrently_and_recorded_in_shared_transactions(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, clock: Clock
) -> None:
    for chat in range(12):
        await _replies(sessions, f"сообщение {chat}", chat=f"chat-{chat}")
    channel = InFlightChannel()
    commits: list[object] = []
    event.listen(engine.sync_engine, "commit", commits.append)
    worker = dispatcher(sessions, channel, clock, concurrency=4)
    assert await worker.run_once() == 12
    assert channel.most_in_flight == 4
    assert sorted(m.text for m in channel.sent) == sorted(f"сообщение {c}" for c in range(12))
    items = await _items(sessions)
    assert {item.status for item in items} == {OutboxStatus.SENT}
    assert len({item.external_id for item in items}) == 12
    # One claim, then fewer "delivered" transactions than items: the first four sends end
    # together, and those finishing while one is recorded share the next transaction.
    assert 2 <= len(commits) < 1 + 12


async def test_concurrent_sends_keep_each_chats_order(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    texts = {f"c{chat}": [f"{chat}.{n}" for n in range(4)] for chat in range(6)}
    for chat, replies in texts.items():
        await _replies(sessions, *replies, chat=chat)
    channel = InFlightChannel(jitter=True)
    channel.fail_next(RetryableError("network"), RetryableError("network"))
    worker = dispatcher(sessions, channel, clock, concurrency=8)
    while await worker.run_once():
        pass
    clock.advance(60)  # the two failed ones are due again
    while await worker.run_once():
        pass
    assert channel.most_in_flight > 1
    for chat, replies in texts.items():
        assert [m.text for m in channel.sent if m.chat_id == chat] == replies


def test_concurrency_must_be_at_least_one(
    sessions: async_sessionmaker[AsyncSession], channel: LoopbackChannel, clock: Clock
) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        dispatcher(sessions, channel, clock, concurrency=0)


class SlowChatChannel(LoopbackChannel):
    """Sends take 10 ms, those to `slow_chat` `slow_seconds`."""

    def __init__(self, slow_chat: str, slow_seconds: float) -> None:
        super().__init__()
        self.slow_chat, self.slow_seconds = slow_chat, slow_seconds

    async def send(self, message: Outgoing) -> DeliveryReceipt:
        await asyncio.sleep(self.slow_seconds if message.chat_id == self.slow_chat else 0.01)
        return await super().send(message)


async def _run_until(worker: Dispatcher, done: Callable[[], bool], **kw: float) -> None:
    stop, wake = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(worker.run(stop, wake, **kw))
    try:
        async with asyncio.timeout(10):
            while not done():  # noqa: ASYNC110  (polling the fake is the point here)
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await running


async def test_the_running_dispatcher_claims_more_while_a_slow_send_is_in_flight(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    for chat in range(8):
        await _replies(sessions, f"сообщение {chat}", chat=f"chat-{chat}")
    channel = SlowChatChannel("chat-0", slow_seconds=0.5)
    worker = dispatcher(sessions, channel, clock, batch_size=4)
    await _run_until(worker, lambda: len(channel.sent) == 8)
    # One batch at a time would hold chats 4-7 until chat 0's send ends; claiming again
    # once half a batch is left sends them meanwhile.
    assert [m.chat_id for m in channel.sent][-1] == "chat-0"
    assert {item.status for item in await _items(sessions)} == {OutboxStatus.SENT}


async def test_the_running_dispatcher_keeps_each_chats_order_through_retries(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    texts = {f"c{chat}": [f"{chat}.{n}" for n in range(3)] for chat in range(6)}
    for chat, replies in texts.items():
        await _replies(sessions, *replies, chat=chat)
    channel = InFlightChannel(jitter=True)
    channel.fail_next(RetryableError("network"), RetryableError("network"))
    worker = Dispatcher(
        sessions, LocalPublisher(), ChannelRegistry([channel]), batch_size=4,
        policy=RetryPolicy(base_seconds=0.05, jitter=0), rng=random.Random(7),
    )  # fmt: skip
    await _run_until(worker, lambda: len(channel.sent) == 18, poll_seconds=0.05)
    for chat, replies in texts.items():
        assert [m.text for m in channel.sent if m.chat_id == chat] == replies


async def test_the_running_dispatcher_finishes_other_sends_then_raises_a_failure(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    for chat in range(3):
        await _replies(sessions, f"сообщение {chat}", chat=f"c{chat}")

    def limits(message: Outgoing) -> list[tuple[str, Rate]]:
        if message.chat_id == "c1":
            raise RuntimeError("a bug in the limits")
        return [(f"chat:{message.chat_id}", Rate(1, 1.0))]

    channel = InFlightChannel()
    worker = dispatcher(sessions, channel, clock, limiter=MemoryRateLimiter(), limits=limits)
    with pytest.raises(RuntimeError, match="a bug in the limits"):
        await worker.run(asyncio.Event(), asyncio.Event(), poll_seconds=0.05)
    assert sorted(m.chat_id for m in channel.sent) == ["c0", "c2"]


class GatedChannel(LoopbackChannel):
    """Sends wait until `gate` is set (a slow channel, or a worker that never finishes)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.started = asyncio.Event()

    async def send(self, message: Outgoing) -> DeliveryReceipt:
        self.started.set()
        await self.gate.wait()
        return await super().send(message)


async def test_a_send_longer_than_the_lease_keeps_its_claim_renewed_and_goes_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # With a lease that is never renewed, a second worker claims the item again while the
    # first is still sending it, and the message goes twice.
    await _replies(sessions, "долгая отправка")
    slow = GatedChannel()
    lease = timedelta(seconds=0.3)
    first = Dispatcher(sessions, LocalPublisher(), ChannelRegistry([slow]), lease=lease)
    second = Dispatcher(sessions, LocalPublisher(), ChannelRegistry([slow]), lease=lease)
    sending = asyncio.create_task(first.run_once())
    await asyncio.wait_for(slow.started.wait(), 5)
    claimed_again = 0
    for _ in range(8):  # 1.2 s: four leases
        await asyncio.sleep(lease.total_seconds() / 2)
        claimed_again += len(await second._claim(10))
    slow.gate.set()
    assert await sending == 1
    assert claimed_again == 0
    assert [m.text for m in slow.sent] == ["долгая отправка"]
    assert [item.status for item in await _items(sessions)] == [OutboxStatus.SENT]


async def test_a_dead_workers_claim_comes_back_after_one_short_lease(
    sessions: async_sessionmaker[AsyncSession], channel: LoopbackChannel
) -> None:
    await _replies(sessions, "первое", "второе")
    await _replies(sessions, "другой чат", chat="c2")
    stuck = GatedChannel()
    lease = timedelta(seconds=0.3)
    dead = Dispatcher(sessions, LocalPublisher(), ChannelRegistry([stuck]), lease=lease)
    dying = asyncio.create_task(dead.run_once())
    await asyncio.wait_for(stuck.started.wait(), 5)
    dying.cancel()  # the worker dies mid-send: its claims stay in the table
    with pytest.raises(asyncio.CancelledError):
        await dying
    alive = Dispatcher(sessions, LocalPublisher(), ChannelRegistry([channel]), lease=lease)
    assert await alive.run_once() == 0  # still leased
    async with asyncio.timeout(5):
        while not await alive.run_once():  # noqa: ASYNC110  (polling the queue is the point)
            await asyncio.sleep(0.05)
    while await alive.run_once():
        pass
    assert [m.text for m in channel.sent if m.chat_id == "c1"] == ["первое", "второе"]
    assert [m.text for m in channel.sent if m.chat_id == "c2"] == ["другой чат"]
    # Shorter than the two minutes a dead worker's 50 chats used to wait.
    assert Dispatcher(sessions, LocalPublisher(), ChannelRegistry()).lease <= timedelta(seconds=30)


async def test_a_429_pauses_the_whole_bot_for_its_retry_after(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    # Before, the next chat's send went at once and drew the next 429.
    seconds = [0.0]

    async def sleep(duration: float) -> None:
        seconds[0] += duration

    telegram = LoopbackChannel("telegram", clock=lambda: seconds[0])
    for chat in ("5", "6"):
        async with sessions() as session:
            order, _manager = await builders.paper_order(session)
            identity = ChannelIdentity(channel="telegram", external_id=chat, chat_id=chat,
                                       client_id=order.client_id)  # fmt: skip
            session.add(identity)
            thread = await order_thread(session, order, ConversationKind.CLIENT)
            await reply(session, thread, f"чат {chat}", author_user_id=1)
            await session.commit()
    telegram.fail_next(RetryableError("rate_limited", retry_after=5))
    limiter = MemoryRateLimiter(clock=lambda: seconds[0], sleep=sleep)
    worker = dispatcher(sessions, telegram, clock, limiter=limiter, concurrency=1)
    assert await worker.run_once() == 2
    assert [m.chat_id for m in telegram.attempts] == ["5", "6"]
    assert [m.chat_id for m in telegram.sent] == ["6"]
    assert telegram.sent_at == [pytest.approx(5.0)]


class SlowOnTheClockChannel(LoopbackChannel):
    """Sends take these seconds of the manual clock in turn (a busy loop, a slow network)
    and reach the provider at their end."""

    def __init__(self, clock: list[float], *seconds: float) -> None:
        super().__init__("telegram", clock=lambda: clock[0])
        self._now, self.durations = clock, list(seconds)

    async def send(self, message: Outgoing) -> DeliveryReceipt:
        self._now[0] += self.durations.pop(0) if self.durations else 0.0
        return await super().send(message)


async def test_a_slow_send_counts_from_its_end_so_the_chats_next_one_waits_a_window_after_it(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    # Counted from when it left, the next (quick) send to the chat left one window after
    # the first (slow) one LEFT, and arrived 0.4 s after it: Telegram's 429 under load.
    seconds = [0.0]

    async def sleep(duration: float) -> None:
        seconds[0] += duration

    telegram = SlowOnTheClockChannel(seconds, 0.6, 0.0)
    async with sessions() as session:
        order, _manager = await builders.paper_order(session)
        identity = ChannelIdentity(channel="telegram", external_id="5", chat_id="5",
                                   client_id=order.client_id)  # fmt: skip
        session.add(identity)
        thread = await order_thread(session, order, ConversationKind.CLIENT)
        for text in ("раз", "два"):
            await reply(session, thread, text, author_user_id=1)
        await session.commit()
    limiter = MemoryRateLimiter(clock=lambda: seconds[0], sleep=sleep)
    worker = dispatcher(sessions, telegram, clock, limiter=limiter)
    while await worker.run_once():
        pass
    first, second = telegram.sent_at
    assert second - first >= 1.0 + 0.025  # a whole window (and the margin) between arrivals
