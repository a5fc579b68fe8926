"""The outbox dispatcher: claims due items, sends them through the channel registry,
records the outcome, retries with exponential backoff and jitter (honouring a channel's
retry_after), and gives up after a limit. See docs/outbox.md for the delivery guarantee.

Claiming is one UPDATE ... RETURNING that leases the items for a while: on PostgreSQL its
subquery uses FOR UPDATE SKIP LOCKED so several workers share the queue; on SQLite the
statement itself is atomic (one claimer at a time). Only the oldest pending item of each
chat can be claimed, so a later message never overtakes an earlier one, retries included."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select, update
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
from inbox.ratelimit import TELEGRAM_BOT, TELEGRAM_CHAT, VK_COMMUNITY, Limits, RateLimiter

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


def channel_limits(message: Outgoing) -> Limits:
    """The rate limits a send must pass: the whole bot and the one chat (Telegram), the
    community (VK). Other channels are limited by their adapters' own settings."""
    if message.channel == "telegram":
        return [("telegram:bot", TELEGRAM_BOT), (f"telegram:chat:{message.chat_id}", TELEGRAM_CHAT)]
    if message.channel == "vk":
        return [("vk:community", VK_COMMUNITY)]
    return []


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

    async def run(
        self, stop: asyncio.Event, wake: asyncio.Event, poll_seconds: float = 5.0
    ) -> None:
        """Send until stopped; sleeps when idle until woken (new items) or the poll."""
        while not stop.is_set():
            if await self.run_once():
                continue
            wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
            await asyncio.wait(waiters, timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def run_once(self) -> int:
        """Claim and send one batch; returns how many items were attempted."""
        claimed = await self._claim()
        for item_id in claimed:
            await self._deliver(item_id)
        return len(claimed)

    async def _claim(self) -> list[int]:
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
            .order_by(OutboxItem.id)
            .limit(self.batch_size)
        )
        async with self.sessions() as session:
            if session.get_bind().dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True, of=OutboxItem)
            result = await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(due.scalar_subquery()))
                .values(claimed_until=now + self.lease)
                .returning(OutboxItem.id)
                .execution_options(synchronize_session=False)
            )
            claimed = sorted(result.scalars())
            await session.commit()
        return claimed

    async def _deliver(self, item_id: int) -> None:
        async with self.sessions() as session:
            item = await session.get(OutboxItem, item_id)
            assert item is not None
            outgoing = outgoing_from_json(item.payload)
        if self.limiter is not None and (limits := self.limits(outgoing)):
            await self.limiter.wait_all(limits)
        try:
            receipt = await self.registry.get(outgoing.channel).send(outgoing)
        except PermanentError as error:
            unreachable = error.reason in ABOUT_THE_PERSON
            await self._give_up(item_id, error.reason, unreachable=unreachable)
        except RetryableError as error:
            await self._retry(item_id, error.reason, error.retry_after)
        except Exception as error:  # an adapter bug or a missing channel: retry, then fail
            log.exception("sending outbox item %s failed", item_id)
            await self._retry(item_id, type(error).__name__, None)
        else:
            await self._delivered(item_id, receipt)

    async def _delivered(self, item_id: int, receipt: DeliveryReceipt) -> None:
        async with UnitOfWork(self.sessions, self.publisher) as uow:
            item, message = await _load(uow.session, item_id)
            item.status, item.sent_at = OutboxStatus.SENT, self.now()
            item.external_id, item.claimed_until = receipt.external_id, None
            if message is not None:
                message.delivery_status = DeliveryStatus.SENT
                message.external_id = receipt.external_id
            conversation_id = item.payload.get("conversation_id")
            if conversation_id is not None:
                uow.session.add(
                    ThreadRef(
                        channel=item.channel, chat_id=item.chat_id,
                        external_id=receipt.external_id, conversation_id=conversation_id,
                        order_id=item.payload.get("order_id"), message_id=item.message_id,
                    )
                )  # fmt: skip
            _changed(uow.session, item)
            await uow.commit()

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
                note = gettext(NOT_DELIVERED).format(reason=describe_reason(reason))
                await add_message(session, conversation, Direction.SYSTEM, note)
            _changed(session, item)
            await uow.commit()
        log.warning("outbox item %s failed for good: %s", item_id, reason)


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
