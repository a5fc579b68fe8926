"""Small builders for test data: real rows through the real models, no mocks."""

from __future__ import annotations

import itertools

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import exchange, orders
from core.models import (
    Client,
    Executor,
    ExecutorKind,
    ExecutorStatus,
    Order,
    OrderKind,
    StaffRole,
    User,
)
from core.transitions import Actor

_staff_numbers = itertools.count(1)


async def kind(session: AsyncSession, code: str) -> OrderKind:
    return (await session.execute(select(OrderKind).where(OrderKind.code == code))).scalar_one()


async def client(session: AsyncSession, name: str = "Анна Смирнова") -> Client:
    row = Client(name=name, phone="+79161234567")
    session.add(row)
    await session.flush()
    return row


async def executor(
    session: AsyncSession,
    name: str = "Автор",
    *,
    status: ExecutorStatus = ExecutorStatus.ACTIVE,
    capacity: int = 3,
    parent: Executor | None = None,
    kind: ExecutorKind = ExecutorKind.PERSON,
) -> Executor:
    row = Executor(
        name=name,
        status=status,
        capacity=capacity,
        kind=kind,
        parent_id=parent.id if parent else None,
    )
    session.add(row)
    await session.flush()
    return row


async def staff(
    session: AsyncSession, role: StaffRole = StaffRole.MANAGER, email: str | None = None
) -> User:
    email = email or f"{role.value}{next(_staff_numbers)}@example.com"
    row = User(email=email, name=role.value.title(), role=role, password_hash="x")
    session.add(row)
    await session.flush()
    return row


async def paper_order(session: AsyncSession) -> tuple[Order, Actor]:
    """A student paper just ordered by a new client, and a manager to act on it."""
    manager = Actor.staff(await staff(session))
    buyer = await client(session)
    paper = await kind(session, "student_paper")
    order = await orders.create_order(
        session, kind=paper, client_id=buyer.id, actor=Actor.client(buyer.id)
    )
    return order, manager


async def order_on_exchange(session: AsyncSession, price: int | None) -> tuple[Order, Actor]:
    """A paid student paper published on the exchange (fixed price, or open for bids)."""
    order, manager = await paper_order(session)
    await orders.quote_order(session, order, manager, 500_000)
    await orders.accept_quote(session, order, manager)
    await orders.mark_paid(session, order, manager)
    await exchange.publish_to_exchange(session, order, manager, fixed_price=price)
    return order, manager
