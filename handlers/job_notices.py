"""What executors hear when their job moves: the job left the exchange (the cards lose their
buttons, a manager's pick is told "the job is yours", the other bidders "it went to someone
else"), the result was returned for revision (with the manager's comment) or accepted, and
the client's revision request was taken on."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.events import DomainEvent, OrderTransitioned
from core.i18n import N_
from core.models import Bid, BidStatus, Executor, Order, OrderEvent, OrderStatus
from handlers import driver, jobs
from handlers.cards import detail_rows, money, t
from handlers.engine import send_replies
from handlers.feed import TAKEN, WITHDRAWN, retire_job_cards
from handlers.recipients import executor_identities, executor_identity, locale_of
from handlers.reply import Reply, button, card, rows
from handlers.services import Services

log = logging.getLogger(__name__)

S = OrderStatus

JOB_IS_YOURS = N_("Job №{number} is yours")
YOUR_PRICE = N_("Your price")
JOB_WENT_ELSEWHERE = N_("Job №{number} went to another executor. Thank you for your offer!")
RETURNED = N_("Job №{number} is returned for revision.")
RETURNED_COMMENT = N_("Job №{number} is returned for revision. The manager's comment: {comment}")
ACCEPTED = N_("Job №{number} is accepted. Thank you for the work!")
CLIENT_REVISION = N_(
    "Job №{number} needs a revision the client asked for. The manager will send the details."
)
# What the assignee hears after these moves (a returned result gets the manager's comment).
WORK_NOTICES = {
    "approve": ACCEPTED,
    "return_for_revision": RETURNED,
    "accept_revision": CLIENT_REVISION,
}


async def notify_executors(
    session: AsyncSession, event: DomainEvent, *, services: Services | None = None
) -> None:
    """The reaction: every executor-facing consequence of an order's move."""
    if not isinstance(event, OrderTransitioned):
        return
    services = services or Services()
    order = await session.get(Order, event.order_id)
    assert order is not None
    if event.from_status == S.ON_EXCHANGE:
        await _left_exchange(session, order, event, services)
    elif event.action == "assign" and order.executor_id is not None:
        # Given by a manager without the exchange.
        await _tell_assignee(session, order, None, services)
    elif event.action in WORK_NOTICES and order.executor_id is not None:
        await _tell_assignee(session, order, event.action, services)


async def _left_exchange(
    session: AsyncSession, order: Order, event: OrderTransitioned, services: Services
) -> None:
    locale = services.locale
    if event.to_status != S.ASSIGNED or order.executor_id is None:
        # Withdrawn or cancelled.
        await retire_job_cards(session, order, WITHDRAWN, locale=locale)
        return
    winner = await session.get(Executor, order.executor_id)
    assert winner is not None
    keep = {winner.id} | ({winner.parent_id} if winner.parent_id else set())
    await retire_job_cards(session, order, TAKEN, keep, locale=locale)
    await _tell_other_bidders(session, order, keep, locale)
    if event.actor_role != "executor":  # an executor who took it was answered by the flow
        await _tell_assignee(session, order, None, services)


async def _tell_assignee(
    session: AsyncSession, order: Order, action: str | None, services: Services
) -> None:
    """Tell the order's executor about `action` (None: the "job is yours" card)."""
    assert order.executor_id is not None
    identity = await executor_identity(session, order.executor_id, services.channels)
    if identity is None:
        log.info("order %s: executor %s has no reachable channel", order.number, order.executor_id)
        return
    locale = locale_of(identity, services.locale)
    if action is None:
        reply = job_is_yours_reply(order, locale)
    else:
        reply = Reply(await _work_text(session, order, action, locale), order_id=order.id)
    await send_replies(session, identity, [reply])


def job_is_yours_reply(order: Order, locale: str) -> Reply:
    """The job with what the assignee needs to know (a manager's pick may never have seen
    the card) and the first thing to do: a driver accepts or declines the trip, anyone
    else starts the work."""
    if order.kind.execution_steps:
        return driver.trip_reply(order, locale)
    lines = detail_rows(order, locale, masked=True)
    if order.executor_price is not None:
        lines.append((t(YOUR_PRICE, locale), money(order.executor_price, order, locale)))
    return Reply(
        html=card(t(JOB_IS_YOURS, locale, number=order.number), lines),
        buttons=rows([button(t(jobs.START_WORK, locale), f"job:start:{order.id}")]),
        order_id=order.id,
    )


async def _tell_other_bidders(
    session: AsyncSession, order: Order, keep: set[int], locale: str
) -> None:
    published_at = await session.scalar(
        select(OrderEvent.created_at)
        .where(OrderEvent.order_id == order.id, OrderEvent.action == "publish")
        .order_by(OrderEvent.id.desc())
        .limit(1)
    )
    losers = select(Bid.executor_id).where(
        Bid.order_id == order.id,
        Bid.status == BidStatus.LOST,
        Bid.executor_id.not_in(keep),
        # Bids of an earlier round on the exchange were answered back then.
        *([Bid.created_at >= published_at] if published_at is not None else []),
    )
    for identity in (await executor_identities(session, losers)).values():
        text = t(JOB_WENT_ELSEWHERE, locale_of(identity, locale), number=order.number)
        await send_replies(session, identity, [Reply(text)])


async def _work_text(session: AsyncSession, order: Order, action: str, locale: str) -> str:
    message, comment = WORK_NOTICES[action], ""
    if action == "return_for_revision":
        comment = await _comment(session, order.id, action)
        message = RETURNED_COMMENT if comment else RETURNED
    return t(message, locale, number=order.number, comment=comment)


async def _comment(session: AsyncSession, order_id: int, action: str) -> str:
    data = await session.scalar(
        select(OrderEvent.data)
        .where(OrderEvent.order_id == order_id, OrderEvent.action == action)
        .order_by(OrderEvent.id.desc())
        .limit(1)
    )
    return str((data or {}).get("comment") or "").strip()
