"""Reading the ledger: balances, what a client has paid in total, an order's money."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
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


async def paid_total(session: AsyncSession, client_id: int, currency: str) -> int:
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
