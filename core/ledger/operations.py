"""Money operations: each is one balanced transaction between two accounts."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.ledger.accounts import (
    EXPENSES,
    OTHER_INCOME,
    REVENUE,
    InsufficientFunds,
    Links,
    Operation,
    Source,
    client_account,
    hold_account,
    payable_account,
    source_account,
)
from core.ledger.posting import post
from core.ledger.queries import order_money
from core.models.money import AccountKind, LedgerTransaction


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
    links = Links(client_id, payment_id=payment_id, recorded_by=recorded_by, memo=memo)
    debit, credit = source_account(source), client_account(client_id)
    return await post(session, Operation.TOP_UP, amount, currency, debit, credit, links)


async def hold_prepayment(
    session: AsyncSession, order_id: int, client_id: int, amount: int, currency: str
) -> LedgerTransaction:
    """Reserve part of the client's balance for one order."""
    links = Links(client_id, order_id)
    debit, credit = client_account(client_id), hold_account(order_id)
    return await post(session, Operation.HOLD_PREPAYMENT, amount, currency, debit, credit, links)


async def release_hold(
    session: AsyncSession, order_id: int, client_id: int, amount: int, currency: str
) -> LedgerTransaction:
    """Give reserved money back to the client's balance (the order was cancelled)."""
    links = Links(client_id, order_id)
    debit, credit = hold_account(order_id), client_account(client_id)
    return await post(session, Operation.RELEASE_HOLD, amount, currency, debit, credit, links)


async def charge(
    session: AsyncSession, order_id: int, client_id: int, amount: int, currency: str
) -> LedgerTransaction:
    """The final charge: reserved money becomes ours. Counts towards discount tiers."""
    links = Links(client_id, order_id)
    debit, credit = hold_account(order_id), REVENUE
    return await post(session, Operation.CHARGE, amount, currency, debit, credit, links)


async def reverse_charge(
    session: AsyncSession,
    order_id: int,
    client_id: int,
    amount: int,
    currency: str,
    *,
    recorded_by: int | None = None,
    memo: str | None = None,
) -> LedgerTransaction:
    """Take back (part of) a final charge: the money returns to the client's balance and
    stops counting towards their discount tier (a dispute, a cancellation after delivery).
    No more than the order's net charge can be taken back."""
    charged = (await order_money(session, order_id, currency)).charged
    if amount > charged:
        raise InsufficientFunds(AccountKind.REVENUE, str(order_id), currency, charged, amount)
    links = Links(client_id, order_id, recorded_by=recorded_by, memo=memo)
    debit, credit = REVENUE, client_account(client_id)
    return await post(session, Operation.REVERSE_CHARGE, amount, currency, debit, credit, links)


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
    links = Links(client_id, payment_id=payment_id, recorded_by=recorded_by, memo=memo)
    debit, credit = client_account(client_id), source_account(destination)
    return await post(session, Operation.REFUND, amount, currency, debit, credit, links)


async def move_balance(
    session: AsyncSession,
    from_client_id: int,
    to_client_id: int,
    amount: int,
    currency: str,
    *,
    recorded_by: int | None = None,
    memo: str | None = None,
) -> LedgerTransaction:
    """Free balance of one client card goes to another: two cards of one person were merged
    (inbox/merge.py). Not a payment and not a charge: the paid total does not change."""
    links = Links(to_client_id, recorded_by=recorded_by, memo=memo)
    debit, credit = client_account(from_client_id), client_account(to_client_id)
    return await post(session, Operation.MOVE_BALANCE, amount, currency, debit, credit, links)


async def accrue_executor(
    session: AsyncSession, order_id: int, executor_id: int, amount: int, currency: str
) -> LedgerTransaction:
    """We now owe the executor for an order; the margin left in revenue shrinks."""
    links = Links(order_id=order_id, executor_id=executor_id)
    debit, credit = REVENUE, payable_account(executor_id)
    return await post(session, Operation.ACCRUE_EXECUTOR, amount, currency, debit, credit, links)


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
    links = Links(executor_id=executor_id, recorded_by=recorded_by, memo=memo)
    debit, credit = payable_account(executor_id), source_account(Source.desk(desk))
    return await post(session, Operation.PAY_EXECUTOR, amount, currency, debit, credit, links)


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
    links = Links(recorded_by=recorded_by, memo=memo)
    debit, credit = source_account(Source.desk(desk)), OTHER_INCOME
    return await post(session, Operation.CASH_IN, amount, currency, debit, credit, links)


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
    links = Links(recorded_by=recorded_by, memo=memo)
    debit, credit = EXPENSES, source_account(Source.desk(desk))
    return await post(session, Operation.CASH_OUT, amount, currency, debit, credit, links)


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
    links = Links(recorded_by=recorded_by, memo=memo)
    debit, credit = source_account(Source.desk(desk)), source_account(Source.gateway(provider))
    return await post(session, Operation.SETTLE_GATEWAY, amount, currency, debit, credit, links)
