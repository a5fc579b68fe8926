"""The orders list: status tabs with their counts, sorting, filters and pages.

    order_page(session, tab=OrderTab.NEW, sort=OrderSort.CREATED, filters=OrderFilters(),
               page=1, limit=50) -> OrderPage
    tab_counts(session, filters=OrderFilters()) -> dict[OrderTab, int]
    order_rows(session, order_ids) -> list[OrderRow]

Each tab is a set of statuses (`TAB_STATUSES`): a paid order waiting for an executor is on
the exchange tab whether or not it was published; revisions count as work; a delivered order
stays under "ready" until it is closed; drafts (a client still in the wizard) are in no tab.
The counts honour every filter but the tab."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.models import Client, Executor, Order, OrderKind, OrderStatus, User
from webapp.queries.visibility import order_visible

S = OrderStatus


class OrderTab(enum.StrEnum):
    NEW = "new"
    EVALUATING = "evaluating"
    AWAITING_PAYMENT = "awaiting_payment"
    ON_EXCHANGE = "on_exchange"
    IN_WORK = "in_work"
    REVIEW = "review"
    READY = "ready"
    ARCHIVE = "archive"


TAB_STATUSES: dict[OrderTab, tuple[OrderStatus, ...]] = {
    OrderTab.NEW: (S.NEW,),
    OrderTab.EVALUATING: (S.EVALUATING, S.QUOTED),
    OrderTab.AWAITING_PAYMENT: (S.AWAITING_PAYMENT,),
    OrderTab.ON_EXCHANGE: (S.PAID, S.ON_EXCHANGE),
    OrderTab.IN_WORK: (S.ASSIGNED, S.IN_PROGRESS, S.REVISION, S.REVISION_REQUESTED),
    OrderTab.REVIEW: (S.IN_REVIEW,),
    OrderTab.READY: (S.READY, S.DELIVERED),
    OrderTab.ARCHIVE: (S.CLOSED, S.CANCELLED),
}
TAB_OF_STATUS = {status: tab for tab, statuses in TAB_STATUSES.items() for status in statuses}


def tab_of(status: OrderStatus) -> OrderTab | None:
    """The tab an order in `status` is listed under (None for a draft)."""
    return TAB_OF_STATUS.get(status)


class OrderSort(enum.StrEnum):
    DEADLINE = "deadline"  # nearest first, orders without a deadline last
    CREATED = "created"  # newest first
    UPDATED = "updated"  # last changed first


@dataclass(frozen=True, slots=True)
class OrderFilters:
    manager_id: int | None = None
    kind_ids: tuple[int, ...] = ()
    client_id: int | None = None
    executor_id: int | None = None
    deadline_from: datetime | None = None  # inclusive
    deadline_to: datetime | None = None  # exclusive
    only_assigned_to: int | None = None  # a restricted manager: theirs and nobody's


@dataclass(frozen=True, slots=True)
class OrderRow:
    order_id: int
    number: int
    title: str
    kind_code: str
    kind_name: str
    status: OrderStatus
    step: str | None
    client_id: int
    client_name: str
    client_phone: str | None
    manager_id: int | None
    manager_name: str | None
    executor_id: int | None
    executor_name: str | None
    deadline: datetime | None
    scheduled_at: datetime | None
    client_price: int | None
    currency: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OrderPage:
    tab: OrderTab
    rows: list[OrderRow]
    counts: dict[OrderTab, int] = field(default_factory=dict)
    page: int = 1
    limit: int = 50

    @property
    def total(self) -> int:
        return self.counts.get(self.tab, 0)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))


def filter_conditions(filters: OrderFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.only_assigned_to is not None:
        conditions.append(order_visible(filters.only_assigned_to))
    if filters.manager_id is not None:
        conditions.append(Order.manager_id == filters.manager_id)
    if filters.kind_ids:
        conditions.append(Order.kind_id.in_(filters.kind_ids))
    if filters.client_id is not None:
        conditions.append(Order.client_id == filters.client_id)
    if filters.executor_id is not None:
        conditions.append(Order.executor_id == filters.executor_id)
    if filters.deadline_from is not None:
        conditions.append(Order.deadline >= filters.deadline_from)
    if filters.deadline_to is not None:
        conditions.append(Order.deadline < filters.deadline_to)
    return conditions


def _ordering(sort: OrderSort) -> list[Any]:
    if sort is OrderSort.DEADLINE:
        # NULLS LAST is also PostgreSQL's own order for ASC: ix_orders_deadline serves it.
        return [Order.deadline.asc().nulls_last(), Order.id.asc()]
    if sort is OrderSort.UPDATED:
        return [Order.updated_at.desc(), Order.id.desc()]
    return [Order.created_at.desc(), Order.id.desc()]


async def order_page(
    session: AsyncSession,
    *,
    tab: OrderTab = OrderTab.NEW,
    sort: OrderSort = OrderSort.CREATED,
    filters: OrderFilters | None = None,
    page: int = 1,
    limit: int = 50,
) -> OrderPage:
    filters = filters or OrderFilters()
    page = max(1, page)
    query = select(Order.id).where(Order.status.in_(TAB_STATUSES[tab]), *filter_conditions(filters))
    query = query.order_by(*_ordering(sort)).offset((page - 1) * limit).limit(limit)
    rows = await order_rows(session, list(await session.scalars(query)))
    return OrderPage(tab, rows, await tab_counts(session, filters), page, limit)


async def tab_counts(
    session: AsyncSession, filters: OrderFilters | None = None
) -> dict[OrderTab, int]:
    query = (
        select(Order.status, func.count())
        .where(*filter_conditions(filters or OrderFilters()))
        .group_by(Order.status)
    )
    counts = dict.fromkeys(OrderTab, 0)
    for status, count in await session.execute(query):
        tab = tab_of(status)
        if tab is not None:
            counts[tab] += count
    return counts


async def order_rows(session: AsyncSession, order_ids: Sequence[int]) -> list[OrderRow]:
    """Rows of these orders, in the order given."""
    if not order_ids:
        return []
    found = {row.id: row for row in await session.execute(_rows_query(order_ids))}
    return [_row(found[i]) for i in order_ids if i in found]


def _rows_query(order_ids: Sequence[int]) -> Select:
    manager = aliased(User)
    return (
        select(
            Order.id,
            Order.number,
            Order.title,
            OrderKind.code,
            OrderKind.name.label("kind_name"),
            Order.status,
            Order.step,
            Order.client_id,
            Client.name.label("client_name"),
            Client.phone,
            Order.manager_id,
            manager.name.label("manager_name"),
            Order.executor_id,
            Executor.name.label("executor_name"),
            Order.deadline,
            Order.scheduled_at,
            Order.client_price,
            Order.currency,
            Order.created_at,
            Order.updated_at,
        )
        .join(OrderKind, OrderKind.id == Order.kind_id)
        .join(Client, Client.id == Order.client_id)
        .outerjoin(manager, manager.id == Order.manager_id)
        .outerjoin(Executor, Executor.id == Order.executor_id)
        .where(Order.id.in_(list(order_ids)))
    )


def _row(row: Any) -> OrderRow:
    return OrderRow(
        order_id=row.id,
        number=row.number,
        title=row.title,
        kind_code=row.code,
        kind_name=row.kind_name,
        status=row.status,
        step=row.step,
        client_id=row.client_id,
        client_name=row.client_name,
        client_phone=row.phone,
        manager_id=row.manager_id,
        manager_name=row.manager_name,
        executor_id=row.executor_id,
        executor_name=row.executor_name,
        deadline=row.deadline,
        scheduled_at=row.scheduled_at,
        client_price=row.client_price,
        currency=row.currency,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
