"""Each client's money as the clients list sorts it, summed from the ledger in one query per
figure (subqueries grouped by client, joined to the list):

- balance: the client's free balance (`client_balance` account, its normal side);
- total paid: money the client gave us, net — top-ups less refunds (`core.ledger.paid_totals`,
  the one meaning of "paid" the bot uses too);
- debt: what is still unpaid of the client's accepted orders — for every order from
  `awaiting_payment` on (cancelled ones aside), its client price less what was put towards
  it (prepayment holds, less holds released and charges reversed), never below zero.

`client_money(session, client_id, currency)` gives the same three figures for one client."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.ledger import Operation, paid_totals
from core.models import (
    AccountKind,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Order,
    OrderStatus,
)

S = OrderStatus
# Accepted orders: the client owes the price from the moment they accept the quote.
OWING_STATUSES = tuple(
    s for s in OrderStatus if s not in (S.DRAFT, S.NEW, S.EVALUATING, S.QUOTED, S.CANCELLED)
)


@dataclass(frozen=True, slots=True)
class ClientMoney:
    balance: int
    total_paid: int
    debt: int


Ids = Sequence[int] | None  # restrict a figure to these clients (None: every client)


def balances(currency: str, client_ids: Ids = None) -> Any:
    """Subquery (client_id, balance)."""
    query = (
        select(
            cast(LedgerAccount.ref, Integer).label("client_id"),
            (-func.sum(LedgerEntry.amount)).label("balance"),
        )
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerAccount.kind == AccountKind.CLIENT_BALANCE, LedgerAccount.currency == currency)
        .group_by(LedgerAccount.ref)
    )
    if client_ids is not None:
        query = query.where(LedgerAccount.ref.in_([str(i) for i in client_ids]))
    return query.subquery("balances")


_PUT_TOWARDS = (
    Operation.HOLD_PREPAYMENT.value,
    Operation.RELEASE_HOLD.value,
    Operation.REVERSE_CHARGE.value,
)


def debts(currency: str, client_ids: Ids = None) -> Any:
    """Subquery (client_id, debt)."""
    put = case(
        (LedgerTransaction.operation == Operation.HOLD_PREPAYMENT.value, LedgerEntry.amount),
        else_=-LedgerEntry.amount,
    )
    moves = (
        select(func.sum(put).label("put"))
        .select_from(LedgerTransaction)
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(LedgerTransaction.operation.in_(_PUT_TOWARDS), LedgerEntry.amount > 0)
    )
    owing = and_(
        Order.status.in_(OWING_STATUSES),
        Order.client_price.is_not(None),
        Order.currency == currency,
    )
    query = select(Order.client_id.label("client_id"))
    if client_ids is None:
        # Every client: sum every order's money once, grouped.
        towards = (
            moves.add_columns(LedgerTransaction.order_id.label("order_id"))
            .where(LedgerTransaction.order_id.is_not(None))
            .group_by(LedgerTransaction.order_id)
            .subquery("towards")
        )
        paid_in: Any = towards.c.put
        query = query.outerjoin(towards, towards.c.order_id == Order.id)
    else:
        # A page of clients: look up each of their orders' money by index.
        owing = and_(owing, Order.client_id.in_(client_ids))
        paid_in = (
            moves.where(LedgerTransaction.order_id == Order.id).correlate(Order).scalar_subquery()
        )
    per_order = (
        query.add_columns((Order.client_price - func.coalesce(paid_in, 0)).label("unpaid"))
        .where(owing)
        .subquery("per_order")
    )
    unpaid = per_order.c.unpaid
    return (
        select(per_order.c.client_id, func.sum(case((unpaid > 0, unpaid), else_=0)).label("debt"))
        .group_by(per_order.c.client_id)
        .subquery("debts")
    )


async def figures(
    session: AsyncSession, client_ids: Sequence[int], currency: str
) -> dict[int, ClientMoney]:
    """The three figures of these clients (absent ones are all zero)."""
    if not client_ids:
        return {}
    found: dict[int, list[int]] = {i: [0, 0, 0] for i in client_ids}
    parts = (
        (0, balances(currency, client_ids), "balance"),
        (1, paid_totals(currency, client_ids), "paid"),
        (2, debts(currency, client_ids), "debt"),
    )
    for position, subquery, column in parts:
        rows = await session.execute(select(subquery.c.client_id, subquery.c[column]))
        for client_id, value in rows:
            if client_id in found:
                found[client_id][position] = int(value or 0)
    return {i: ClientMoney(*values) for i, values in found.items()}


async def client_money(session: AsyncSession, client_id: int, currency: str = "RUB") -> ClientMoney:
    return (await figures(session, [client_id], currency))[client_id]
