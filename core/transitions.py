"""The shared mechanism of every order transition: who acts (`Actor`), the rule errors
outside the transition table, and `transition()` — check the table and the parties, apply
the change, audit it, record the domain event, flush.

The order row carries a version column, so two racing transitions (two executors taking
one job) cannot both succeed: the loser's UPDATE matches no row and fails as
`ConcurrentChange`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from core.events import OrderTransitioned, record
from core.lifecycle import Action, KindProfile, Plan, plan
from core.models import ActorRole, Executor, Order, OrderEvent, OrderKind, OrderStatus, User


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
    await ensure_party(session, order, actor, action)
    step = plan(action, order.status, actor.role, profile_of(order.kind), order.step)
    number = order.number
    for name, value in (changes or {}).items():
        setattr(order, name, value)
    order.status = step.to_status
    order.step = step.to_step
    audit(
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


def audit(
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


async def ensure_party(session: AsyncSession, order: Order, actor: Actor, action: Action) -> None:
    if actor.role is ActorRole.CLIENT and order.client_id != actor.client_id:
        raise NotYourOrder(f"order {order.number} belongs to another client")
    if actor.role is ActorRole.EXECUTOR and action is not Action.TAKE:
        executor = await assigned_executor(session, order)
        # A supplier's dispatcher acts for the driver the job was given to.
        if actor.executor_id not in (executor.id, executor.parent_id):
            raise NotYourOrder(f"order {order.number} is assigned to someone else")


async def assigned_executor(session: AsyncSession, order: Order) -> Executor:
    executor = await session.get(Executor, order.executor_id) if order.executor_id else None
    if executor is None:
        raise NotYourOrder(f"order {order.number} has no executor")
    return executor
