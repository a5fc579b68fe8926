"""The order card's lists: bids, payments, the order's ledger lines and its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.models import (
    AccountKind,
    ActorRole,
    Bid,
    BidStatus,
    Client,
    Executor,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    OrderEvent,
    Payment,
    PaymentMethod,
    PaymentStatus,
    User,
)


@dataclass(frozen=True, slots=True)
class BidView:
    bid_id: int
    executor_id: int
    executor_name: str
    executor_rating: float | None
    price: int
    comment: str | None
    eta: datetime | None
    status: BidStatus
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentView:
    payment_id: int
    provider: str
    method: PaymentMethod
    amount: int
    currency: str
    status: PaymentStatus
    recorded_by_name: str | None
    created_at: datetime
    confirmed_at: datetime | None


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One ledger transaction of the order: `amount` moved from `credit` to `debit`."""

    transaction_id: int
    operation: str
    amount: int
    currency: str
    debit: tuple[AccountKind, str]  # (kind, ref)
    credit: tuple[AccountKind, str]
    memo: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    action: str
    actor_role: ActorRole
    actor_name: str | None
    from_status: str | None
    to_status: str | None
    from_step: str | None
    to_step: str | None
    data: dict[str, Any]
    created_at: datetime


async def bids(session: AsyncSession, order_id: int) -> list[BidView]:
    """Live bids first, cheapest first; then the winner; then the others, newest first."""
    rank = case((Bid.status == BidStatus.ACTIVE, 0), (Bid.status == BidStatus.WON, 1), else_=2)
    query = (
        select(
            Bid.id,
            Bid.executor_id,
            Executor.name,
            Executor.rating_total,
            Executor.rating_count,
            Bid.price,
            Bid.comment,
            Bid.eta,
            Bid.status,
            Bid.created_at,
        )
        .join(Executor, Executor.id == Bid.executor_id)
        .where(Bid.order_id == order_id)
        .order_by(rank, case((rank == 0, Bid.price), else_=None), Bid.created_at.desc())
    )
    return [
        BidView(
            row.id,
            row.executor_id,
            row.name,
            row.rating_total / row.rating_count if row.rating_count else None,
            row.price,
            row.comment,
            row.eta,
            row.status,
            row.created_at,
        )
        for row in await session.execute(query)
    ]


async def payments(session: AsyncSession, order_id: int) -> list[PaymentView]:
    query = (
        select(
            Payment.id,
            Payment.provider,
            Payment.method,
            Payment.amount,
            Payment.currency,
            Payment.status,
            User.name,
            Payment.created_at,
            Payment.confirmed_at,
        )
        .outerjoin(User, User.id == Payment.recorded_by)
        .where(Payment.order_id == order_id)
        .order_by(Payment.created_at, Payment.id)
    )
    return [PaymentView(*row) for row in await session.execute(query)]


async def ledger_lines(session: AsyncSession, order_id: int) -> list[LedgerLine]:
    query = (
        select(
            LedgerTransaction.id,
            LedgerTransaction.operation,
            LedgerTransaction.currency,
            LedgerTransaction.memo,
            LedgerTransaction.created_at,
            LedgerEntry.amount,
            LedgerAccount.kind,
            LedgerAccount.ref,
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerTransaction.order_id == order_id)
        .order_by(LedgerTransaction.id, LedgerEntry.id)
    )
    legs: dict[int, dict[str, Any]] = {}
    for row in await session.execute(query):
        line = legs.setdefault(row.id, {"row": row})
        line["debit" if row.amount > 0 else "credit"] = (row.kind, row.ref)
        if row.amount > 0:
            line["amount"] = row.amount
    return [
        LedgerLine(
            transaction_id=tid,
            operation=leg["row"].operation,
            amount=leg.get("amount", 0),
            currency=leg["row"].currency,
            debit=leg.get("debit", (AccountKind.REVENUE, "")),
            credit=leg.get("credit", (AccountKind.REVENUE, "")),
            memo=leg["row"].memo,
            created_at=leg["row"].created_at,
        )
        for tid, leg in legs.items()
    ]


async def history(session: AsyncSession, order_id: int) -> list[HistoryEntry]:
    staff, client, executor = aliased(User), aliased(Client), aliased(Executor)
    query = (
        select(
            OrderEvent,
            staff.name.label("staff_name"),
            client.name.label("client_name"),
            executor.name.label("executor_name"),
        )
        .outerjoin(staff, staff.id == OrderEvent.actor_user_id)
        .outerjoin(client, client.id == OrderEvent.actor_client_id)
        .outerjoin(executor, executor.id == OrderEvent.actor_executor_id)
        .where(OrderEvent.order_id == order_id)
        .order_by(OrderEvent.created_at, OrderEvent.id)
    )
    entries = []
    for row in await session.execute(query):
        event: OrderEvent = row.OrderEvent
        entries.append(
            HistoryEntry(
                action=event.action,
                actor_role=event.actor_role,
                actor_name=row.staff_name or row.client_name or row.executor_name,
                from_status=event.from_status,
                to_status=event.to_status,
                from_step=event.from_step,
                to_step=event.to_step,
                data=dict(event.data or {}),
                created_at=event.created_at,
            )
        )
    return entries
