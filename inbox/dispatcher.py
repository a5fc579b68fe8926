"""The outbox dispatcher: claims due items, sends them through the channel registry,
records the outcome, retries with exponential backoff and jitter (honouring a channel's
retry_after), and gives up after a limit. See docs/outbox.md for the delivery guarantee.

Claiming is one UPDATE ... RETURNING that leases the items for a while: on PostgreSQL its
subquery uses FOR UPDATE SKIP LOCKED so several workers share the queue; on SQLite the
statement itself is atomic (one claimer at a time). Only the oldest pending item of each
chat can be claimed, so a later message never overtakes an earlier one, retries included.

Claimed items are therefore of different chats, and are sent concurrently (up to
`concurrency` at once, each still paced by the rate limiter): one send per provider round
trip would stay far below Telegram's 30/s. The running loop claims more while half a batch
is still being sent, and deliveries that finish together are recorded in one transaction
(inbox/group_commit.py), so neither the claim nor the record leaves the limit unused.
Items are claimed oldest due first, through the (status, next_attempt_at) index: the cost
of a claim does not grow with the sent items the table keeps."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from core.db import utcnow
from core.events import EventPublisher, record
from core.i18n import N_, gettext
from core.models import ChannelIdentity
from core.uow import UnitOfWork
from inbox.channel import (
    BAD_ADDRESS,
    BLOCKED_BY_USER,
    FILE_TOO_LARGE,
    MESSAGE_TOO_LONG,
    ChannelRegistry,
    DeliveryReceipt,
    Outgoing,
    PermanentError,
    RetryableError,
)
from inbox.conversations import add_message
from inbox.events import DeliveryChanged
from inbox.group_commit import GroupCommit
from inbox.models import (
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    OutboxItem,
    OutboxStatus,
    ThreadRef,
)
from inbox.outbox import outgoing_from_json
from inbox.ratelimit import (
    TELEGRAM_BOT,
    TELEGRAM_CHAT,
    VK_COMMUNITY,
    Limits,
    Rate,
    RateLimiter,
)

log = logging.getLogger(__name__)

NOT_DELIVERED = N_("Message not delivered: {reason}")
# Permanent failures that say something about the person, not about this one message:
# only these mark the identity unreachable (a stale button that can no longer be edited,
# or a file missing from the store, does not).
ABOUT_THE_PERSON = frozenset({BLOCKED_BY_USER, BAD_ADDRESS})
REASON_LABELS = {
    BLOCKED_BY_USER: N_("the recipient has blocked the bot"),
    BAD_ADDRESS: N_("the address does not exist"),
    MESSAGE_TOO_LONG: N_("the message is too long for this channel"),
    FILE_TOO_LARGE: N_("the file is too large for this channel"),
}


def describe_reason(reason: str, locale: str | None = None) -> str:
    """A delivery failure reason as the manager reads it."""
    label = REASON_LABELS.get(reason)
    return gettext(label, locale) if label else reason


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: base * factor**(attempt-1), capped, with ± jitter share."""

    base_seconds: float = 2.0
    factor: float = 2.0
    max_delay_seconds: float = 900.0
    max_attempts: int = 8
    jitter: float = 0.2

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> float:
        backoff = min(self.base_seconds * self.factor ** (attempts - 1), self.max_delay_seconds)
        backoff *= 1 + rng.uniform(-self.jitter, self.jitter)
        # The channel's own word wins when it asks for longer (Telegram 429 retry_after).
        return max(backoff, retry_after or 0.0)


@functools.lru_cache(maxsize=256)
def _widened(rate: Rate, margin_seconds: float) -> Rate:
    return Rate(rate.count, rate.per_seconds + margin_seconds)


def channel_limits(message: Outgoing) -> Limits:
    """The rate limits a send must pass: the whole bot and the one chat (Telegram), the
    community (VK). Other channels are limited by their adapters' own settings."""
    if message.channel == "telegram":
        return [("telegram:bot", TELEGRAM_BOT), (f"telegram:chat:{message.chat_id}", TELEGRAM_CHAT)]
    if message.channel == "vk":
        return [("vk:community", VK_COMMUNITY)]
    return []


@dataclass(frozen=True, slots=True)
class _Claimed:
    """An item leased for sending, with what sending and recording it need."""

    id: int
    channel: str
    chat_id: str
    message_id: int | None
    payload: dict[str, Any]


