"""What the bots send when something changes: the reactions the composition root registers
on the publisher (`for reaction in reactions(services): publisher.add_reaction(reaction)`).
Each runs inside the transaction of the change, just before commit, and writes outbox
items, so a notice commits with its cause or not at all.

- client status notices: `handlers.notices`
- the executors' job feed and its retirement: `handlers.feed`
- executors told about their jobs: `handlers.job_notices`
- applicants told the manager's decision: here
- staff alerts in a messenger: `handlers.alerts`
- a ready order that owes nothing is delivered at once: here"""

from __future__ import annotations

import logging
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from core import orders
from core.events import (
    DomainEvent,
    ExecutorApproved,
    ExecutorRejected,
    OrderTransitioned,
    Reaction,
)
from core.i18n import N_
from core.models import Order, OrderStatus
from core.payments import apply_to_order, due_now
from core.transitions import Actor
from handlers.alerts import StaffAlerts
from handlers.cards import t
from handlers.engine import send_replies
from handlers.feed import push_job_cards
from handlers.job_notices import notify_executors
from handlers.notices import ClientNotices
from handlers.recipients import executor_identity, locale_of
from handlers.reply import Reply
from handlers.services import Services

log = logging.getLogger(__name__)

APPROVED = N_(
    "Your application is approved. Welcome! Jobs that match your skills will come to this chat."
)
REJECTED = N_("Thank you for your application. Unfortunately, we cannot offer you work now.")


def reactions(services: Services) -> list[Reaction]:
    """Every reaction, in the order they run for each event. Delivery comes before the
    client's notices: a ready order it delivers is announced by its delivery alone."""
    return [
        deliver_when_covered,
        ClientNotices(services),
        partial(push_job_cards, locale=services.locale),
        partial(notify_executors, services=services),
        partial(notify_applicant, services=services),
        StaffAlerts(services),
    ]


async def deliver_when_covered(session: AsyncSession, event: DomainEvent) -> None:
    """A result that becomes ready when the client owes nothing more (paid in full up
    front, or a free order) is delivered without waiting for a payment that never comes."""
    if not isinstance(event, OrderTransitioned) or event.to_status != OrderStatus.READY:
        return
    order = await session.get(Order, event.order_id)
    assert order is not None
    if order.status is not OrderStatus.READY or (await due_now(session, order)).is_due:
        return
    applied = await apply_to_order(session, order)  # charges what is held, then delivers
    if not applied.delivered and order.status is OrderStatus.READY:
        await orders.deliver_order(session, order, Actor.system())  # nothing to charge


async def notify_applicant(
    session: AsyncSession, event: DomainEvent, *, services: Services
) -> None:
    """Tell an applicant the manager's decision on their application."""
    if not isinstance(event, ExecutorApproved | ExecutorRejected):
        return
    identity = await executor_identity(session, event.executor_id, services.channels)
    if identity is None:
        log.info("applicant %s has no reachable channel", event.executor_id)
        return
    # The manager's reason stays in the executor's notes: it was written for the desk.
    message = APPROVED if isinstance(event, ExecutorApproved) else REJECTED
    text = t(message, locale_of(identity, services.locale))
    await send_replies(session, identity, [Reply(text)])
