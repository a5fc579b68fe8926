"""The orders list (webapp/queries/orders.py) on SQLite and PostgreSQL: every status in
exactly one tab (drafts in none), counts per tab under filters, sorting, each filter,
pages, a restricted manager, and the exchange board."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core import exchange, orders
from core.db import utcnow
from core.models import Order, OrderStatus, StaffRole
from core.transitions import Actor
from tests import builders
from tests.integration import panel_scene as scene
from webapp.queries import (
    TAB_STATUSES,
    OrderFilters,
    OrderSort,
    OrderTab,
    exchange_board,
    order_page,
    tab_counts,
    tab_of,
)


def test_every_status_but_draft_is_in_exactly_one_tab() -> None:
    listed = [status for statuses in TAB_STATUSES.values() for status in statuses]
    assert sorted(listed) == sorted(set(OrderStatus) - {OrderStatus.DRAFT})
    assert tab_of(OrderStatus.DRAFT) is None
    assert tab_of(OrderStatus.QUOTED) is OrderTab.EVALUATING
    assert tab_of(OrderStatus.PAID) is OrderTab.ON_EXCHANGE
    assert tab_of(OrderStatus.REVISION_REQUESTED) is OrderTab.IN_WORK
    assert tab_of(OrderStatus.CANCELLED) is OrderTab.ARCHIVE


async def _one_per_status(session: AsyncSession) -> dict[OrderStatus, Order]:
    """An order in every status (set directly: this tests the listing, not the lifecycle)."""
    maria = await builders.staff(session)
    buyer = await scene.client(session, "Клиент")
    made = {}
    for status in OrderStatus:
        order = await scene.order(session, buyer, maria, title=status.value)
        order.status = status
        made[status] = order
    await session.flush()
    return made


async def test_tabs_list_their_statuses_and_count_them(session: AsyncSession) -> None:
    made = await _one_per_status(session)
    counts = await tab_counts(session)
    assert counts == {tab: len(statuses) for tab, statuses in TAB_STATUSES.items()}
    for tab, statuses in TAB_STATUSES.items():
        page = await order_page(session, tab=tab)
        assert {row.order_id for row in page.rows} == {made[s].id for s in statuses}, tab
        assert page.total == len(statuses) and page.counts == counts


async def test_a_real_order_moves_between_tabs(session: AsyncSession) -> None:
    order, manager = await builders.paper_order(session)

    async def tab() -> OrderTab:
        counts = await tab_counts(session)
        (found,) = [t for t, n in counts.items() if n]
        return found

    assert await tab() is OrderTab.NEW
    await orders.quote_order(session, order, manager, 500_000)
    assert await tab() is OrderTab.EVALUATING
    await orders.accept_quote(session, order, manager)
    assert await tab() is OrderTab.AWAITING_PAYMENT
    await orders.mark_paid(session, order, manager)
    await exchange.publish_to_exchange(session, order, manager, fixed_price=300_000)
    assert await tab() is OrderTab.ON_EXCHANGE
    await orders.cancel_order(session, order, manager, "передумал")
    assert await tab() is OrderTab.ARCHIVE


async def test_sorting_by_deadline_created_and_updated(session: AsyncSession) -> None:
    maria = await builders.staff(session)
    buyer = await scene.client(session, "Клиент")
    now = utcnow()
    first = await scene.order(session, buyer, maria)
    second = await scene.order(session, buyer, maria)
    third = await scene.order(session, buyer, maria)
    first.deadline, second.deadline = now + timedelta(days=5), now + timedelta(days=1)
    first.created_at = now - timedelta(days=3)
    second.created_at = now - timedelta(days=2)
    third.created_at = now - timedelta(days=1)
    await session.flush()
    first.title = "изменён последним"
    await session.flush()

    async def ids(sort: OrderSort) -> list[int]:
        return [r.order_id for r in (await order_page(session, sort=sort)).rows]

    assert await ids(OrderSort.DEADLINE) == [second.id, first.id, third.id]
    assert await ids(OrderSort.CREATED) == [third.id, second.id, first.id]
    assert (await ids(OrderSort.UPDATED))[0] == first.id


async def test_each_filter_and_the_counts_follow_them(session: AsyncSession) -> None:
    maria = await builders.staff(session)
    ivan = await builders.staff(session)
    anna = await scene.client(session, "Анна")
    boris = await scene.client(session, "Борис")
    trip = await builders.kind(session, "trip")
    now = utcnow()
    a = await scene.order(session, anna, maria)
    b = await scene.order(session, boris, ivan)
    c = await orders.create_order(
        session,
        kind=trip,
        client_id=anna.id,
        actor=Actor.client(anna.id),
        deadline=now + timedelta(days=2),
    )
    a.deadline, b.deadline = now + timedelta(days=1), now + timedelta(days=10)
    await session.flush()

    async def ids(**filters: object) -> list[int]:
        page = await order_page(session, sort=OrderSort.DEADLINE, filters=OrderFilters(**filters))  # type: ignore[arg-type]
        assert page.total == len(page.rows) == page.counts[OrderTab.NEW]
        return [row.order_id for row in page.rows]

    assert await ids() == [a.id, c.id, b.id]
    assert await ids(manager_id=maria.id) == [a.id]
    assert await ids(only_assigned_to=ivan.id) == [c.id, b.id]  # c is nobody's
    assert await ids(kind_ids=(trip.id,)) == [c.id]
    assert await ids(client_id=anna.id) == [a.id, c.id]
    window = {
        "deadline_from": now + timedelta(days=1, hours=12),
        "deadline_to": now + timedelta(days=5),
    }
    assert await ids(**window) == [c.id]


async def test_rows_carry_the_names_and_pages_split_them(session: AsyncSession) -> None:
    maria = await builders.staff(session)
    maria.name = "Мария"
    anna = await scene.client(session, "Анна", phone="+79990001122")
    made = [await scene.order(session, anna, maria, title=f"№{i}") for i in range(5)]
    first = await order_page(session, sort=OrderSort.CREATED, page=1, limit=2)
    third = await order_page(session, sort=OrderSort.CREATED, page=3, limit=2)
    assert (first.total, first.pages) == (5, 3)
    assert [r.order_id for r in third.rows] == [made[0].id]
    row = first.rows[0]
    assert (row.client_name, row.client_phone, row.manager_name, row.kind_code) == (
        "Анна",
        "+79990001122",
        "Мария",
        "student_paper",
    )


async def test_the_exchange_board_counts_live_bids_and_the_best(session: AsyncSession) -> None:
    order, _manager = await builders.order_on_exchange(session, price=None)
    fixed, _ = await builders.order_on_exchange(session, price=200_000)
    first = await builders.executor(session, "Первый")
    second = await builders.executor(session, "Второй")
    await exchange.place_bid(session, order, first, 300_000)
    await exchange.place_bid(session, order, second, 250_000)
    await exchange.place_bid(session, order, first, 280_000)  # replaces the first offer
    board = await exchange_board(session)
    assert [(r.order_id, r.bids, r.best_bid, r.exchange_price) for r in board] == [
        (order.id, 2, 250_000, None),
        (fixed.id, 0, None, 200_000),
    ]
    ivan = await builders.staff(session, StaffRole.MANAGER)
    maria = await builders.staff(session, StaffRole.MANAGER)
    order.manager_id = maria.id
    await session.flush()
    # A restricted manager sees theirs and nobody's.
    assert [r.order_id for r in await exchange_board(session, only_assigned_to=ivan.id)] == [
        fixed.id
    ]
    fixed.manager_id = maria.id
    await session.flush()
    assert await exchange_board(session, only_assigned_to=ivan.id) == []
