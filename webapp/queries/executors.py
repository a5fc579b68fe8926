"""Executors and the exchange board.

    executor_page(session, status=None, query="", limit=50, offset=0) -> ExecutorPage
    exchange_board(session, only_assigned_to=None, limit=200) -> list[BoardRow]

`status=ExecutorStatus.APPLICANT` lists the applications waiting for a decision, oldest
first; other lists go by name. Active jobs are the executor's orders in
`core.exchange.ACTIVE_JOB_STATUSES` (what the capacity rule counts). The board lists the
orders on the exchange, the ones whose deadline comes first on top, with their live bids'
count and the best (lowest) bid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.exchange import ACTIVE_JOB_STATUSES
from core.models import (
    Bid,
    BidStatus,
    Client,
    Executor,
    ExecutorKind,
    ExecutorStatus,
    Order,
    OrderKind,
    OrderStatus,
    Skill,
    executor_skills,
)
from webapp.queries import matching
from webapp.queries.visibility import order_visible


@dataclass(frozen=True, slots=True)
class ExecutorRow:
    executor_id: int
    name: str
    kind: ExecutorKind
    status: ExecutorStatus
    phone: str | None
    email: str | None
    skills: list[str]
    rating: float | None  # 1..5, None before the first score
    rating_count: int
    reliability: int
    capacity: int
    active_jobs: int
    company_name: str | None  # the supplier company a driver belongs to
    created_at: datetime
    approved_at: datetime | None


@dataclass(frozen=True, slots=True)
class ExecutorPage:
    rows: list[ExecutorRow]
    counts: dict[ExecutorStatus, int]  # per status, whatever the filter
    total: int  # rows matching the filter


@dataclass(frozen=True, slots=True)
class BoardRow:
    order_id: int
    number: int
    title: str
    kind_name: str
    client_name: str
    deadline: datetime | None
    exchange_price: int | None  # fixed price to take it; None: executors bid
    currency: str
    bids: int  # live bids
    best_bid: int | None  # the lowest live bid
    published_at: datetime  # when it last changed (went on the exchange)


async def executor_page(
    session: AsyncSession,
    *,
    status: ExecutorStatus | None = None,
    query: str = "",
    limit: int = 50,
    offset: int = 0,
) -> ExecutorPage:
    conditions = []
    if status is not None:
        conditions.append(Executor.status == status)
    text = " ".join(query.split())
    if text:
        conditions.append(matching.contains(Executor.name, text, matching.dialect_of(session)))
    jobs = (
        select(Order.executor_id, func.count().label("jobs"))
        .where(Order.status.in_(ACTIVE_JOB_STATUSES), Order.executor_id.is_not(None))
        .group_by(Order.executor_id)
        .subquery("jobs")
    )
    company = aliased(Executor)
    ordering = (
        [Executor.created_at, Executor.id]
        if status is ExecutorStatus.APPLICANT
        else [Executor.name, Executor.id]
    )
    statement = (
        select(Executor, func.coalesce(jobs.c.jobs, 0), company.name)
        .outerjoin(jobs, jobs.c.executor_id == Executor.id)
        .outerjoin(company, company.id == Executor.parent_id)
        .where(*conditions)
        .order_by(*ordering)
        .limit(limit)
        .offset(offset)
    )
    found = (await session.execute(statement)).all()
    skills = await _skills(session, [executor.id for executor, _, _ in found])
    rows = [
        ExecutorRow(
            executor_id=e.id,
            name=e.name,
            kind=e.kind,
            status=e.status,
            phone=e.phone,
            email=e.email,
            skills=skills.get(e.id, []),
            rating=e.rating,
            rating_count=e.rating_count,
            reliability=e.reliability,
            capacity=e.capacity,
            active_jobs=int(active),
            company_name=company_name,
            created_at=e.created_at,
            approved_at=e.approved_at,
        )
        for e, active, company_name in found
    ]
    counts = dict.fromkeys(ExecutorStatus, 0)
    for each, count in await session.execute(
        select(Executor.status, func.count()).group_by(Executor.status)
    ):
        counts[each] = count
    total = await session.scalar(select(func.count()).select_from(Executor).where(*conditions))
    return ExecutorPage(rows, counts, int(total or 0))


async def _skills(session: AsyncSession, executor_ids: list[int]) -> dict[int, list[str]]:
    if not executor_ids:
        return {}
    rows = await session.execute(
        select(executor_skills.c.executor_id, Skill.name)
        .join(Skill, Skill.id == executor_skills.c.skill_id)
        .where(executor_skills.c.executor_id.in_(executor_ids))
        .order_by(Skill.name)
    )
    found: dict[int, list[str]] = {}
    for executor_id, name in rows:
        found.setdefault(executor_id, []).append(name)
    return found


async def exchange_board(
    session: AsyncSession, *, only_assigned_to: int | None = None, limit: int = 200
) -> list[BoardRow]:
    live = (
        select(Bid.order_id, func.count().label("bids"), func.min(Bid.price).label("best"))
        .where(Bid.status == BidStatus.ACTIVE)
        .group_by(Bid.order_id)
        .subquery("live_bids")
    )
    statement = (
        select(
            Order.id,
            Order.number,
            Order.title,
            OrderKind.name,
            Client.name,
            Order.deadline,
            Order.exchange_price,
            Order.currency,
            func.coalesce(live.c.bids, 0),
            live.c.best,
            Order.updated_at,
        )
        .join(OrderKind, OrderKind.id == Order.kind_id)
        .join(Client, Client.id == Order.client_id)
        .outerjoin(live, live.c.order_id == Order.id)
        .where(Order.status == OrderStatus.ON_EXCHANGE)
        .order_by(Order.deadline.asc().nulls_last(), Order.id)
        .limit(limit)
    )
    statement = statement.where(order_visible(only_assigned_to))
    return [BoardRow(*row) for row in await session.execute(statement)]
