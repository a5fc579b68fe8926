"""The executors' job feed: a job published on the exchange is pushed as a card (Take or
Offer a price / Skip) to every active executor whose skills match and who has room for
another job; when the job leaves the exchange, the cards still out there lose their buttons.

Matching: the answer of the kind's field marked `skill` must be one of the executor's
skills; a kind without such a field (trips, print jobs) or an order without that answer
goes to every active executor. Drivers of a supplier company do not get the feed: their
company's dispatcher takes the job and hands it to one of them.

Every card is an outbox item whose payload carries the order id and `extra["card"] ==
"job"`; that is how the cards of a job are found again to retire them."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import exchange
from core.db import utcnow
from core.events import DomainEvent, OrderTransitioned, record
from core.exchange import ACTIVE_JOB_STATUSES
from core.i18n import DEFAULT_LOCALE, N_
from core.models import (
    ChannelIdentity,
    Executor,
    ExecutorStatus,
    Order,
    OrderEvent,
    OrderStatus,
    Skill,
    executor_skills,
)
from handlers.cards import job_reply, t
from handlers.recipients import executor_identities, locale_of
from handlers.reply import Reply
from inbox.channel import Outgoing
from inbox.events import OutboxQueued
from inbox.models import OutboxItem, OutboxStatus
from inbox.outbox import channel_configured, not_connected, outgoing_to_json

log = logging.getLogger(__name__)

JOB_CARD = "job"  # Outgoing.extra["card"] of a job card
SUPERSEDED = "superseded"  # OutboxItem.last_error of a card cancelled before it was sent

TAKEN = N_("Job №{number} is taken.")
WITHDRAWN = N_("Job №{number} is no longer available.")


async def push_job_cards(
    session: AsyncSession, event: DomainEvent, *, locale: str = DEFAULT_LOCALE
) -> None:
    """The reaction to a job reaching the exchange; `locale`: the installation's, for
    executors whose own language is not known."""
    if not isinstance(event, OrderTransitioned) or event.to_status != OrderStatus.ON_EXCHANGE:
        return
    order = await session.get(Order, event.order_id)
    assert order is not None
    identities = await executor_identities(session, matching_executors(order))
    cards: dict[str, Reply] = {}
    queued = []
    for identity in identities.values():
        theirs = locale_of(identity, locale)
        if theirs not in cards:
            cards[theirs] = job_reply(order, theirs)
        queued.append((identity, _card(identity, cards[theirs], order.id)))
    await queue_many(session, queued)
    log.info("job %s pushed to %d executors", order.number, len(queued))


def matching_executors(order: Order) -> Select[int]:
    """Ids of the executors the job is offered to, as a subquery (no parameter lists)."""
    busy = (
        select(func.count(Order.id))
        .where(Order.executor_id == Executor.id, Order.status.in_(ACTIVE_JOB_STATUSES))
        .correlate(Executor)
        .scalar_subquery()
    )
    query = select(Executor.id).where(
        Executor.status == ExecutorStatus.ACTIVE,
        Executor.parent_id.is_(None),
        busy < Executor.capacity,
    )
    skill = exchange.required_skill(order)
    if skill is not None:
        skilled = (
            select(executor_skills.c.executor_id)
            .join(Skill, Skill.id == executor_skills.c.skill_id)
            .where(Skill.name == skill)
        )
        query = query.where(Executor.id.in_(skilled))
    return query


def _card(identity: ChannelIdentity, reply: Reply, order_id: int) -> Outgoing:
    # No conversation: the card is an offer, not a thread with this executor (yet).
    return Outgoing(
        channel=identity.channel,
        chat_id=identity.chat_id or identity.external_id,
        text=reply.text,
        html=reply.html,
        buttons=reply.buttons,
        order_id=order_id,
        extra={"card": JOB_CARD},
    )


async def queue_many(
    session: AsyncSession, messages: Sequence[tuple[ChannelIdentity, Outgoing]]
) -> None:
    """`inbox.outbox.enqueue` for a whole feed at once: one flush, one wake-up per channel
    (the dispatcher claims in batches; one OutboxQueued per card would only flood the bus)."""
    items = [
        OutboxItem(
            identity_id=identity.id,
            channel=message.channel,
            chat_id=message.chat_id,
            payload=outgoing_to_json(message),
        )
        for identity, message in messages
    ]
    for item in items:
        # As `enqueue` does: a card for a channel this installation lacks is failed in words
        # at once, never queued (it could only be retried in vain).
        if not channel_configured(session, item.channel):
            item.status, item.last_error = OutboxStatus.FAILED, not_connected(item.channel)
    session.add_all(items)
    await session.flush()
    pending = [item for item in items if item.status is not OutboxStatus.FAILED]
    first_of_channel = {item.channel: item.id for item in reversed(pending)}
    for channel, item_id in first_of_channel.items():
        record(session, OutboxQueued(outbox_id=item_id, channel=channel))


async def retire_job_cards(
    session: AsyncSession,
    order: Order,
    message: str,
    keep: Collection[int] = (),
    *,
    locale: str = DEFAULT_LOCALE,
) -> None:
    """Take the buttons off the job's cards: a card already delivered is edited to
    `message`; a card still queued is cancelled. A card being sent this very moment keeps
    its buttons, and pressing one is answered by the flow (the job is no longer open).
    `keep`: executors whose delivered card stays as it is (the winner)."""
    published_at = await _published_at(session, order.id)
    if published_at is None:
        return
    rows = (
        await session.execute(
            select(OutboxItem.id, OutboxItem.status, OutboxItem.external_id, OutboxItem.chat_id)
            .add_columns(ChannelIdentity)
            .join(ChannelIdentity, ChannelIdentity.id == OutboxItem.identity_id)
            .where(
                OutboxItem.payload["order_id"].as_integer() == order.id,
                OutboxItem.payload[("extra", "card")].as_string() == JOB_CARD,
                OutboxItem.status.in_([OutboxStatus.PENDING, OutboxStatus.SENT]),
                OutboxItem.created_at >= published_at,
            )
        )
    ).all()
    await _cancel_unclaimed(session, [row.id for row in rows if row.status is OutboxStatus.PENDING])
    edits = []
    for row in rows:
        identity: ChannelIdentity = row.ChannelIdentity
        delivered = row.status is OutboxStatus.SENT and row.external_id
        if delivered and identity.reachable and identity.executor_id not in keep:
            text = t(message, locale_of(identity, locale), number=order.number)
            edits.append((identity, _edit(identity, row.chat_id, row.external_id, text, order.id)))
    await queue_many(session, edits)


def _edit(
    identity: ChannelIdentity, chat_id: str, external_id: str, text: str, order_id: int
) -> Outgoing:
    return Outgoing(
        channel=identity.channel,
        chat_id=chat_id,
        text=text,
        order_id=order_id,
        extra={"edit_message_id": external_id},
    )


async def _cancel_unclaimed(session: AsyncSession, item_ids: list[int]) -> None:
    """Cancel queued cards the dispatcher has not claimed. The guarded UPDATE is the lock:
    a card a dispatcher claimed first is left to it (see `retire_job_cards`)."""
    if not item_ids:
        return
    now = utcnow()
    await session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.id.in_(item_ids),
            OutboxItem.status == OutboxStatus.PENDING,
            (OutboxItem.claimed_until.is_(None)) | (OutboxItem.claimed_until < now),
        )
        .values(status=OutboxStatus.CANCELLED, last_error=SUPERSEDED)
        .execution_options(synchronize_session=False)
    )


async def _published_at(session: AsyncSession, order_id: int) -> datetime | None:
    """When the job was last put on the exchange: older cards were retired back then."""
    found: datetime | None = await session.scalar(
        select(func.max(OrderEvent.created_at)).where(
            OrderEvent.order_id == order_id, OrderEvent.action == "publish"
        )
    )
    return found
