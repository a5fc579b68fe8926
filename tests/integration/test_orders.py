"""Order services on a real database: numbering, the audit trail, events after commit,
party checks, bids, steps, the guarantee rule and the take race."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import exchange, ledger, orders, transitions
from core.db import utcnow
from core.events import DomainEvent, LocalPublisher, OrderCreated, OrderTransitioned
from core.lifecycle import TransitionError
from core.models import (
    AccountKind,
    DiscountTier,
    Order,
    OrderEvent,
    OrderStatus,
)
from core.transitions import Actor
from core.uow import UnitOfWork
from tests import builders


class Collector:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self.publisher = LocalPublisher()
        self.publisher.subscribe(self._on_event)

    async def _on_event(self, event: DomainEvent) -> None:
        self.events.append(event)


async def _audit_trail(session: AsyncSession, order: Order) -> list[tuple[str, str | None, str]]:
    rows = await session.execute(
        select(OrderEvent.action, OrderEvent.from_status, OrderEvent.to_status)
        .where(OrderEvent.order_id == order.id)
        .order_by(OrderEvent.id)
    )
    return [(row.action, row.from_status, row.to_status) for row in rows]


async def test_orders_get_consecutive_human_numbers(session: AsyncSession) -> None:
    first, _ = await builders.paper_order(session)
    second, _ = await builders.paper_order(session)
    assert (first.number, second.number) == (1001, 1002)


async def test_student_paper_walks_the_whole_lifecycle_with_an_audit_trail(
    session: AsyncSession,
) -> None:
    order, manager = await builders.paper_order(session)
    author = await builders.executor(session)
    client = Actor.client(order.client_id)
    await orders.start_evaluation(session, order, manager)
    await orders.quote_order(session, order, manager, 500_000)
    assert (order.client_price, order.prepayment_amount) == (500_000, 250_000)
    await orders.accept_quote(session, order, client)
    await orders.mark_paid(session, order, Actor.system())
    await exchange.publish_to_exchange(session, order, manager, fixed_price=300_000)
    await exchange.take_job(session, order, author)
    me = Actor.executor(author.id)
    await orders.start_work(session, order, me)
    await orders.submit_result(session, order, me)
    await orders.approve_result(session, order, manager)
    await orders.deliver_order(session, order, manager)
    await orders.request_revision(session, order, client, "Добавьте список литературы")
    await orders.accept_revision(session, order, manager)
    await orders.submit_result(session, order, me)
    await orders.approve_result(session, order, manager)
    await orders.deliver_order(session, order, manager)
    await orders.close_order(session, order, client)

    assert order.status is OrderStatus.CLOSED
    assert order.executor_price == 300_000
    trail = await _audit_trail(session, order)
    assert [action for action, _, _ in trail] == [
        "create", "start_evaluation", "quote", "accept_quote", "mark_paid", "publish",
        "take", "start_work", "submit_result", "approve", "deliver", "request_revision",
        "accept_revision", "submit_result", "approve", "deliver", "close",
    ]  # fmt: skip
    assert trail[3] == ("accept_quote", "quoted", "awaiting_payment")
    assert trail[-1] == ("close", "delivered", "closed")


async def test_quote_applies_the_clients_discount_tier_only_from_its_threshold(
    session: AsyncSession,
) -> None:
    session.add(DiscountTier(currency="RUB", threshold=0, discount_bp=300))
    order, manager = await builders.paper_order(session)
    await orders.quote_order(session, order, manager, 100_000)
    assert (order.discount_bp, order.discount_amount, order.client_price) == (300, 3_000, 97_000)
    await orders.quote_order(session, order, manager, 100_000, discount_bp=0)
    assert order.client_price == 100_000


async def test_events_are_published_only_after_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    collector = Collector()
    async with UnitOfWork(sessions, collector.publisher) as uow:
        order, manager = await builders.paper_order(uow.session)
        await orders.start_evaluation(uow.session, order, manager)
        assert collector.events == []
        await uow.commit()
    assert [type(event) for event in collector.events] == [OrderCreated, OrderTransitioned]
    assert isinstance(collector.events[1], OrderTransitioned)
    assert collector.events[1].to_status == "evaluating"

    async with UnitOfWork(sessions, collector.publisher) as uow:
        order = await orders.get_order(uow.session, order.id)
        await orders.quote_order(uow.session, order, manager, 10_000)
        await uow.rollback()
        await uow.commit()
    assert len(collector.events) == 2


async def test_a_client_cannot_touch_another_clients_order(session: AsyncSession) -> None:
    order, _manager = await builders.paper_order(session)
    stranger = await builders.client(session, "Чужой")
    with pytest.raises(transitions.NotYourOrder):
        await orders.cancel_order(session, order, Actor.client(stranger.id))
    await orders.cancel_order(session, order, Actor.client(order.client_id), "передумал")
    assert order.status is OrderStatus.CANCELLED
    assert order.cancel_reason == "передумал"


async def test_free_revision_only_within_the_guarantee(session: AsyncSession) -> None:
    order, manager = await builders.order_on_exchange(session, 100_000)
    author = await builders.executor(session)
    await exchange.assign_executor(session, order, manager, author, price=90_000)
    for step in (orders.start_work, orders.submit_result):
        await step(session, order, manager)
    await orders.approve_result(session, order, manager)
    await orders.deliver_order(session, order, manager)
    client = Actor.client(order.client_id)
    late = utcnow() + timedelta(days=order.kind.guarantee_days + 1)
    with pytest.raises(transitions.OutsideGuarantee):
        await orders.request_revision(session, order, client, now=late)
    await orders.request_revision(session, order, manager, "платная доработка", now=late)
    assert order.status is OrderStatus.REVISION_REQUESTED


async def test_trip_moves_through_its_execution_steps(session: AsyncSession) -> None:
    manager = Actor.staff(await builders.staff(session))
    client = await builders.client(session)
    trip = await builders.kind(session, "trip")
    driver = await builders.executor(session, "Водитель")
    order = await orders.create_order(
        session, kind=trip, client_id=client.id, actor=manager, scheduled_at=utcnow()
    )
    await orders.quote_order(session, order, manager, 1_500_000)
    await orders.accept_quote(session, order, Actor.client(client.id))
    assert order.status is OrderStatus.PAID  # no prepayment: accepting confirms
    await exchange.assign_executor(session, order, manager, driver, price=1_200_000)
    me = Actor.executor(driver.id)
    await orders.start_work(session, order, me)
    steps = [order.step]
    while order.step != "finished":
        await orders.advance_step(session, order, me)
        steps.append(order.step)
    await orders.submit_result(session, order, me, "Выгрузили, без замечаний")
    assert steps == ["accepted", "en_route", "on_site", "started", "finished"]
    assert (order.status, order.step) == (OrderStatus.READY, None)


async def test_forbidden_transition_changes_nothing(session: AsyncSession) -> None:
    order, _ = await builders.paper_order(session)
    with pytest.raises(TransitionError):
        await orders.deliver_order(session, order, Actor.client(order.client_id))
    assert order.status is OrderStatus.NEW
    assert [action for action, _, _ in await _audit_trail(session, order)] == ["create"]


async def test_cancelling_a_paid_order_returns_the_prepayment_to_the_balance(
    session: AsyncSession,
) -> None:
    order, manager = await builders.paper_order(session)
    await orders.quote_order(session, order, manager, 100_000)
    await orders.accept_quote(session, order, manager)
    await ledger.top_up(session, order.client_id, 50_000, "RUB", ledger.Source.gateway("fake"))
    await ledger.hold_prepayment(session, order.id, order.client_id, 50_000, "RUB")
    await orders.mark_paid(session, order, Actor.system())

    await orders.cancel_order(session, order, manager, "Клиент передумал")

    balance = await ledger.balance(session, AccountKind.CLIENT_BALANCE, order.client_id, "RUB")
    assert (await ledger.order_money(session, order.id, "RUB")).held == 0
    assert balance == 50_000
    event = await session.scalar(
        select(OrderEvent).where(OrderEvent.order_id == order.id, OrderEvent.action == "cancel")
    )
    assert event is not None and event.data["released"] == 50_000
