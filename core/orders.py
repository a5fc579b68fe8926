"""Order services: create an order and move it through its commercial and work steps.

One function per transition; each goes through `core.transitions.transition`, which checks
the rules and the parties, audits the move and records the domain event published after
commit. The executor exchange (publish, take, bids, assign) is in `core.exchange`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger, pricing
from core.db import utcnow
from core.events import OrderCreated, record
from core.lifecycle import Action, Plan, within_guarantee
from core.models import (
    AccountKind,
    ActorRole,
    Counter,
    DiscountTier,
    Order,
    OrderKind,
    OrderStatus,
)
from core.transitions import (
    Actor,
    NotYourOrder,
    OutsideGuarantee,
    PriceMissing,
    audit,
    profile_of,
    transition,
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
    audit(session, order, actor, "create", None, status, data={"kind": kind.code})
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
    charged = await ledger.charged_total(session, client_id, currency)
    return pricing.discount_for(charged, [(tier.threshold, tier.discount_bp) for tier in tiers])


async def accept_quote(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    if order.client_price is None:
        raise PriceMissing("the order has no price yet")
    return await transition(session, order, actor, Action.ACCEPT_QUOTE)


async def reopen_quote(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(session, order, actor, Action.REOPEN_QUOTE)


async def mark_paid(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(session, order, actor, Action.MARK_PAID)


async def start_work(session: AsyncSession, order: Order, actor: Actor) -> Plan:
    return await transition(session, order, actor, Action.START_WORK)


async def advance_step(
    session: AsyncSession, order: Order, actor: Actor, data: dict[str, Any] | None = None
) -> Plan:
    """Move to the kind's next execution step; `data` (a driver's ETA) is kept in the audit
    event, where the status notice to the client reads it."""
    return await transition(session, order, actor, Action.ADVANCE, data=data)


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
    """Hand the result over. A kind without a guarantee period is finished by it (closed,
    to the archive); a kind with one stays `delivered` until it is closed.

    Handing over settles the money as far as it goes: the client's free balance is put
    towards what the order still owes, what is held for the order is charged (a surplus
    hold goes back to the balance), and the executor's price is accrued. Whatever is not
    covered stays the client's debt on the order (`core.payments.debt_of`): money that
    comes in later is charged against it (`core.payments.apply_to_order`)."""
    now = utcnow()
    changes: dict[str, Any] = {"delivered_at": now}
    if not profile_of(order.kind).has_guarantee:
        changes["closed_at"] = now
    result = await transition(session, order, actor, Action.DELIVER, changes=changes)
    await charge_what_is_covered(session, order)
    return result


async def charge_what_is_covered(session: AsyncSession, order: Order) -> int:
    """Charge the order's price as far as the money held for it and the client's free
    balance cover it; return the surplus hold, accrue the executor's price not yet
    accrued. Returns what was charged now. Called when the order is handed over, and by
    money that comes in for an order handed over with a debt."""
    currency = order.currency
    money = await ledger.order_money(session, order.id, currency)
    owed = max((order.client_price or 0) - money.charged, 0)
    held = money.held
    if owed > held:
        free = await ledger.balance(session, AccountKind.CLIENT_BALANCE, order.client_id, currency)
        extra = min(free, owed - held)
        if extra > 0:
            await ledger.hold_prepayment(session, order.id, order.client_id, extra, currency)
            held += extra
    charged = min(held, owed)
    if charged > 0:
        await ledger.charge(session, order.id, order.client_id, charged, currency)
    if held > charged:
        await ledger.release_hold(session, order.id, order.client_id, held - charged, currency)
    earned = (order.executor_price or 0) - money.accrued
    if order.executor_id is not None and earned > 0:
        # The executor's work is done and handed over: they have earned their price,
        # whether or not the client has paid all of it yet (collecting is our risk).
        await ledger.accrue_executor(session, order.id, order.executor_id, earned, currency)
    return charged


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
