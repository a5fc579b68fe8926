"""Order lifecycle and ledger throughput, next to the ceiling of the same database.

    .venv/bin/python -m bench.lifecycle [--orders N] [--postgres URL]

For each backend (SQLite in a temp file; PostgreSQL in a throw-away database created next
to the URL given, default the local `test` database) it prints:
- ceiling: bare single-row INSERT transactions per second (SQLAlchemy Core, no ORM);
- transitions/s: each order walked new -> ... -> closed, one unit of work per transition
  (17 per order, audit rows and events included);
- ledger ops/s: top_up + hold_prepayment + charge, one unit of work each;
- take race: 20 executors take one fixed-price job at once; winners (must be 1) and the
  wall time of the race."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core import exchange, ledger, orders
from core.db import UTCDateTime, utcnow
from core.events import LocalPublisher
from core.ledger import Source
from core.models import Client, Executor, ExecutorStatus, Order, OrderKind, StaffRole, User
from core.transitions import Actor, JobAlreadyTaken
from core.uow import UnitOfWork
from runtime import eventloop
from runtime.database import create_engine, scratch_database, session_factory
from runtime.migrate import upgrade

Step = Callable[..., Awaitable[object]]
Sessions = async_sessionmaker[AsyncSession]


async def bench(url: str, n_orders: int) -> dict[str, float]:
    await upgrade(url)
    engine = create_engine(url, pool_size=25)
    sessions = session_factory(engine)
    publisher = LocalPublisher()
    try:
        ceiling = await _ceiling(engine, n_orders * 17)
        async with sessions() as session:
            kind = (
                await session.execute(sa.select(OrderKind).where(OrderKind.code == "student_paper"))
            ).scalar_one()
            user = User(email="b@x.io", name="B", role=StaffRole.MANAGER, password_hash="-")
            client = Client(name="Клиент")
            author = Executor(name="Автор", status=ExecutorStatus.ACTIVE, capacity=10**6)
            session.add_all([user, client, author])
            await session.commit()
        manager, me = Actor.staff(user), Actor.executor(author.id)
        transitions = await _walk_orders(
            sessions, publisher, kind, client.id, manager, me, n_orders
        )
        ledger_ops = await _ledger_ops(sessions, publisher, client.id, n_orders)
        winners, race_ms = await _race(sessions, kind, client.id, manager)
    finally:
        await engine.dispose()
    return {
        "ceiling inserts/s": ceiling,
        "transitions/s": transitions,
        "ledger ops/s": ledger_ops,
        "take race winners": winners,
        "take race ms": race_ms,
    }


async def _ceiling(engine: AsyncEngine, count: int) -> float:
    table = sa.table(
        "settings",
        sa.column("key", sa.String),
        sa.column("value", sa.JSON),
        sa.column("updated_at", UTCDateTime()),
    )
    started = time.perf_counter()
    for i in range(count):
        async with engine.begin() as conn:
            await conn.execute(
                table.insert().values(key=f"bench.{i}", value="1", updated_at=utcnow())
            )
    return count / (time.perf_counter() - started)


async def _walk_orders(
    sessions: Sessions,
    publisher: LocalPublisher,
    kind: OrderKind,
    client_id: int,
    manager: Actor,
    me: Actor,
    n: int,
) -> float:
    steps: list[tuple[Step, tuple[object, ...]]] = [
        (orders.start_evaluation, (manager,)), (orders.quote_order, (manager, 500_000)),
        (orders.accept_quote, (manager,)), (orders.mark_paid, (manager,)),
        (exchange.publish_to_exchange, (manager, 300_000)), (exchange.take_job, ()),
        (orders.start_work, (me,)), (orders.submit_result, (me,)),
        (orders.approve_result, (manager,)), (orders.deliver_order, (manager,)),
        (orders.request_revision, (manager,)), (orders.accept_revision, (manager,)),
        (orders.submit_result, (me,)), (orders.approve_result, (manager,)),
        (orders.deliver_order, (manager,)), (orders.close_order, (manager,)),
    ]  # fmt: skip
    count = 0
    started = time.perf_counter()
    for _ in range(n):
        async with UnitOfWork(sessions, publisher) as uow:
            kind_row = await uow.session.get(OrderKind, kind.id)
            assert kind_row is not None
            order = await orders.create_order(
                uow.session, kind=kind_row, client_id=client_id, actor=manager
            )
            await uow.commit()
            order_id = order.id
        count += 1
        for step, args in steps:
            async with UnitOfWork(sessions, publisher) as uow:
                order = await orders.get_order(uow.session, order_id)
                if step is exchange.take_job:
                    executor = await uow.session.get(Executor, me.executor_id)
                    assert executor is not None
                    await exchange.take_job(uow.session, order, executor)
                else:
                    await step(uow.session, order, *args)
                await uow.commit()
            count += 1
    return count / (time.perf_counter() - started)


async def _ledger_ops(
    sessions: Sessions, publisher: LocalPublisher, client_id: int, n: int
) -> float:
    async with sessions() as session:
        order_ids = list(await session.scalars(sa.select(Order.id).limit(n)))
    started = time.perf_counter()
    count = 0
    for order_id in order_ids:
        for op in ("top_up", "hold", "charge"):
            async with UnitOfWork(sessions, publisher) as uow:
                s = uow.session
                if op == "top_up":
                    await ledger.top_up(s, client_id, 10_000, "RUB", Source.gateway("bench"))
                elif op == "hold":
                    await ledger.hold_prepayment(s, order_id, client_id, 10_000, "RUB")
                else:
                    await ledger.charge(s, order_id, client_id, 10_000, "RUB")
                await uow.commit()
            count += 1
    return count / (time.perf_counter() - started)


async def _race(
    sessions: Sessions, kind: OrderKind, client_id: int, manager: Actor
) -> tuple[int, float]:
    async with sessions() as session:
        order = await orders.create_order(session, kind=kind, client_id=client_id, actor=manager)
        await orders.quote_order(session, order, manager, 100_000)
        await orders.accept_quote(session, order, manager)
        await orders.mark_paid(session, order, manager)
        await exchange.publish_to_exchange(session, order, manager, 50_000)
        takers = [Executor(name=f"T{i}", status=ExecutorStatus.ACTIVE) for i in range(20)]
        session.add_all(takers)
        await session.commit()
    barrier = asyncio.Barrier(len(takers) + 1)

    async def take(executor_id: int) -> bool:
        async with sessions() as session:
            job = await orders.get_order(session, order.id)
            executor = await session.get(Executor, executor_id)
            assert executor is not None
            await barrier.wait()
            try:
                await exchange.take_job(session, job, executor)
                await session.commit()
            except JobAlreadyTaken:
                return False
            return True

    tasks = [asyncio.create_task(take(t.id)) for t in takers]
    await barrier.wait()
    started = time.perf_counter()
    results = await asyncio.gather(*tasks)
    return results.count(True), (time.perf_counter() - started) * 1000


async def _postgres(base: str, n: int) -> dict[str, float]:
    async with scratch_database(base, "pult_bench") as url:
        return await bench(url, n)


def _print(backend: str, figures: dict[str, float]) -> None:
    print(f"{backend}:")
    for name, value in figures.items():
        print(f"  {name:<20} {value:>10.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        _print("SQLite", await bench(url, args.orders))
    if args.postgres:
        _print("PostgreSQL", await _postgres(args.postgres, args.orders))


if __name__ == "__main__":
    eventloop.run(main())
