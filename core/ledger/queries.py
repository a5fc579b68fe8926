"""Reading the ledger: balances, what a client has paid in total, what they were charged,
an order's money.

"Paid" has one meaning everywhere (the bot's "Paid in total", the panel's "Total paid" column
and its sort): the money the client gave us, net — top-ups less refunds (`paid_total`,
`paid_totals`). A prepayment counts the moment it comes in. What the discount tiers look at
is different and named differently: what the client was finally charged for orders, less
charges taken back (`charged_total`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.ledger.accounts import Operation, normal_side
from core.models.money import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction


async def balance(session: AsyncSession, kind: AccountKind, ref: str | int, currency: str) -> int:
    """The account's balance on its normal side (a client with 100 ₽ free has +10000)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerAccount, LedgerEntry.account_id == LedgerAccount.id)
        .where(
            LedgerAccount.kind == kind,
            LedgerAccount.ref == str(ref),
            LedgerAccount.currency == currency,
        )
    )
    return normal_side(kind, int(total or 0))


def paid_totals(currency: str, client_ids: Sequence[int] | None = None) -> Any:
    """Subquery (client_id, paid): each client's top-ups less refunds in `currency` (only
    these clients when `client_ids` is given). Lists sort and show it; `paid_total` reads
    it for one client."""
    signed = case(
        (LedgerTransaction.operation == Operation.TOP_UP.value, LedgerEntry.amount),
        else_=-LedgerEntry.amount,
    )
    query = (
        select(LedgerTransaction.client_id.label("client_id"), func.sum(signed).label("paid"))
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(
            LedgerTransaction.operation.in_([Operation.TOP_UP.value, Operation.REFUND.value]),
            LedgerTransaction.currency == currency,
            LedgerTransaction.client_id.is_not(None),
            LedgerEntry.amount > 0,  # one debit leg per transaction: the amount moved
        )
        .group_by(LedgerTransaction.client_id)
    )
    if client_ids is not None:
        query = query.where(LedgerTransaction.client_id.in_(list(client_ids)))
    return query.subquery("paid_totals")


async def paid_total(session: AsyncSession, client_id: int, currency: str) -> int:
    """What the client has paid us in total, net: top-ups less refunds."""
    totals = paid_totals(currency, [client_id])
    return int(await session.scalar(select(func.coalesce(func.sum(totals.c.paid), 0))) or 0)


async def charged_total(session: AsyncSession, client_id: int, currency: str) -> int:
    """Everything finally charged to the client, less charges taken back: what the
    discount tiers look at."""
    is_client = LedgerTransaction.client_id == client_id
    charged = await _moved(session, Operation.CHARGE, currency, is_client)
    return charged - await _moved(session, Operation.REVERSE_CHARGE, currency, is_client)


@dataclass(frozen=True, slots=True)
class OrderMoney:
    held: int  # prepaid and still reserved for the order
    charged: int  # finally charged (less reversals): our revenue from it
    accrued: int  # owed or paid to executors for it

    @property
    def margin(self) -> int:
        return self.charged - self.accrued


async def order_money(session: AsyncSession, order_id: int, currency: str) -> OrderMoney:
    is_order = LedgerTransaction.order_id == order_id
    return OrderMoney(
        held=await balance(session, AccountKind.ORDER_HOLD, order_id, currency),
        charged=await _moved(session, Operation.CHARGE, currency, is_order)
        - await _moved(session, Operation.REVERSE_CHARGE, currency, is_order),
        accrued=await _moved(session, Operation.ACCRUE_EXECUTOR, currency, is_order),
    )


def transaction_is_balanced(transaction: LedgerTransaction) -> bool:
    return bool(transaction.entries) and sum(e.amount for e in transaction.entries) == 0


async def unbalanced_transaction_ids(session: AsyncSession) -> list[int]:
    """Transactions whose entries do not sum to zero; always empty unless rows were edited."""
    rows = await session.scalars(
        select(LedgerEntry.transaction_id)
        .group_by(LedgerEntry.transaction_id)
        .having(func.sum(LedgerEntry.amount) != 0)
        .order_by(LedgerEntry.transaction_id)
    )
    return list(rows)


async def _moved(
    session: AsyncSession, operation: Operation, currency: str, about: ColumnElement[bool]
) -> int:
    # Each transaction has one debit leg, so its positive entries are the amount moved.
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(
            LedgerTransaction.operation == operation.value,
            LedgerTransaction.currency == currency,
            LedgerEntry.amount > 0,
            about,
        )
    )
    return int(total or 0)