@dataclass
class Dispatcher:
    sessions: async_sessionmaker[AsyncSession]
    publisher: EventPublisher
    registry: ChannelRegistry
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    batch_size: int = 50
    lease: timedelta = timedelta(minutes=2)
    now: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    # Global across processes when Redis is configured: a limit hit makes the send wait.
    limiter: RateLimiter | None = None
    limits: Callable[[Outgoing], Limits] = channel_limits
    # Sends in flight at once; they are to different chats (see the module docstring).
    concurrency: int = 16
    # The limiter counts a send when it leaves; the provider when it arrives, a few ms
    # later and not always the same few. Each window is kept this much longer, so that
    # two sends one window apart never arrive less than a window apart.
    limit_margin_seconds: float = 0.025
    # The installation's language (PULT_LOCALE): the managers read the notes it writes.
    locale: str | None = None
    _recorder: GroupCommit[tuple[_Claimed, DeliveryReceipt], None] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        # One "delivered" transaction at a time; deliveries finishing while it runs share
        # the next one.
        self._recorder = GroupCommit(
            self._record_delivered, self._record_delivered_one, limit=self.batch_size,
            concurrency=1,
        )  # fmt: skip

    async def run(
        self, stop: asyncio.Event, wake: asyncio.Event, poll_seconds: float = 5.0
    ) -> None:
        """Send until stopped; sleeps when idle until woken (new items) or the poll.

        The next items are claimed while earlier ones are still being sent (once half a
        batch or less is left), so the claim's round trip leaves no gap in the sending.
        Sends in flight are finished before it returns, or raises the first failure."""
        slots = asyncio.Semaphore(self.concurrency)
        sending: set[asyncio.Task[None]] = set()
        failures: list[BaseException] = []
        progress = asyncio.Event()  # a send finished
        low = self.batch_size // 2

        def finished(task: asyncio.Task[None]) -> None:
            sending.discard(task)
            if not task.cancelled() and (error := task.exception()) is not None:
                failures.append(error)
            progress.set()

        try:
            while not stop.is_set() and not failures:
                progress.clear()
                if len(sending) > low:
                    await _first(stop, progress, seconds=poll_seconds)
                    continue
                wake.clear()
                claimed = await self._claim(self.batch_size - len(sending))
                for item in claimed:
                    task = asyncio.create_task(self._deliver(item, slots))
                    sending.add(task)
                    task.add_done_callback(finished)
                if not claimed:
                    # Nothing due: new items (wake), or a send finishing (its chat's next
                    # item becomes due), or the poll (retries coming due).
                    await _first(stop, wake, progress, seconds=poll_seconds)
        finally:
            # Every send runs to its end: a cancelled one may have reached the channel
            # without being recorded.
            if sending:
                await asyncio.wait(sending)
        if failures:
            raise failures[0]

    async def run_once(self) -> int:
        """Claim and send one batch; returns how many items were attempted."""
        claimed = await self._claim(self.batch_size)
        slots = asyncio.Semaphore(self.concurrency)
        # Every send runs to its end even if another one fails (a cancelled send may have
        # reached the channel unrecorded); the first failure is raised afterwards.
        outcomes = await asyncio.gather(
            *(self._deliver(item, slots) for item in claimed), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return len(claimed)

    async def _claim(self, limit: int) -> list[_Claimed]:
        now = self.now()
        earlier = aliased(OutboxItem)
        blocked = exists().where(
            earlier.channel == OutboxItem.channel,
            earlier.chat_id == OutboxItem.chat_id,
            earlier.status == OutboxStatus.PENDING,
            earlier.id < OutboxItem.id,
        )
        due = (
            select(OutboxItem.id)
            .where(
                OutboxItem.status == OutboxStatus.PENDING,
                OutboxItem.next_attempt_at <= now,
                or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now),
                ~blocked,
            )
            .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
            .limit(limit)
        )
        async with self.sessions() as session:
            if session.get_bind().dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True, of=OutboxItem)
            result = await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(due.scalar_subquery()))
                .values(claimed_until=now + self.lease)
                .returning(
                    OutboxItem.id,
                    OutboxItem.channel,
                    OutboxItem.chat_id,
                    OutboxItem.message_id,
                    OutboxItem.payload,
                )
                .execution_options(synchronize_session=False)
            )
            claimed = sorted((_Claimed(*row) for row in result), key=lambda item: item.id)
            await session.commit()
        return claimed

    async def _deliver(self, claimed: _Claimed, slots: asyncio.Semaphore) -> None:
        """Send in one of the `concurrency` slots, then record the outcome outside it: a
        send waiting for its record must not keep the next one from going."""
        item_id = claimed.id
        async with slots:
            outcome = await self._send(outgoing_from_json(claimed.payload))
        if isinstance(outcome, DeliveryReceipt):
            await self._recorder.submit((claimed, outcome))
        elif isinstance(outcome, PermanentError):
            unreachable = outcome.reason in ABOUT_THE_PERSON
            await self._give_up(item_id, outcome.reason, unreachable=unreachable)
        elif isinstance(outcome, RetryableError):
            await self._retry(item_id, outcome.reason, outcome.retry_after)
        else:  # an adapter bug or a missing channel: retry, then fail
            log.error("sending outbox item %s failed", item_id, exc_info=outcome)
            await self._retry(item_id, type(outcome).__name__, None)

    async def _send(self, outgoing: Outgoing) -> DeliveryReceipt | Exception:
        """The receipt, or what the channel raised (the caller records it)."""
        if self.limiter is not None and (limits := self.limits(outgoing)):
            margin = self.limit_margin_seconds
            await self.limiter.wait_all([(key, _widened(rate, margin)) for key, rate in limits])
        try:
            return await self.registry.get(outgoing.channel).send(outgoing)
        except Exception as error:
            return error

    async def _record_delivered(
        self, delivered: list[tuple[_Claimed, DeliveryReceipt]]
    ) -> list[None]:
        """Items sent: `sent` with the channel's id, their messages too, and a ThreadRef so
        that a reply threads back to the conversation. One transaction for all, in bulk
        statements (UPDATE ... WHERE id = each, one INSERT for the references)."""
        now = self.now()
        items, messages, refs = [], [], []
        for claimed, receipt in delivered:
            external_id = receipt.external_id
            items.append(
                {"id": claimed.id, "status": OutboxStatus.SENT, "sent_at": now,
                 "external_id": external_id, "claimed_until": None}
            )  # fmt: skip
            if claimed.message_id is not None:
                messages.append(
                    {"id": claimed.message_id, "delivery_status": DeliveryStatus.SENT,
                     "external_id": external_id}
                )  # fmt: skip
            conversation_id = claimed.payload.get("conversation_id")
            if conversation_id is not None:
                refs.append(
                    {"channel": claimed.channel, "chat_id": claimed.chat_id,
                     "external_id": external_id, "conversation_id": conversation_id,
                     "order_id": claimed.payload.get("order_id"),
                     "message_id": claimed.message_id}
                )  # fmt: skip
        async with UnitOfWork(self.sessions, self.publisher) as uow:
            session = uow.session
            await session.execute(update(OutboxItem), items)
            if messages:
                await session.execute(update(Message), messages)
            if refs:
                await session.execute(insert(ThreadRef), refs)
            for claimed, _ in delivered:
                record(
                    session,
                    DeliveryChanged(
                        outbox_id=claimed.id, message_id=claimed.message_id,
                        status=OutboxStatus.SENT.value,
                    ),
                )  # fmt: skip
            await uow.commit()
        return [None] * len(delivered)

    async def _record_delivered_one(self, delivered: tuple[_Claimed, DeliveryReceipt]) -> None:
        await self._record_delivered([delivered])

    async def _retry(self, item_id: int, reason: str, retry_after: float | None) -> None:
        async with UnitOfWork(self.sessions, self.publisher) as uow:
            item, _ = await _load(uow.session, item_id)
            item.attempts += 1
            if item.attempts >= self.policy.max_attempts:
                await uow.rollback()
                return await self._give_up(item_id, reason, unreachable=False)
            delay = self.policy.delay(item.attempts, retry_after, self.rng)
            item.next_attempt_at = self.now() + timedelta(seconds=delay)
            item.claimed_until, item.last_error = None, reason[:500]
            await uow.commit()
        log.info("outbox item %s: %s, retry in %.1f s", item_id, reason, delay)

    async def _give_up(self, item_id: int, reason: str, *, unreachable: bool) -> None:
        async with UnitOfWork(self.sessions, self.publisher) as uow:
            session = uow.session
            item, message = await _load(session, item_id)
            item.status, item.claimed_until, item.last_error = OutboxStatus.FAILED, None, reason
            identity = await session.get(ChannelIdentity, item.identity_id or 0)
            if unreachable and identity is not None:
                identity.reachable, identity.unreachable_reason = False, reason
            if message is not None:
                message.delivery_status = DeliveryStatus.FAILED
                message.delivery_error = reason[:500]
                conversation = await session.get(Conversation, message.conversation_id)
                assert conversation is not None
                note = gettext(NOT_DELIVERED, self.locale).format(
                    reason=describe_reason(reason, self.locale)
                )
                await add_message(session, conversation, Direction.SYSTEM, note)
            _changed(session, item)
            await uow.commit()
        log.warning("outbox item %s failed for good: %s", item_id, reason)


