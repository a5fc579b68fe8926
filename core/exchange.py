"""The executor exchange: publishing a job, taking it at a fixed price (exactly one of
racing executors wins), bids, assigning, and an executor declining or being released."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from core.kinds import FieldSpec
from core.lifecycle import Action, Plan
from core.models import (
    Bid,
    BidStatus,
    Executor,
    ExecutorStatus,
    Order,
    OrderStatus,
    Skill,
    executor_skills,
)
from core.transitions import (
    Actor,
    ConcurrentChange,
    ExecutorNotEligible,
    JobAlreadyTaken,
    OrderRuleError,
    PriceMissing,
    assigned_executor,
    transition,
)

# Reliability points: the automatic part of an executor's rating (seed 000). Winning a
# job is the executor's own doing whether they took it at a fixed price or won it by a
# bid, so both score; a manager's direct assignment (no bid) is not.
RELIABILITY_TAKE = 1
RELIABILITY_DECLINE = -2

_NO_EXECUTOR = {"executor_id": None, "executor_price": None}

ACTIVE_JOB_STATUSES = (
    OrderStatus.ASSIGNED,
    OrderStatus.IN_PROGRESS,
    OrderStatus.IN_REVIEW,
    OrderStatus.REVISION,
    OrderStatus.REVISION_REQUESTED,
)


async def publish_to_exchange(
    session: AsyncSession, order: Order, actor: Actor, fixed_price: int | None
) -> Plan:
    """Offer the job to executors: with a fixed price they can take it, without they bid."""
    if fixed_price is not None and fixed_price < 0:
        raise ValueError("a price cannot be negative")
    return await transition(
        session,
        order,
        actor,
        Action.PUBLISH,
        data={"fixed_price": fixed_price},
        changes={"exchange_price": fixed_price},
    )


async def withdraw_from_exchange(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(session, order, actor, Action.WITHDRAW)


async def take_job(session: AsyncSession, order: Order, executor: Executor) -> Plan:
    """An executor takes a fixed-price job. Exactly one of several racing executors wins;
    the others get JobAlreadyTaken."""
    if order.status is not OrderStatus.ON_EXCHANGE:
        raise JobAlreadyTaken(f"order {order.number} is no longer on the exchange")
    if order.exchange_price is None:
        raise PriceMissing("this job is open for bids, not for taking")
    await _ensure_can_work(session, executor, order)
    number = order.number
    changes = {"executor_id": executor.id, "executor_price": order.exchange_price}
    try:
        result = await transition(
            session, order, Actor.executor(executor.id), Action.TAKE, changes=changes
        )
    except ConcurrentChange as lost:
        raise JobAlreadyTaken(f"order {number} was taken by someone else") from lost
    executor.reliability += RELIABILITY_TAKE
    await _close_bids(session, order.id, winner=None)
    return result


async def place_bid(
    session: AsyncSession,
    order: Order,
    executor: Executor,
    price: int,
    *,
    comment: str | None = None,
    eta: datetime | None = None,
) -> Bid:
    """An executor's offer; a new offer replaces the executor's previous one."""
    if order.status is not OrderStatus.ON_EXCHANGE:
        raise OrderRuleError(f"order {order.number} is not on the exchange")
    if price < 0:
        raise ValueError("a price cannot be negative")
    await _ensure_can_work(session, executor, order)
    await session.execute(
        update(Bid)
        .where(Bid.order_id == order.id, Bid.executor_id == executor.id)
        .where(Bid.status == BidStatus.ACTIVE)
        .values(status=BidStatus.WITHDRAWN, updated_at=utcnow())
    )
    bid = Bid(order_id=order.id, executor_id=executor.id, price=price, comment=comment, eta=eta)
    session.add(bid)
    await session.flush()
    return bid


async def assign_executor(
    session: AsyncSession,
    order: Order,
    actor: Actor,
    executor: Executor,
    *,
    price: int | None = None,
    bid: Bid | None = None,
) -> Plan:
    """A manager gives the job to an executor, from a bid or at a price they agreed. The
    winner of a bid gets the same reliability points as an executor who takes a job."""
    if bid is not None:
        if bid.order_id != order.id or bid.executor_id != executor.id:
            raise OrderRuleError("the bid belongs to another order or executor")
        price = bid.price
    if executor.status is not ExecutorStatus.ACTIVE:
        raise ExecutorNotEligible(f"executor {executor.name} is {executor.status}")
    price = price if price is not None else order.exchange_price
    result = await transition(
        session,
        order,
        actor,
        Action.ASSIGN,
        data={"executor_id": executor.id, "price": price},
        changes={"executor_id": executor.id, "executor_price": price},
    )
    if bid is not None:
        executor.reliability += RELIABILITY_TAKE
    await _close_bids(session, order.id, winner=bid.id if bid else None)
    return result


async def decline_job(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    """The assigned executor (or driver) turns the job down; it goes back to the manager."""
    executor = await assigned_executor(session, order)
    result = await transition(
        session,
        order,
        actor,
        Action.DECLINE_JOB,
        data={"executor_id": executor.id},
        changes=_NO_EXECUTOR,
    )
    executor.reliability += RELIABILITY_DECLINE
    return result


async def release_executor(
    session: AsyncSession, order: Order, actor: Actor, reason: str = ""
) -> Plan:
    """A manager takes the job away from its executor (to give it to someone else)."""
    data = {"executor_id": order.executor_id, "reason": reason}
    return await transition(session, order, actor, Action.RELEASE, data=data, changes=_NO_EXECUTOR)


def required_skill(order: Order) -> str | None:
    """The skill a job needs: the answer to the kind's field marked `skill`, if any (trips
    and print jobs have none: every active executor may take them)."""
    for data in order.kind.fields:
        spec = FieldSpec.from_json(data)
        if spec.skill:
            value = order.details.get(spec.key)
            return str(value) if value not in (None, "") else None
    return None


async def missing_skill(session: AsyncSession, order: Order, executor: Executor) -> str | None:
    """The skill the job needs that the executor does not have, if so."""
    needed = required_skill(order)
    if needed is None:
        return None
    names = await session.scalars(
        select(Skill.name)
        .join(executor_skills, executor_skills.c.skill_id == Skill.id)
        .where(executor_skills.c.executor_id == executor.id)
    )
    return None if needed.casefold() in {name.casefold() for name in names} else needed


async def _ensure_can_work(session: AsyncSession, executor: Executor, order: Order) -> None:
    """An executor taking or bidding for a job themselves (a manager's assignment may
    overrule the skills)."""
    if executor.status is not ExecutorStatus.ACTIVE:
        raise ExecutorNotEligible(f"executor {executor.name} is {executor.status}")
    if await missing_skill(session, order, executor) is not None:
        raise ExecutorNotEligible(
            f"executor {executor.name} lacks the skill order {order.number} needs"
        )
    active_jobs = await session.scalar(
        select(func.count(Order.id)).where(
            Order.executor_id == executor.id, Order.status.in_(ACTIVE_JOB_STATUSES)
        )
    )
    if (active_jobs or 0) >= executor.capacity:
        raise ExecutorNotEligible(f"executor {executor.name} has no free capacity")


async def _close_bids(session: AsyncSession, order_id: int, winner: int | None) -> None:
    now = utcnow()
    if winner is not None:
        await session.execute(
            update(Bid).where(Bid.id == winner).values(status=BidStatus.WON, updated_at=now)
        )
    await session.execute(
        update(Bid)
        .where(Bid.order_id == order_id, Bid.status == BidStatus.ACTIVE)
        .values(status=BidStatus.LOST, updated_at=now)
    )
