"""Staff edits of an order outside its lifecycle: the intake answers, title and dates
(fixing what the client said on the phone), and who manages it. Each edit is audited like
a transition (an `OrderEvent` whose status stays as it was) and recorded as `OrderEdited`,
not `OrderTransitioned`, which would make the reactions send the client their status notice
again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from core.events import OrderEdited, record
from core.lifecycle import OPEN_STATUSES
from core.models import ActorRole, Order, OrderStatus, User
from core.transitions import Actor, ConcurrentChange, OrderRuleError, audit

EDIT_FIELDS = "edit_fields"
CHANGE_MANAGER = "change_manager"
STAFF_ROLES = frozenset({ActorRole.OWNER, ActorRole.MANAGER, ActorRole.OPERATOR})


class OrderClosed(OrderRuleError):
    """A closed or cancelled order is history: its answers are not edited any more."""

    reason = "order_closed"


class NotStaff(OrderRuleError):
    reason = "not_staff"


async def edit_fields(
    session: AsyncSession,
    order: Order,
    actor: Actor,
    *,
    details: dict[str, Any],
    title: str | None = None,
    deadline: datetime | None = None,
    scheduled_at: datetime | None = None,
) -> dict[str, Any]:
    """Replace the answers (and title and dates) of an open order; returns what changed as
    {name: [old, new]} (empty: nothing to do, nothing audited)."""
    _check(order, actor)
    wanted: dict[str, Any] = {"details": details, "deadline": deadline}
    wanted["scheduled_at"] = scheduled_at
    if title is not None:
        wanted["title"] = title
    changed: dict[str, Any] = {}
    for key in sorted(set(order.details) | set(details)):
        old, new = order.details.get(key), details.get(key)
        if old != new:
            changed[key] = [old, new]
    for name in ("title", "deadline", "scheduled_at"):
        if name in wanted and getattr(order, name) != wanted[name]:
            changed[name] = [_plain(getattr(order, name)), _plain(wanted[name])]
    if not changed:
        return {}
    for name, value in wanted.items():
        setattr(order, name, dict(value) if name == "details" else value)
    await _save(session, order, actor, EDIT_FIELDS, {"changed": changed})
    return changed


async def change_manager(
    session: AsyncSession, order: Order, actor: Actor, manager: User | None
) -> None:
    """Give the order to another manager (None: to nobody, anyone may pick it up)."""
    _check(order, actor)
    new_id = manager.id if manager is not None else None
    if order.manager_id == new_id:
        return
    data = {"from_manager_id": order.manager_id, "to_manager_id": new_id}
    order.manager_id = new_id
    await _save(session, order, actor, CHANGE_MANAGER, data)


def _check(order: Order, actor: Actor) -> None:
    if actor.role not in STAFF_ROLES:
        raise NotStaff(f"{actor.role} cannot edit order {order.number}")
    if order.status not in OPEN_STATUSES:
        raise OrderClosed(f"order {order.number} is {order.status}")


async def _save(
    session: AsyncSession, order: Order, actor: Actor, action: str, data: dict[str, Any]
) -> None:
    status: OrderStatus = order.status
    number = order.number
    audit(session, order, actor, action, status, status, data=data)
    record(session, OrderEdited(order_id=order.id, number=number, action=action, status=status))
    try:
        await session.flush()
    except StaleDataError as lost:
        raise ConcurrentChange(f"order {number} was changed by someone else") from lost


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
