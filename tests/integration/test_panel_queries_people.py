"""Clients and executors (webapp/queries/clients.py, executors.py) on SQLite and
PostgreSQL: the clients list sorted by each money figure, last order and name; the client
card; the executors list with applications, skills and active jobs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core import exchange, ledger, orders, payments
from core.ledger import Source
from core.models import AccountKind, Client, Executor, ExecutorStatus, PaymentMethod, Skill, User
from core.transitions import Actor
from tests import builders
from tests.integration import panel_scene as scene
from webapp.queries import ClientSort, client_card, client_money, client_page, executor_page


@dataclass
class Book:
    maria: User
    anna: Client  # half of a 10 000 ₽ order prepaid in cash: paid 5 000, owes 5 000
    boris: Client  # put 20 000 ₽ on the balance, no orders
    vera: Client  # accepted an 8 000 ₽ quote, paid nothing: owes 8 000
    gleb: Client  # nothing at all


async def _book(session: AsyncSession) -> Book:
    maria = await builders.staff(session)
    manager = Actor.staff(maria)
    anna = await scene.client(session, "Анна", phone="+79120000001", manager=maria)
    boris = await scene.client(session, "Борис", email="boris@example.ru")
    vera = await scene.client(session, "Вера")
    gleb = await scene.client(session, "Глеб")
    accepted = []
    for buyer, price in ((anna, 1_000_000), (vera, 800_000)):
        order = await scene.order(session, buyer, maria)
        await orders.quote_order(session, order, manager, price, discount_bp=0)
        await orders.accept_quote(session, order, manager)
        accepted.append(order)
    await payments.record_payment(
        session,
        accepted[0],
        500_000,
        PaymentMethod.CASH,
        provider="manual",
        recorded_by=maria.id,
    )
    await ledger.top_up(session, boris.id, 2_000_000, "RUB", Source(AccountKind.CASH_DESK, "cash"))
    return Book(maria, anna, boris, vera, gleb)


async def test_money_figures_per_client(session: AsyncSession) -> None:
    book = await _book(session)
    figures = {
        c.name: (c.total_paid, c.balance, c.debt)
        for c in (await client_page(session, sort=ClientSort.NAME)).rows
    }
    assert figures == {
        "Анна": (500_000, 0, 500_000),
        "Борис": (2_000_000, 2_000_000, 0),
        "Вера": (0, 0, 800_000),
        "Глеб": (0, 0, 0),
    }
    money = await client_money(session, book.anna.id)
    assert (money.total_paid, money.balance, money.debt) == (500_000, 0, 500_000)


async def test_sorted_by_each_key(session: AsyncSession) -> None:
    await _book(session)

    async def names(sort: ClientSort) -> list[str]:
        return [row.name for row in (await client_page(session, sort=sort)).rows]

    assert await names(ClientSort.NAME) == ["Анна", "Борис", "Вера", "Глеб"]
    assert await names(ClientSort.TOTAL_PAID) == ["Борис", "Анна", "Вера", "Глеб"]
    assert await names(ClientSort.BALANCE) == ["Борис", "Анна", "Вера", "Глеб"]
    assert await names(ClientSort.DEBT) == ["Вера", "Анна", "Борис", "Глеб"]
    assert await names(ClientSort.LAST_ORDER) == ["Вера", "Анна", "Борис", "Глеб"]
    page = await client_page(session, sort=ClientSort.NAME, limit=2, offset=2)
    assert ([r.name for r in page.rows], page.total) == (["Вера", "Глеб"], 4)


async def test_the_list_filters_by_text_and_by_manager(session: AsyncSession) -> None:
    book = await _book(session)

    async def names(**kw: object) -> list[str]:
        page = await client_page(session, sort=ClientSort.NAME, **kw)  # type: ignore[arg-type]
        assert page.total == len(page.rows)
        return [row.name for row in page.rows]

    assert await names(query="бор") == ["Борис"]
    assert await names(query="example.ru") == ["Борис"]
    assert await names(query="8 912 000-00-01") == ["Анна"]
    # Maria is Анна's responsible manager and the manager of Вера's order.
    assert await names(only_assigned_to=book.maria.id) == ["Анна", "Вера"]


async def test_the_client_card(session: AsyncSession) -> None:
    book = await _book(session)
    desk_thread = await scene.client_thread(session, await scene.order(session, book.anna, None))
    await scene.inbound(session, desk_thread, "Есть вопрос")
    card = await client_card(session, book.anna.id, viewer_id=book.maria.id)
    assert card is not None
    assert (card.name, card.phone, card.manager_name) == ("Анна", "+79120000001", book.maria.name)
    assert len(card.orders) == 2 and card.orders[0].created_at >= card.orders[1].created_at
    assert [row.conversation_id for row in card.conversations] == [desk_thread.id]
    assert card.identities == [("telegram", None, True)]
    assert (card.money.total_paid, card.money.debt) == (500_000, 500_000)
    assert await client_card(session, 10**9, viewer_id=1) is None


async def test_executors_applications_skills_and_active_jobs(session: AsyncSession) -> None:
    order, _manager = await builders.order_on_exchange(session, price=300_000)
    busy = Executor(
        name="Занятой",
        status=ExecutorStatus.ACTIVE,
        rating_total=9,
        rating_count=2,
        skills=[Skill(name="Экономика"), Skill(name="Бухучёт")],
    )
    session.add(busy)
    await builders.executor(session, "Свободный")
    newcomer = await builders.executor(session, "Новичок", status=ExecutorStatus.APPLICANT)
    early = await builders.executor(session, "Ранний", status=ExecutorStatus.APPLICANT)
    early.created_at = newcomer.created_at.replace(year=newcomer.created_at.year - 1)
    await session.flush()
    await exchange.take_job(session, order, busy)

    page = await executor_page(session, status=ExecutorStatus.ACTIVE)
    rows = {row.name: row for row in page.rows}
    assert set(rows) == {"Занятой", "Свободный"}
    assert (rows["Занятой"].active_jobs, rows["Свободный"].active_jobs) == (1, 0)
    assert rows["Занятой"].skills == ["Бухучёт", "Экономика"]
    assert rows["Занятой"].rating == 4.5 and rows["Свободный"].rating is None
    assert page.counts[ExecutorStatus.APPLICANT] == 2 and page.total == 2
    applications = await executor_page(session, status=ExecutorStatus.APPLICANT)
    assert [row.name for row in applications.rows] == ["Ранний", "Новичок"]
    assert [r.name for r in (await executor_page(session, query="своб")).rows] == ["Свободный"]
