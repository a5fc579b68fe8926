"""Orders for the order pages' tests, made through the real core services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from core import exchange, orders, payments
from core.models import Client, Order, OrderEvent, OrderStatus, PaymentMethod, StaffRole, User
from core.settings_store import MANAGERS_SEE_ALL, set_setting
from core.transitions import Actor
from runtime.bootstrap import Container
from tests import builders
from tests.panel.conftest import AddStaff, Panel


async def sign_in_as(
    panel: Panel, add_staff: AddStaff, role: StaffRole, email: str | None = None
) -> int:
    email = email or f"{role.value}@orders.example"
    user_id: int = await add_staff(role, email, name=f"{role.value.title()} Test")
    response = await panel.sign_in(email)
    assert response.status == 303
    return user_id


async def new_order(
    container: Container,
    *,
    kind: str = "student_paper",
    manager_id: int | None = None,
    client_name: str = "Анна Смирнова",
    deadline: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    async with container.uow() as uow:
        session = uow.session
        buyer = await builders.client(session, client_name)
        order = await orders.create_order(
            session, kind=await builders.kind(session, kind), client_id=buyer.id,
            actor=Actor.client(buyer.id), manager_id=manager_id, deadline=deadline,
            details=details or {"topic": "Тема", "pages": 20}, title=f"{kind} for {client_name}",
        )  # fmt: skip
        await uow.commit()
        return order.id


async def advance(container: Container, order_id: int, *steps: str, price: int = 1_000_000) -> None:
    """Move an order along with a system manager: "quote", "accept", "pay", "publish"."""
    async with container.uow() as uow:
        session = uow.session
        order = await session.get(Order, order_id)
        assert order is not None
        manager = Actor.staff(await builders.staff(session, StaffRole.MANAGER))
        for step in steps:
            if step == "quote":
                await orders.quote_order(session, order, manager, price, discount_bp=0)
            elif step == "accept":
                await orders.accept_quote(session, order, manager)
            elif step == "pay":
                await orders.mark_paid(session, order, manager)
            elif step == "publish":
                await exchange.publish_to_exchange(session, order, manager, None)
            else:
                raise ValueError(step)
        await uow.commit()


async def ready_with_half_prepaid(container: Container, *, deliver: bool = False) -> int:
    """A student paper at 10 000 ₽, 5 000 ₽ prepaid in cash, done by an author: ready (or
    handed over, leaving a debt of 5 000 ₽)."""
    order_id = await new_order(container)
    await advance(container, order_id, "quote", "accept", price=1_000_000)
    async with container.uow() as uow:
        session = uow.session
        order = await session.get(Order, order_id)
        assert order is not None
        manager = Actor.staff(await builders.staff(session, StaffRole.MANAGER))
        await payments.record_payment(
            session, order, 500_000, PaymentMethod.CASH, provider="manual", recorded_by=None
        )
        author = await builders.executor(session)
        await exchange.assign_executor(session, order, manager, author, price=600_000)
        await orders.start_work(session, order, Actor.executor(author.id))
        await orders.submit_result(session, order, Actor.executor(author.id))
        await orders.approve_result(session, order, manager)
        assert order.status is OrderStatus.READY
        if deliver:
            await orders.deliver_order(session, order, manager)
        await uow.commit()
    return order_id


async def order_in_db(container: Container, order_id: int) -> Order:
    async with container.uow() as uow:
        order = await uow.session.get(Order, order_id)
        assert order is not None
        uow.session.expunge(order)
        return order


async def events_of(container: Container, order_id: int) -> list[OrderEvent]:
    async with container.uow() as uow:
        found = await uow.session.scalars(
            sa.select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
        )
        events = list(found)
        for event in events:
            uow.session.expunge(event)
        return events


async def restrict_managers(container: Container) -> None:
    async with container.uow() as uow:
        await set_setting(uow.session, MANAGERS_SEE_ALL, False)
        await uow.commit()


async def clients_named(container: Container, name: str) -> list[Client]:
    async with container.uow() as uow:
        found = list(await uow.session.scalars(sa.select(Client).where(Client.name == name)))
        for client in found:
            uow.session.expunge(client)
        return found


async def user_id(container: Container, email: str) -> int:
    async with container.uow() as uow:
        found = await uow.session.scalar(sa.select(User.id).where(User.email == email))
        assert found is not None
        return int(found)
