"""Order services: create an order and move it through its lifecycle.

One function per transition. Each checks the rules (`core.lifecycle.plan`) and that the
actor is a party to the order, applies the change, writes an `OrderEvent` and records a
domain event that is published only after the caller's unit of work commits. The order row
carries a version column, so two racing transitions (two executors taking one job) cannot
both succeed: the loser's UPDATE matches no row and fails as `ConcurrentChange`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from core import ledger, pricing
from core.db import utcnow
from core.events import OrderCreated, OrderTransitioned, record
from core.lifecycle import Action, KindProfile, Plan, plan, within_guarantee
from core.models import (
    ActorRole,
    Bid,
    BidStatus,
    Counter,
    DiscountTier,
    Executor,
    ExecutorStatus,
    Order,
    OrderEvent,
    OrderKind,
    OrderStatus,
    User,
)

# Reliability points: the automatic part of an executor's rating (seed 000).
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


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a role plus the id that ties them to an order."""

    role: ActorRole
    user_id: int | None = None
    client_id: int | None = None
    executor_id: int | None = None

    @classmethod
    def staff(cls, user: User) -> Actor:
        return cls(ActorRole(user.role.value), user_id=user.id)

    @classmethod
    def client(cls, client_id: int) -> Actor:
        return cls(ActorRole.CLIENT, client_id=client_id)

    @classmethod
    def executor(cls, executor_id: int) -> Actor:
        return cls(ActorRole.EXECUTOR, executor_id=executor_id)

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorRole.SYSTEM)


class OrderRuleError(Exception):
    """A rule outside the transition table refused the action; `reason` is a stable code."""

    reason = "rule"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class NotYourOrder(OrderRuleError):
    reason = "not_a_party"


class ConcurrentChange(OrderRuleError):
    reason = "changed_concurrently"


class JobAlreadyTaken(ConcurrentChange):
    reason = "already_taken"


class ExecutorNotEligible(OrderRuleError):
    reason = "executor_not_eligible"


class OutsideGuarantee(OrderRuleError):
    reason = "outside_guarantee"


class PriceMissing(OrderRuleError):
    reason = "price_missing"


def profile_of(kind: OrderKind) -> KindProfile:
    return KindProfile(
        prepayment=bool(kind.prepayment_percent),
        exchange=kind.uses_exchange,
        review=kind.needs_review,
        steps=tuple(kind.execution_steps),
        guarantee_days=kind.guarantee_days,
    )


