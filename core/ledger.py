"""The double-entry ledger: each money operation is one transaction whose entries sum to
zero, on accounts created on first use. Balances are summed from entries, never stored.
Functions add rows and flush; the caller's unit of work commits. See docs/money.md."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.events import MoneyMoved, record
from core.models.money import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction
from core.pricing import check_currency

# Assets and expenses grow with debits; liabilities and income grow with credits.
DEBIT_NORMAL = frozenset(
    {AccountKind.CASH_DESK, AccountKind.GATEWAY_CLEARING, AccountKind.EXPENSES}
)
# Money we cannot hand out without having it. Revenue may dip below zero (a loss-making
# order); other and expense accounts only ever grow.
NEVER_NEGATIVE = frozenset(
    {
        AccountKind.CLIENT_BALANCE,
        AccountKind.ORDER_HOLD,
        AccountKind.EXECUTOR_PAYABLE,
        AccountKind.CASH_DESK,
        AccountKind.GATEWAY_CLEARING,
    }
)


class Operation(enum.StrEnum):
    TOP_UP = "top_up"
    HOLD_PREPAYMENT = "hold_prepayment"
    RELEASE_HOLD = "release_hold"
    CHARGE = "charge"
    REFUND = "refund"
    ACCRUE_EXECUTOR = "accrue_executor"
    PAY_EXECUTOR = "pay_executor"
    CASH_IN = "cash_in"
    CASH_OUT = "cash_out"
    SETTLE_GATEWAY = "settle_gateway"


class InsufficientFunds(Exception):
    """An operation would take an account below zero; nothing was written."""

    def __init__(
        self, kind: AccountKind, ref: str, currency: str, available: int, required: int
    ) -> None:
        self.kind, self.ref, self.currency = kind, ref, currency
        self.available, self.required = available, required
        super().__init__(
            f"insufficient funds on {kind.value} account {ref!r}: {available} {currency} "
            f"available, {required} needed, short by {self.shortfall} (minor units)"
        )

    @property
    def shortfall(self) -> int:
        return self.required - self.available


@dataclass(frozen=True, slots=True)
class Source:
    """Where outside money comes in or goes out: a cash desk or a payment gateway."""

    kind: AccountKind
    ref: str

    def __post_init__(self) -> None:
        if self.kind not in (AccountKind.CASH_DESK, AccountKind.GATEWAY_CLEARING):
            raise ValueError(f"a money source is a cash desk or a gateway, not {self.kind}")
        if not self.ref:
            raise ValueError("a money source needs a desk code or a provider name")

    @classmethod
    def desk(cls, code: str) -> Source:
        return cls(AccountKind.CASH_DESK, code)

    @classmethod
    def gateway(cls, provider: str) -> Source:
        return cls(AccountKind.GATEWAY_CLEARING, provider)


@dataclass(frozen=True, slots=True)
class _Account:
    kind: AccountKind
    ref: str = ""


@dataclass(frozen=True, slots=True)
class _Links:
    """What a transaction is about, for reports and for the MoneyMoved event."""

    client_id: int | None = None
    order_id: int | None = None
    executor_id: int | None = None
    payment_id: int | None = None
    recorded_by: int | None = None
    memo: str | None = None


def _client(client_id: int) -> _Account:
    return _Account(AccountKind.CLIENT_BALANCE, str(client_id))


def _hold(order_id: int) -> _Account:
    return _Account(AccountKind.ORDER_HOLD, str(order_id))


def _payable(executor_id: int) -> _Account:
    return _Account(AccountKind.EXECUTOR_PAYABLE, str(executor_id))


def _source(source: Source) -> _Account:
    return _Account(source.kind, source.ref)


_REVENUE = _Account(AccountKind.REVENUE)
_OTHER_INCOME = _Account(AccountKind.OTHER_INCOME)
_EXPENSES = _Account(AccountKind.EXPENSES)


# --- operations ----------------------------------------------------------------------


async def top_up(
    session: AsyncSession,
    client_id: int,
    amount: int,
    currency: str,
    source: Source,
    *,
    payment_id: int | None = None,
    recorded_by: int | None = None,
    memo: str | None = None,
) -> LedgerTransaction:
    """Client money came in through a desk or a gateway and is free on their balance."""
    links = _Links(client_id, payment_id=payment_id, recorded_by=recorded_by, memo=memo)
    debit, credit = _source(source), _client(client_id)
    return await _post(session, Operation.TOP_UP, amount, currency, debit, credit, links)


async def hold_prepayment(
    session: AsyncSession, order_id: int, client_id: int, amount: int, currency: str
) -> LedgerTransaction:
    """Reserve part of the client's balance for one order."""
    links = _Links(client_id, order_id)
    debit, credit = _client(client_id), _hold(order_id)
    return await _post(session, Operation.HOLD_PREPAYMENT, amount, currency, debit, credit, links)


async def release_hold(
    session: AsyncSession, order_id: int, client_id: int, amount: int, currency: str
) -> LedgerTransaction:
    """Give reserved money back to the client's balance (the order was cancelled)."""
    links = _Links(client_id, order_id)
    debit, credit = _hold(order_id), _client(client_id)
    return await _post(session, Operation.RELEASE_HOLD, amount, currency, debit, credit, links)


async def charge(
    session: AsyncSession, order_id: int, client_id: int, amount: int, currency: str
) -> LedgerTransaction:
    """The final charge: reserved money becomes ours. Counts towards discount tiers."""
    links = _Links(client_id, order_id)
    debit, credit = _hold(order_id), _REVENUE
    return await _post(session, Operation.CHARGE, amount, currency, debit, credit, links)


