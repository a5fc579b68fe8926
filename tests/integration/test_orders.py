"""Order services on a real database: numbering, the audit trail, events after commit,
party checks, bids, steps, the guarantee rule and the take race."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import exchange, ledger, orders, transitions
from core.db import utcnow
from core.events import DomainEvent, LocalPublisher, OrderCreated, OrderTransitioned
from core.lifecycle import TransitionError
from core.models import (
    AccountKind,
    Bid,
    BidStatus,
    DiscountTier,
    Executor,
    ExecutorKind,
    Order,
    OrderEvent,
    OrderStatus,
)
from core.transitions import Actor
from core.uow import UnitOfWork
from runtime.database import create_engine, session_factory
from tests import builders


class Collector:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self.publisher = LocalPublisher()
        self.publisher.subscribe(self._on_event)

    async def _on_event(self, event: DomainEvent) -> None:
        self.events.append(event)


async def _paper_order(session: AsyncSession) -> tuple[Order, Actor]:
    manager = Actor.staff(await builders.staff(session))
    client = await builders.client(session)
    kind = await builders.kind(session, "student_paper")
    order = await orders.create_order(
        session, kind=kind, client_id=client.id, actor=Actor.client(client.id)
    )
    return order, manager


async def _audit_trail(session: AsyncSession, order: Order) -> list[tuple[str, str | None, str]]:
    rows = await session.execute(
        select(OrderEvent.action, OrderEvent.from_status, OrderEvent.to_status)
        .where(OrderEvent.order_id == order.id)
        .order_by(OrderEvent.id)
    )
    return [(row.action, row.from_status, row.to_status) for row in rows]


async def test_orders_get_consecutive_human_numbers(session: AsyncSession) -> None:
    first, _ = await _paper_order(session)
    second, _ = await _paper_order(session)
    assert (first.number, second.number) == (1001, 1002)


async def test_student_paper_walks_the_whole_lifecycle_with_an_audit_trail(
    session: AsyncSession,
) -> None:
    order, manager = await _paper_order(session)
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
    order, manager = await _paper_order(session)
    await orders.quote_order(session, order, manager, 100_000)
    assert (order.discount_bp, order.discount_amount, order.client_price) == (300, 3_000, 97_000)
    await orders.quote_order(session, order, manager, 100_000, discount_bp=0)
    assert order.client_price == 100_000


async def test_events_are_published_only_after_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    collector = Collector()
    async with UnitOfWork(sessions, collector.publisher) as uow:
        order, manager = await _paper_order(uow.session)
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
    order, _manager = await _paper_order(session)
    stranger = await builders.client(session, "Чужой")
    with pytest.raises(transitions.NotYourOrder):
        await orders.cancel_order(session, order, Actor.client(stranger.id))
    await orders.cancel_order(session, order, Actor.client(order.client_id), "передумал")
    assert order.status is OrderStatus.CANCELLED
    assert order.cancel_reason == "передумал"


async def _order_on_exchange(session: AsyncSession, price: int | None) -> tuple[Order, Actor]:
    order, manager = await _paper_order(session)
    await orders.quote_order(session, order, manager, 500_000)
    await orders.accept_quote(session, order, manager)
    await orders.mark_paid(session, order, manager)
    await exchange.publish_to_exchange(session, order, manager, fixed_price=price)
    return order, manager


async def test_only_the_assigned_executor_or_their_dispatcher_may_work_the_job(
    session: AsyncSession,
) -> None:
    order, _ = await _order_on_exchange(session, 200_000)
    company = await builders.executor(session, "ООО Спецтех", kind=ExecutorKind.COMPANY)
    driver = await builders.executor(session, "Водитель", parent=company)
    other = await builders.executor(session, "Другой")
    await exchange.take_job(session, order, driver)
    with pytest.raises(transitions.NotYourOrder):
        await orders.start_work(session, order, Actor.executor(other.id))
    await orders.start_work(session, order, Actor.executor(company.id))
    assert order.status is OrderStatus.IN_PROGRESS


async def test_bidding_then_assigning_closes_the_other_bids(session: AsyncSession) -> None:
    order, manager = await _order_on_exchange(session, None)
    first = await builders.executor(session, "Первый")
    second = await builders.executor(session, "Второй")
    with pytest.raises(transitions.PriceMissing):
        await exchange.take_job(session, order, first)
    await exchange.place_bid(session, order, first, 250_000, comment="за 3 дня")
    replaced = await exchange.place_bid(session, order, first, 240_000)
    winner = await exchange.place_bid(session, order, second, 260_000)
    await exchange.assign_executor(session, order, manager, second, bid=winner)

    statuses = dict(
        (await session.execute(select(Bid.price, Bid.status).where(Bid.order_id == order.id))).all()
    )
    assert statuses == {
        250_000: BidStatus.WITHDRAWN,
        240_000: BidStatus.LOST,
        260_000: BidStatus.WON,
    }
    assert (order.executor_id, order.executor_price) == (second.id, 260_000)
    assert replaced.executor_id == first.id


async def test_a_late_taker_is_told_the_job_is_gone(session: AsyncSession) -> None:
    order, _ = await _order_on_exchange(session, 100_000)
    first = await builders.executor(session)
    late = await builders.executor(session)
    await exchange.take_job(session, order, first)
    with pytest.raises(transitions.JobAlreadyTaken):
        await exchange.take_job(session, order, late)
    assert order.executor_id == first.id


async def test_an_executor_without_free_capacity_cannot_take(session: AsyncSession) -> None:
    busy = await builders.executor(session, capacity=1)
    first, _ = await _order_on_exchange(session, 100_000)
    second, _ = await _order_on_exchange(session, 100_000)
    await exchange.take_job(session, first, busy)
    with pytest.raises(transitions.ExecutorNotEligible):
        await exchange.take_job(session, second, busy)
    assert second.status is OrderStatus.ON_EXCHANGE


async def test_declining_a_job_returns_it_and_costs_reliability(session: AsyncSession) -> None:
    order, _manager = await _order_on_exchange(session, 100_000)
    driver = await builders.executor(session)
    await exchange.take_job(session, order, driver)
    await exchange.decline_job(session, order, Actor.executor(driver.id))
    assert (order.status, order.executor_id) == (OrderStatus.PAID, None)
    assert driver.reliability == exchange.RELIABILITY_TAKE + exchange.RELIABILITY_DECLINE


async def test_free_revision_only_within_the_guarantee(session: AsyncSession) -> None:
    order, manager = await _order_on_exchange(session, 100_000)
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
    order, _ = await _paper_order(session)
    with pytest.raises(TransitionError):
        await orders.deliver_order(session, order, Actor.client(order.client_id))
    assert order.status is OrderStatus.NEW
    assert [action for action, _, _ in await _audit_trail(session, order)] == ["create"]


TAKERS = 20


async def test_twenty_executors_race_for_one_job_and_exactly_one_wins(database_url: str) -> None:
    # Each racer holds its own connection; the default pool (5 + 10 overflow) would make the
    # last ones wait for a connection instead of racing.
    engine = create_engine(database_url, pool_size=TAKERS + 2)
    try:
        await _race(session_factory(engine))
    finally:
        await engine.dispose()


async def _race(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        order, _ = await _order_on_exchange(session, 150_000)
        takers = [await builders.executor(session, f"Исполнитель {i}") for i in range(TAKERS)]
        await session.commit()
    loaded = asyncio.Barrier(TAKERS + 1)

    async def take(executor_id: int) -> bool:
        async with sessions() as session:
            job = await orders.get_order(session, order.id)
            executor = await session.get(Executor, executor_id)
            assert executor is not None
            await loaded.wait()  # everyone holds the same stale "on_exchange" copy
            try:
                await exchange.take_job(session, job, executor)
                await session.commit()
            except transitions.JobAlreadyTaken:
                await session.rollback()
                return False
            return True

    tasks = [asyncio.create_task(take(executor.id)) for executor in takers]
    await loaded.wait()
    results = await asyncio.gather(*tasks)

    assert results.count(True) == 1
    winner = takers[results.index(True)]
    async with sessions() as session:
        job = await orders.get_order(session, order.id)
        takes = await session.scalar(
            select(func.count(OrderEvent.id)).where(
                OrderEvent.order_id == order.id, OrderEvent.action == "take"
            )
        )
    assert (job.status, job.executor_id, takes) == (OrderStatus.ASSIGNED, winner.id, 1)


async def test_cancelling_a_paid_order_returns_the_prepayment_to_the_balance(
    session: AsyncSession,
) -> None:
    order, manager = await _paper_order(session)
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
