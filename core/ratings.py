"""The client rates the finished work 1–5, once per order; the score goes to the executor's
rating (a sum and a count) and into the order's history."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import ActorRole, Executor, Order, OrderEvent, OrderStatus
from core.transitions import Actor, NotYourOrder, OrderRuleError, audit

RATE = "rate"
RATEABLE = (OrderStatus.DELIVERED, OrderStatus.CLOSED)


class AlreadyRated(OrderRuleError):
    """The order has its rating already."""


class NotRateable(OrderRuleError):
    """Only delivered or closed work is rated."""


async def rate_order(
    session: AsyncSession, order: Order, actor: Actor, stars: int, comment: str = ""
) -> None:
    if actor.role is not ActorRole.CLIENT or actor.client_id != order.client_id:
        raise NotYourOrder("only the order's client rates it")
    if not 1 <= stars <= 5:
        raise ValueError(f"a rating is 1..5, not {stars}")
    if order.status not in RATEABLE:
        raise NotRateable(f"order {order.number} is {order.status}")
    if await order_rating(session, order.id) is not None:
        raise AlreadyRated(f"order {order.number} is rated already")
    audit(
        session,
        order,
        actor,
        RATE,
        order.status,
        order.status,
        data={"stars": stars, "comment": comment},
    )
    if order.executor_id is not None:
        executor = await session.get(Executor, order.executor_id, with_for_update=True)
        assert executor is not None
        executor.rating_total += stars
        executor.rating_count += 1
    await session.flush()


async def order_rating(session: AsyncSession, order_id: int) -> int | None:
    data = await session.scalar(
        select(OrderEvent.data)
        .where(OrderEvent.order_id == order_id, OrderEvent.action == RATE)
        .order_by(OrderEvent.id)
        .limit(1)
    )
    return int(data["stars"]) if data else None


async def rated_orders(session: AsyncSession, client_id: int) -> int:
    found = await session.scalar(
        select(func.count(OrderEvent.id)).where(
            OrderEvent.action == RATE, OrderEvent.actor_client_id == client_id
        )
    )
    return int(found or 0)