async def refund(
    session: AsyncSession,
    client_id: int,
    amount: int,
    currency: str,
    destination: Source,
    *,
    payment_id: int | None = None,
    recorded_by: int | None = None,
    memo: str | None = None,
) -> LedgerTransaction:
    """Pay free balance back to the client through a desk or a gateway."""
    links = _Links(client_id, payment_id=payment_id, recorded_by=recorded_by, memo=memo)
    debit, credit = _client(client_id), _source(destination)
    return await _post(session, Operation.REFUND, amount, currency, debit, credit, links)


async def accrue_executor(
    session: AsyncSession, order_id: int, executor_id: int, amount: int, currency: str
) -> LedgerTransaction:
    """We now owe the executor for an order; the margin left in revenue shrinks."""
    links = _Links(order_id=order_id, executor_id=executor_id)
    debit, credit = _REVENUE, _payable(executor_id)
    return await _post(session, Operation.ACCRUE_EXECUTOR, amount, currency, debit, credit, links)


async def pay_executor(
    session: AsyncSession,
    executor_id: int,
    amount: int,
    currency: str,
    desk: str,
    *,
    recorded_by: int | None = None,
    memo: str | None = None,
) -> LedgerTransaction:
    """Pay what we owe an executor out of a cash desk."""
    links = _Links(executor_id=executor_id, recorded_by=recorded_by, memo=memo)
    debit, credit = _payable(executor_id), _source(Source.desk(desk))
    return await _post(session, Operation.PAY_EXECUTOR, amount, currency, debit, credit, links)


async def cash_in(
    session: AsyncSession,
    desk: str,
    amount: int,
    currency: str,
    memo: str,
    *,
    recorded_by: int | None = None,
) -> LedgerTransaction:
    """Money into a desk that is not a client's (owner's deposit, a sale outside orders)."""
    links = _Links(recorded_by=recorded_by, memo=memo)
    debit, credit = _source(Source.desk(desk)), _OTHER_INCOME
    return await _post(session, Operation.CASH_IN, amount, currency, debit, credit, links)


async def cash_out(
    session: AsyncSession,
    desk: str,
    amount: int,
    currency: str,
    memo: str,
    *,
    recorded_by: int | None = None,
) -> LedgerTransaction:
    """Money out of a desk for an expense (rent, fuel, bank fees)."""
    links = _Links(recorded_by=recorded_by, memo=memo)
    debit, credit = _EXPENSES, _source(Source.desk(desk))
    return await _post(session, Operation.CASH_OUT, amount, currency, debit, credit, links)


async def settle_gateway(
    session: AsyncSession,
    provider: str,
    desk: str,
    amount: int,
    currency: str,
    *,
    recorded_by: int | None = None,
    memo: str | None = None,
) -> LedgerTransaction:
    """A gateway paid collected money out to one of our desks (the bank account)."""
    links = _Links(recorded_by=recorded_by, memo=memo)
    debit, credit = _source(Source.desk(desk)), _source(Source.gateway(provider))
    return await _post(session, Operation.SETTLE_GATEWAY, amount, currency, debit, credit, links)


# --- queries -------------------------------------------------------------------------


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
    return _normal_side(kind, int(total or 0))


async def paid_total(session: AsyncSession, client_id: int, currency: str) -> int:
    """Everything ever finally charged to the client: what the discount tiers look at."""
    return await _moved(
        session, Operation.CHARGE, currency, LedgerTransaction.client_id == client_id
    )


@dataclass(frozen=True, slots=True)
class OrderMoney:
    held: int  # prepaid and still reserved for the order
    charged: int  # finally charged: our revenue from it
    accrued: int  # owed or paid to executors for it

    @property
    def margin(self) -> int:
        return self.charged - self.accrued


async def order_money(session: AsyncSession, order_id: int, currency: str) -> OrderMoney:
    is_order = LedgerTransaction.order_id == order_id
    return OrderMoney(
        held=await balance(session, AccountKind.ORDER_HOLD, order_id, currency),
        charged=await _moved(session, Operation.CHARGE, currency, is_order),
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


# --- posting -------------------------------------------------------------------------


async def _post(
    session: AsyncSession,
    operation: Operation,
    amount: int,
    currency: str,
    debit: _Account,
    credit: _Account,
    links: _Links,
) -> LedgerTransaction:
    """Move `amount` from `credit` to `debit` as one transaction, if the money is there."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"amount must be a positive whole number of minor units, got {amount!r}")
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


def _normal_side(kind: AccountKind, debits_minus_credits: int) -> int:
    return debits_minus_credits if kind in DEBIT_NORMAL else -debits_minus_credits


def _drawn_down(debit: _Account, credit: _Account) -> list[_Account]:
    """The legs that lower a never-negative account: these need the money to be there."""
    legs = []
    if debit.kind in NEVER_NEGATIVE and debit.kind not in DEBIT_NORMAL:
        legs.append(debit)
    if credit.kind in NEVER_NEGATIVE and credit.kind in DEBIT_NORMAL:
        legs.append(credit)
    return legs


async def _check_covered(
    session: AsyncSession,
    drawn: list[_Account],
    found: dict[_Account, LedgerAccount],
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
        available = _normal_side(row.kind, sums.get(row.id, 0))
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
    session: AsyncSession, accounts: list[_Account], currency: str
) -> dict[_Account, LedgerAccount]:
    rows = await session.scalars(
        select(LedgerAccount).where(
            LedgerAccount.currency == currency,
            or_(*[(LedgerAccount.kind == a.kind) & (LedgerAccount.ref == a.ref) for a in accounts]),
        )
    )
    return {_Account(row.kind, row.ref): row for row in rows}


async def _create(session: AsyncSession, account: _Account, currency: str) -> LedgerAccount:
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
