"""Posting one transaction: find or create the two accounts, lock and check the ones being
drawn down, write the balanced entries and record the MoneyMoved event."""

from __future__ import annotations

from sqlalchemy import false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.events import MoneyMoved, record
from core.ledger.accounts import (
    DEBIT_NORMAL,
    NEVER_NEGATIVE,
    Account,
    InsufficientFunds,
    Links,
    Operation,
    normal_side,
)
from core.models.money import LedgerAccount, LedgerEntry, LedgerTransaction
from core.pricing import check_amount_limit, check_currency


async def post(
    session: AsyncSession,
    operation: Operation,
    amount: int,
    currency: str,
    debit: Account,
    credit: Account,
    links: Links,
) -> LedgerTransaction:
    """Move `amount` from `credit` to `debit` as one transaction, if the money is there."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"amount must be a positive whole number of minor units, got {amount!r}")
    check_amount_limit(amount)
    check_currency(currency)
    found = await _find(session, [debit, credit], currency)
    await _check_covered(session, _drawn_down(debit, credit), found, amount, currency)
    transaction = LedgerTransaction(
        operation=operation.value,
        currency=currency,
        client_id=links.client_id,
        order_id=links.order_id,
        executor_id=links.executor_id,
        payment_id=links.payment_id,
        recorded_by=links.recorded_by,
        memo=links.memo,
        entries=[
            LedgerEntry(
                account=found.get(debit) or await _create(session, debit, currency), amount=amount
            ),
            LedgerEntry(
                account=found.get(credit) or await _create(session, credit, currency),
                amount=-amount,
            ),
        ],
    )
    session.add(transaction)
    await session.flush()
    record(session, _event(transaction, amount))
    return transaction


def _event(transaction: LedgerTransaction, amount: int) -> MoneyMoved:
    return MoneyMoved(
        transaction_id=transaction.id,
        operation=transaction.operation,
        amount=amount,
        currency=transaction.currency,
        client_id=transaction.client_id,
        order_id=transaction.order_id,
        executor_id=transaction.executor_id,
    )


def _drawn_down(debit: Account, credit: Account) -> list[Account]:
    """The legs that lower a never-negative account: these need the money to be there."""
    legs = []
    if debit.kind in NEVER_NEGATIVE and debit.kind not in DEBIT_NORMAL:
        legs.append(debit)
    if credit.kind in NEVER_NEGATIVE and credit.kind in DEBIT_NORMAL:
        legs.append(credit)
    return legs


async def _check_covered(
    session: AsyncSession,
    drawn: list[Account],
    found: dict[Account, LedgerAccount],
    amount: int,
    currency: str,
) -> None:
    """Raise InsufficientFunds unless every drawn account holds `amount`. Locks them first
    so a concurrent unit of work cannot spend the same money between our read and commit."""
    for account in drawn:
        if account not in found:
            raise InsufficientFunds(account.kind, account.ref, currency, 0, amount)
    rows = [found[account] for account in drawn]
    await _lock(session, [row.id for row in rows])
    sums = await _sums(session, [row.id for row in rows])
    for row in rows:
        available = normal_side(row.kind, sums.get(row.id, 0))
        if available < amount:
            raise InsufficientFunds(row.kind, row.ref, currency, available, amount)


async def _sums(session: AsyncSession, account_ids: list[int]) -> dict[int, int]:
    if not account_ids:
        return {}
    rows = await session.execute(
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.account_id.in_(account_ids))
        .group_by(LedgerEntry.account_id)
    )
    return {account_id: int(total) for account_id, total in rows}


async def _lock(session: AsyncSession, account_ids: list[int]) -> None:
    if session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE and the pysqlite driver reads outside a transaction, so
        # two writers could both read the old balance. An UPDATE, even of no row, makes the
        # driver open the transaction and takes SQLite's one database-wide write lock now,
        # before the read. It also keeps the get-or-create SAVEPOINT below nested: under
        # pysqlite a SAVEPOINT that opens the transaction is committed by its own RELEASE.
        await session.execute(
            update(LedgerAccount)
            .where(false())
            .values(id=LedgerAccount.id)
            .execution_options(synchronize_session=False)
        )
    elif account_ids:
        # Ordered by id so two operations locking the same pair cannot deadlock.
        await session.execute(
            select(LedgerAccount.id)
            .where(LedgerAccount.id.in_(account_ids))
            .order_by(LedgerAccount.id)
            .with_for_update()
        )


async def _find(
    session: AsyncSession, accounts: list[Account], currency: str
) -> dict[Account, LedgerAccount]:
    rows = await session.scalars(
        select(LedgerAccount).where(
            LedgerAccount.currency == currency,
            or_(*[(LedgerAccount.kind == a.kind) & (LedgerAccount.ref == a.ref) for a in accounts]),
        )
    )
    return {Account(row.kind, row.ref): row for row in rows}


async def _create(session: AsyncSession, account: Account, currency: str) -> LedgerAccount:
    try:
        async with session.begin_nested():
            row = LedgerAccount(kind=account.kind, ref=account.ref, currency=currency)
            session.add(row)
        return row
    except IntegrityError:
        # A concurrent unit of work created it first and has committed by now (the unique
        # index made our insert wait for it), so the row is visible to a new select.
        found = await _find(session, [account], currency)
        if account not in found:
            raise
        return found[account]
