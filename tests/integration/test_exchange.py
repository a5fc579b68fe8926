"""The executor exchange on a real database: taking at a fixed price, bids, assigning,
dispatchers acting for their drivers, capacity, declining, and the take race."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import exchange, orders, transitions
from core.models import (
    Bid,
    BidStatus,
    Executor,
    ExecutorKind,
    ExecutorStatus,
    OrderEvent,
    OrderStatus,
    Skill,
)
from core.transitions import Actor, ExecutorNotEligible
from runtime.database import create_engine, session_factory
from tests import builders


async def test_only_the_assigned_executor_or_their_dispatcher_may_work_the_job(
    session: AsyncSession,
) -> None:
    order, _ = await builders.order_on_exchange(session, 200_000)
    company = await builders.executor(session, "ООО Спецтех", kind=ExecutorKind.COMPANY)
    driver = await builders.executor(session, "Водитель", parent=company)
    other = await builders.executor(session, "Другой")
    await exchange.take_job(session, order, driver)
    with pytest.raises(transitions.NotYourOrder):
        await orders.start_work(session, order, Actor.executor(other.id))
    await orders.start_work(session, order, Actor.executor(company.id))
    assert order.status is OrderStatus.IN_PROGRESS


async def test_bidding_then_assigning_closes_the_other_bids(session: AsyncSession) -> None:
    order, manager = await builders.order_on_exchange(session, None)
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


async def test_an_author_who_wins_a_job_by_a_bid_gets_reliability_points(
    session: AsyncSession,
) -> None:
    order, manager = await builders.order_on_exchange(session, None)
    winner = await builders.executor(session, "Победитель")
    loser = await builders.executor(session, "Проигравший")
    chosen = await exchange.place_bid(session, order, winner, 300_000)
    await exchange.place_bid(session, order, loser, 280_000)
    await exchange.assign_executor(session, order, manager, winner, bid=chosen)
    assert (winner.reliability, loser.reliability) == (exchange.RELIABILITY_TAKE, 0)
    # A manager's direct assignment (no bid) is not the executor's doing: no points.
    direct, _ = await builders.order_on_exchange(session, 100_000)
    other = await builders.executor(session, "Назначенный")
    await exchange.assign_executor(session, direct, manager, other, price=90_000)
    assert other.reliability == 0


async def test_a_late_taker_is_told_the_job_is_gone(session: AsyncSession) -> None:
    order, _ = await builders.order_on_exchange(session, 100_000)
    first = await builders.executor(session)
    late = await builders.executor(session)
    await exchange.take_job(session, order, first)
    with pytest.raises(transitions.JobAlreadyTaken):
        await exchange.take_job(session, order, late)
    assert order.executor_id == first.id


async def test_an_executor_without_free_capacity_cannot_take(session: AsyncSession) -> None:
    busy = await builders.executor(session, capacity=1)
    first, _ = await builders.order_on_exchange(session, 100_000)
    second, _ = await builders.order_on_exchange(session, 100_000)
    await exchange.take_job(session, first, busy)
    with pytest.raises(transitions.ExecutorNotEligible):
        await exchange.take_job(session, second, busy)
    assert second.status is OrderStatus.ON_EXCHANGE


async def test_declining_a_job_returns_it_and_costs_reliability(session: AsyncSession) -> None:
    order, _manager = await builders.order_on_exchange(session, 100_000)
    driver = await builders.executor(session)
    await exchange.take_job(session, order, driver)
    await exchange.decline_job(session, order, Actor.executor(driver.id))
    assert (order.status, order.executor_id) == (OrderStatus.PAID, None)
    assert driver.reliability == exchange.RELIABILITY_TAKE + exchange.RELIABILITY_DECLINE


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
        order, _ = await builders.order_on_exchange(session, 150_000)
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


async def test_an_executor_without_the_jobs_skill_can_neither_take_nor_bid(
    session: AsyncSession,
) -> None:
    order, manager = await builders.paper_order(session)
    order.details = {**order.details, "discipline": "Право"}
    await orders.start_evaluation(session, order, manager)
    await orders.quote_order(session, order, manager, 500_000)
    await orders.accept_quote(session, order, Actor.client(order.client_id))
    await orders.mark_paid(session, order, Actor.system())
    await exchange.publish_to_exchange(session, order, manager, 200_000)
    economist = Executor(name="Экономист", status=ExecutorStatus.ACTIVE, capacity=3,
                         skills=[Skill(name="Экономика")])  # fmt: skip
    lawyer = Executor(
        name="Юрист", status=ExecutorStatus.ACTIVE, capacity=3, skills=[Skill(name="право")]
    )  # the same skill, however it is spelled
    session.add_all([economist, lawyer])
    await session.flush()

    with pytest.raises(ExecutorNotEligible, match="lacks the skill"):
        await exchange.take_job(session, order, economist)
    with pytest.raises(ExecutorNotEligible, match="lacks the skill"):
        await exchange.place_bid(session, order, economist, 150_000)
    await exchange.take_job(session, order, lawyer)
    assert order.executor_id == lawyer.id