async def next_order_number(session: AsyncSession) -> int:
    result = await session.execute(
        update(Counter)
        .where(Counter.name == "order_number")
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    return int(result.scalar_one())


async def create_order(
    session: AsyncSession,
    *,
    kind: OrderKind,
    client_id: int,
    actor: Actor,
    details: dict[str, Any] | None = None,
    title: str = "",
    manager_id: int | None = None,
    deadline: datetime | None = None,
    scheduled_at: datetime | None = None,
    draft: bool = False,
) -> Order:
    """A new order (status `new`, or `draft` while a client is still filling it in)."""
    if actor.role is ActorRole.CLIENT and actor.client_id != client_id:
        raise NotYourOrder("a client can only order for themselves")
    if actor.role in (ActorRole.EXECUTOR, ActorRole.SYSTEM):
        raise NotYourOrder(f"{actor.role} cannot create orders")
    status = OrderStatus.DRAFT if draft else OrderStatus.NEW
    order = Order(
        number=await next_order_number(session),
        kind=kind,
        client_id=client_id,
        manager_id=manager_id,
        status=status,
        title=title,
        details=details or {},
        deadline=deadline,
        scheduled_at=scheduled_at,
    )
    session.add(order)
    await session.flush()
    _audit(session, order, actor, "create", None, status, data={"kind": kind.code})
    record(
        session,
        OrderCreated(
            order_id=order.id,
            number=order.number,
            kind_code=kind.code,
            client_id=client_id,
            status=status.value,
        ),
    )
    return order


async def get_order(session: AsyncSession, order_id: int) -> Order:
    order = await session.get(Order, order_id)
    if order is None:
        raise LookupError(f"order {order_id} not found")
    return order


# --- the transitions -------------------------------------------------------------------


async def submit_order(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(session, order, actor, Action.SUBMIT)


async def start_evaluation(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(session, order, actor, Action.START_EVALUATION)


async def quote_order(
    session: AsyncSession,
    order: Order,
    actor: Actor,
    list_price: int,
    *,
    discount_bp: int | None = None,
) -> Plan:
    """Price the order. The client's cumulative discount tier applies unless the manager
    gives a discount explicitly; the kind's prepayment share is computed on the result."""
    if discount_bp is None:
        discount_bp = await client_discount_bp(session, order.client_id, order.currency)
    quote = pricing.make_quote(list_price, discount_bp, order.kind.prepayment_percent)
    changes = {
        "list_price": quote.list_price,
        "discount_bp": quote.discount_bp,
        "discount_amount": quote.discount_amount,
        "client_price": quote.client_price,
        "prepayment_amount": quote.prepayment_amount,
    }
    return await transition(session, order, actor, Action.QUOTE, data=changes, changes=changes)


async def client_discount_bp(session: AsyncSession, client_id: int, currency: str) -> int:
    tiers = (
        await session.execute(
            select(DiscountTier.threshold, DiscountTier.discount_bp).where(
                DiscountTier.currency == currency
            )
        )
    ).all()
    paid = await ledger.paid_total(session, client_id, currency)
    return pricing.discount_for(paid, [(tier.threshold, tier.discount_bp) for tier in tiers])


async def accept_quote(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    if order.client_price is None:
        raise PriceMissing("the order has no price yet")
    return await transition(session, order, actor, Action.ACCEPT_QUOTE)


async def reopen_quote(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(session, order, actor, Action.REOPEN_QUOTE)


async def mark_paid(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(session, order, actor, Action.MARK_PAID)


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
    await _ensure_can_work(session, executor)
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
    await _ensure_can_work(session, executor)
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
    """A manager gives the job to an executor, from a bid or at a price they agreed."""
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
    await _close_bids(session, order.id, winner=bid.id if bid else None)
    return result


async def decline_job(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    """The assigned executor (or driver) turns the job down; it goes back to the manager."""
    executor = await _assigned_executor(session, order)
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


async def start_work(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(session, order, actor, Action.START_WORK)


async def advance_step(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(session, order, actor, Action.ADVANCE)


async def submit_result(
    session: AsyncSession, order: Order, actor: Actor, comment: str = ""
) -> Plan:
    return await transition(session, order, actor, Action.SUBMIT_RESULT, data={"comment": comment})


async def approve_result(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(session, order, actor, Action.APPROVE)


async def return_for_revision(
    session: AsyncSession, order: Order, actor: Actor, comment: str = ""
) -> Plan:
    data = {"comment": comment}
    return await transition(session, order, actor, Action.RETURN_FOR_REVISION, data=data)


async def resume_work(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(session, order, actor, Action.RESUME)


async def deliver_order(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(
        session, order, actor, Action.DELIVER, changes={"delivered_at": utcnow()}
    )


async def request_revision(
    session: AsyncSession,
    order: Order,
    actor: Actor,
    comment: str = "",
    *,
    now: datetime | None = None,
) -> Plan:
    """A client may ask for a free revision during the guarantee period; staff may reopen
    the work at any time (a paid revision is their call)."""
    moment = now or utcnow()
    in_time = within_guarantee(order.delivered_at, order.kind.guarantee_days, moment)
    if actor.role is ActorRole.CLIENT and not in_time:
        raise OutsideGuarantee(f"the guarantee period of order {order.number} is over")
    data = {"comment": comment}
    return await transition(session, order, actor, Action.REQUEST_REVISION, data=data)


async def accept_revision(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(session, order, actor, Action.ACCEPT_REVISION)


async def decline_revision(
    session: AsyncSession, order: Order, actor: Actor, reason: str = ""
) -> Plan:
    data = {"reason": reason}
    return await transition(session, order, actor, Action.DECLINE_REVISION, data=data)


async def close_order(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(session, order, actor, Action.CLOSE, changes={"closed_at": utcnow()})


async def cancel_order(session: AsyncSession, order: Order, actor: Actor, reason: str = "") -> Plan:
    """Cancel an open order. A prepayment still held for it goes back to the client's
    balance at once; paying it out (refund) or taking back a final charge stays a
    manager's explicit decision in core.ledger."""
    held = (await ledger.order_money(session, order.id, order.currency)).held
    result = await transition(
        session,
        order,
        actor,
        Action.CANCEL,
        data={"reason": reason, "released": held},
        changes={"cancel_reason": reason or None, "closed_at": utcnow()},
    )
    if held:
        await ledger.release_hold(session, order.id, order.client_id, held, order.currency)
    return result


# --- the shared mechanism --------------------------------------------------------------


async def transition(
    session: AsyncSession,
    order: Order,
    actor: Actor,
    action: Action,
    *,
    data: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> Plan:
    """Check one move; only if it is allowed set `changes` on the order, move it, audit it,
    record its event and flush (a lost race with a concurrent transition surfaces here as
    ConcurrentChange)."""
    await _ensure_party(session, order, actor, action)
    step = plan(action, order.status, actor.role, profile_of(order.kind), order.step)
    number = order.number
    for name, value in (changes or {}).items():
        setattr(order, name, value)
    order.status = step.to_status
    order.step = step.to_step
    _audit(
        session,
        order,
        actor,
        action.value,
        step.from_status,
        step.to_status,
        data=data,
        from_step=step.from_step,
        to_step=step.to_step,
    )
    try:
        await session.flush()
    except StaleDataError as lost:
        raise ConcurrentChange(f"order {number} was changed by someone else") from lost
    record(
        session,
        OrderTransitioned(
            order_id=order.id,
            number=number,
            action=action.value,
            actor_role=actor.role.value,
            from_status=step.from_status.value,
            to_status=step.to_status.value,
            from_step=step.from_step,
            to_step=step.to_step,
        ),
    )
    return step


def _audit(
    session: AsyncSession,
    order: Order,
    actor: Actor,
    action: str,
    from_status: OrderStatus | None,
    to_status: OrderStatus,
    *,
    data: dict[str, Any] | None = None,
    from_step: str | None = None,
    to_step: str | None = None,
) -> None:
    session.add(
        OrderEvent(
            order_id=order.id,
            action=action,
            actor_role=actor.role,
            actor_user_id=actor.user_id,
            actor_client_id=actor.client_id,
            actor_executor_id=actor.executor_id,
            from_status=from_status.value if from_status else None,
            to_status=to_status.value,
            from_step=from_step,
            to_step=to_step,
            data=data or {},
        )
    )


async def _ensure_party(session: AsyncSession, order: Order, actor: Actor, action: Action) -> None:
    if actor.role is ActorRole.CLIENT and order.client_id != actor.client_id:
        raise NotYourOrder(f"order {order.number} belongs to another client")
    if actor.role is ActorRole.EXECUTOR and action is not Action.TAKE:
        executor = await _assigned_executor(session, order)
        # A supplier's dispatcher acts for the driver the job was given to.
        if actor.executor_id not in (executor.id, executor.parent_id):
            raise NotYourOrder(f"order {order.number} is assigned to someone else")


async def _assigned_executor(session: AsyncSession, order: Order) -> Executor:
    executor = await session.get(Executor, order.executor_id) if order.executor_id else None
    if executor is None:
        raise NotYourOrder(f"order {order.number} has no executor")
    return executor


async def _ensure_can_work(session: AsyncSession, executor: Executor) -> None:
    if executor.status is not ExecutorStatus.ACTIVE:
        raise ExecutorNotEligible(f"executor {executor.name} is {executor.status}")
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