async def _first(*events: asyncio.Event, seconds: float) -> None:
    """Wait until one of `events` is set, or `seconds` have passed."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def retry_failed(session: AsyncSession, item_id: int) -> None:
    """The panel's "send again" on a failed item: back in the queue, attempts from zero."""
    item = await session.get(OutboxItem, item_id)
    if item is None or item.status is not OutboxStatus.FAILED:
        raise LookupError(f"outbox item {item_id} is not a failed item")
    item.status, item.attempts, item.next_attempt_at = OutboxStatus.PENDING, 0, utcnow()
    item.last_error = None
    message = await session.get(Message, item.message_id or 0)
    if message is not None:
        message.delivery_status, message.delivery_error = DeliveryStatus.QUEUED, None
    identity = await session.get(ChannelIdentity, item.identity_id or 0)
    if identity is not None:
        identity.reachable, identity.unreachable_reason = True, None
    await session.flush()


async def _load(session: AsyncSession, item_id: int) -> tuple[OutboxItem, Message | None]:
    item = await session.get(OutboxItem, item_id)
    assert item is not None
    message = await session.get(Message, item.message_id) if item.message_id else None
    return item, message


def _changed(session: AsyncSession, item: OutboxItem) -> None:
    record(
        session,
        DeliveryChanged(outbox_id=item.id, message_id=item.message_id, status=item.status.value),
    )
