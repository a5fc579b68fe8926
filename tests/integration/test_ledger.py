"""The ledger on a real database: each operation's entries and balances, refusals that write
nothing, the totals that discounts and the panel read, and concurrent spending."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import ledger
from core.events import MoneyMoved, take_pending
from core.ledger import InsufficientFunds, Source
from core.models import (
    AccountKind,
    Client,
    Executor,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Order,
    OrderKind,
    Payment,
    PaymentMethod,
    StaffRole,
    User,
)

RUB = "RUB"
K = AccountKind


@dataclass(frozen=True)
class World:
    client: int
    other_client: int
    order: int
    other_order: int
    executor: int


@pytest.fixture
async def world(session: AsyncSession) -> World:
    clients = [Client(name="Anna"), Client(name="Boris")]
    executor = Executor(name="Vera")
    session.add_all([*clients, executor])
    await session.flush()
    kind_id = await session.scalar(sa.select(OrderKind.id).order_by(OrderKind.id).limit(1))
    assert kind_id is not None
    orders = [
        Order(number=1001 + i, kind_id=kind_id, client_id=client.id)
        for i, client in enumerate(clients)
    ]
    session.add_all(orders)
    await session.commit()
    return World(clients[0].id, clients[1].id, orders[0].id, orders[1].id, executor.id)


def moves(transaction: LedgerTransaction) -> dict[tuple[K, str], int]:
    return {(e.account.kind, e.account.ref): e.amount for e in transaction.entries}


async def row_counts(session: AsyncSession) -> tuple[int, ...]:
    models = (LedgerAccount, LedgerTransaction, LedgerEntry)
    return tuple(
        [await session.scalar(sa.select(sa.func.count()).select_from(m)) or 0 for m in models]
    )


async def test_top_up_debits_the_source_and_credits_the_client(
    session: AsyncSession, world: World
) -> None:
    payment = Payment(
        client_id=world.client, provider="yookassa", method=PaymentMethod.GATEWAY,
        amount=10_000, currency=RUB,
    )  # fmt: skip
    session.add(payment)
    await session.flush()
    tx = await ledger.top_up(
        session, world.client, 10_000, RUB, Source.gateway("yookassa"),
        payment_id=payment.id, memo="first payment",
    )  # fmt: skip
    c = str(world.client)
    assert moves(tx) == {(K.GATEWAY_CLEARING, "yookassa"): 10_000, (K.CLIENT_BALANCE, c): -10_000}
    assert (tx.operation, tx.currency, tx.client_id) == ("top_up", RUB, world.client)
    assert (tx.payment_id, tx.memo, tx.order_id) == (payment.id, "first payment", None)
    await session.commit()
    assert await ledger.balance(session, K.CLIENT_BALANCE, world.client, RUB) == 10_000
    assert await ledger.balance(session, K.GATEWAY_CLEARING, "yookassa", RUB) == 10_000


async def test_top_up_records_one_money_moved_event(session: AsyncSession, world: World) -> None:
    tx = await ledger.top_up(session, world.client, 500, RUB, Source.desk("cash"))
    [event] = take_pending(session)
    assert isinstance(event, MoneyMoved)
    assert (event.transaction_id, event.operation, event.amount) == (tx.id, "top_up", 500)
    assert (event.client_id, event.order_id, event.executor_id) == (world.client, None, None)


async def test_every_operation_moves_money_between_the_right_accounts(
    session: AsyncSession, world: World
) -> None:
    c, o, e = str(world.client), str(world.order), str(world.executor)
    steps: list[tuple[Callable[[], Awaitable[LedgerTransaction]], dict[tuple[K, str], int]]] = [
        (
            lambda: ledger.top_up(session, world.client, 10_000, RUB, Source.gateway("yookassa")),
            {(K.GATEWAY_CLEARING, "yookassa"): 10_000, (K.CLIENT_BALANCE, c): -10_000},
        ),
        (
            lambda: ledger.hold_prepayment(session, world.order, world.client, 6_000, RUB),
            {(K.CLIENT_BALANCE, c): 6_000, (K.ORDER_HOLD, o): -6_000},
        ),
        (
            lambda: ledger.release_hold(session, world.order, world.client, 1_000, RUB),
            {(K.ORDER_HOLD, o): 1_000, (K.CLIENT_BALANCE, c): -1_000},
        ),
        (
            lambda: ledger.charge(session, world.order, world.client, 5_000, RUB),
            {(K.ORDER_HOLD, o): 5_000, (K.REVENUE, ""): -5_000},
        ),
        (
            lambda: ledger.accrue_executor(session, world.order, world.executor, 3_000, RUB),
            {(K.REVENUE, ""): 3_000, (K.EXECUTOR_PAYABLE, e): -3_000},
        ),
        (
            lambda: ledger.settle_gateway(session, "yookassa", "bank", 9_000, RUB),
            {(K.CASH_DESK, "bank"): 9_000, (K.GATEWAY_CLEARING, "yookassa"): -9_000},
        ),
        (
            lambda: ledger.pay_executor(session, world.executor, 2_500, RUB, "bank"),
            {(K.EXECUTOR_PAYABLE, e): 2_500, (K.CASH_DESK, "bank"): -2_500},
        ),
        (
            lambda: ledger.cash_in(session, "cash", 700, RUB, "owner's deposit"),
            {(K.CASH_DESK, "cash"): 700, (K.OTHER_INCOME, ""): -700},
        ),
        (
            lambda: ledger.cash_out(session, "cash", 200, RUB, "courier fuel"),
            {(K.EXPENSES, ""): 200, (K.CASH_DESK, "cash"): -200},
        ),
        (
            lambda: ledger.refund(session, world.client, 4_000, RUB, Source.desk("bank")),
            {(K.CLIENT_BALANCE, c): 4_000, (K.CASH_DESK, "bank"): -4_000},
        ),
    ]
    for operation, expected in steps:
        tx = await operation()
        assert moves(tx) == expected, tx.operation
        assert ledger.transaction_is_balanced(tx)
    await session.commit()

    expected_balances = {
        (K.CLIENT_BALANCE, c): 10_000 - 6_000 + 1_000 - 4_000,
        (K.ORDER_HOLD, o): 6_000 - 1_000 - 5_000,
        (K.REVENUE, ""): 5_000 - 3_000,
        (K.EXECUTOR_PAYABLE, e): 3_000 - 2_500,
        (K.GATEWAY_CLEARING, "yookassa"): 10_000 - 9_000,
        (K.CASH_DESK, "bank"): 9_000 - 2_500 - 4_000,
        (K.CASH_DESK, "cash"): 700 - 200,
        (K.OTHER_INCOME, ""): 700,
        (K.EXPENSES, ""): 200,
    }
    for (kind, ref), amount in expected_balances.items():
        assert await ledger.balance(session, kind, ref, RUB) == amount, (kind, ref)
    events = take_pending(session)
    assert all(isinstance(e, MoneyMoved) for e in events)
    assert [e.operation for e in events if isinstance(e, MoneyMoved)] == [
        "top_up", "hold_prepayment", "release_hold", "charge", "accrue_executor",
        "settle_gateway", "pay_executor", "cash_in", "cash_out", "refund",
    ]  # fmt: skip
    assert await ledger.unbalanced_transaction_ids(session) == []


async def test_transactions_are_linked_to_what_they_are_about(
    session: AsyncSession, world: World
) -> None:
    await ledger.top_up(session, world.client, 1_000, RUB, Source.desk("cash"))
    hold = await ledger.hold_prepayment(session, world.order, world.client, 1_000, RUB)
    accrual = await ledger.accrue_executor(session, world.order, world.executor, 400, RUB)
    cashier = User(email="cashier@example.com", name="Cashier", role=StaffRole.OPERATOR,
                   password_hash="-")  # fmt: skip
    session.add(cashier)
    await session.flush()
    payout = await ledger.pay_executor(
        session, world.executor, 400, RUB, "cash", recorded_by=cashier.id, memo="paid in cash"
    )
    assert (hold.client_id, hold.order_id, hold.executor_id) == (world.client, world.order, None)
    assert (accrual.client_id, accrual.order_id, accrual.executor_id) == (
        None, world.order, world.executor,
    )  # fmt: skip
    assert (payout.executor_id, payout.order_id, payout.memo, payout.recorded_by) == (
        world.executor, None, "paid in cash", cashier.id,
    )  # fmt: skip


Spend = Callable[[AsyncSession, World], Awaitable[LedgerTransaction]]

REFUSALS: list[tuple[str, Spend, K, str, int, int]] = [
    # name, operation, account that falls short, its ref ("c"/"o"/"e" = the world's ids),
    # available, required. The client has 1000 free and 400 held, the executor is owed 300,
    # the gateway holds 1400, the bank desk 1000; the cash desk was never used.
    ("hold", lambda s, w: ledger.hold_prepayment(s, w.order, w.client, 1_001, RUB),
     K.CLIENT_BALANCE, "c", 1_000, 1_001),
    ("release", lambda s, w: ledger.release_hold(s, w.order, w.client, 401, RUB),
     K.ORDER_HOLD, "o", 400, 401),
    ("charge", lambda s, w: ledger.charge(s, w.order, w.client, 500, RUB),
     K.ORDER_HOLD, "o", 400, 500),
    ("refund over balance", lambda s, w: ledger.refund(s, w.client, 1_500, RUB,
     Source.gateway("yookassa")), K.CLIENT_BALANCE, "c", 1_000, 1_500),
    ("refund from an empty desk", lambda s, w: ledger.refund(s, w.client, 100, RUB,
     Source.desk("cash")), K.CASH_DESK, "cash", 0, 100),
    ("pay executor over payable", lambda s, w: ledger.pay_executor(s, w.executor, 301, RUB,
     "bank"), K.EXECUTOR_PAYABLE, "e", 300, 301),
    ("cash out over desk", lambda s, w: ledger.cash_out(s, "bank", 1_001, RUB, "rent"),
     K.CASH_DESK, "bank", 1_000, 1_001),
    ("settle over clearing", lambda s, w: ledger.settle_gateway(s, "yookassa", "bank", 1_401,
     RUB), K.GATEWAY_CLEARING, "yookassa", 1_400, 1_401),
    ("hold in another currency", lambda s, w: ledger.hold_prepayment(s, w.order, w.client, 1,
     "USD"), K.CLIENT_BALANCE, "c", 0, 1),
    ("release on an order never held", lambda s, w: ledger.release_hold(s, w.other_order,
     w.client, 1, RUB), K.ORDER_HOLD, "o2", 0, 1),
]  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "kind", "ref", "available", "required"),
    [row[1:] for row in REFUSALS],
    ids=[row[0] for row in REFUSALS],
)
async def test_insufficient_funds_writes_nothing(
    session: AsyncSession,
    world: World,
    operation: Spend,
    kind: K,
    ref: str,
    available: int,
    required: int,
) -> None:
    await ledger.top_up(session, world.client, 1_400, RUB, Source.gateway("yookassa"))
    await ledger.hold_prepayment(session, world.order, world.client, 400, RUB)
    await ledger.accrue_executor(session, world.order, world.executor, 300, RUB)
    await ledger.cash_in(session, "bank", 1_000, RUB, "deposit")
    await session.commit()
    before = await row_counts(session)
    take_pending(session)

    with pytest.raises(InsufficientFunds) as caught:
        await operation(session, world)

    refs = {"c": world.client, "o": world.order, "o2": world.other_order, "e": world.executor}
    expected_ref = str(refs.get(ref, ref))
    error = caught.value
    assert (error.kind, error.ref, error.available, error.required) == (
        kind, expected_ref, available, required,
    )  # fmt: skip
    assert error.shortfall == required - available
    assert f"short by {required - available}" in str(error)
    assert kind.value in str(error)
    assert await row_counts(session) == before
    assert take_pending(session) == []
    await session.commit()
    assert await row_counts(session) == before


async def test_spending_from_an_account_never_opened_creates_nothing(
    session: AsyncSession, world: World
) -> None:
    with pytest.raises(InsufficientFunds) as caught:
        await ledger.refund(session, world.client, 100, RUB, Source.desk("cash"))
    assert (caught.value.available, caught.value.shortfall) == (0, 100)
    await session.commit()
    assert await row_counts(session) == (0, 0, 0)


async def test_the_session_stays_usable_after_a_refusal(
    session: AsyncSession, world: World
) -> None:
    await ledger.top_up(session, world.client, 100, RUB, Source.desk("cash"))
    with pytest.raises(InsufficientFunds):
        await ledger.hold_prepayment(session, world.order, world.client, 101, RUB)
    await ledger.hold_prepayment(session, world.order, world.client, 100, RUB)
    await session.commit()
    assert await ledger.balance(session, K.ORDER_HOLD, world.order, RUB) == 100
    assert await ledger.balance(session, K.CLIENT_BALANCE, world.client, RUB) == 0


async def test_rollback_leaves_no_account_behind(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    # Regression: on SQLite a get-or-create SAVEPOINT that opened the transaction was
    # committed by its own RELEASE, so a rolled-back top-up left its accounts behind.
    async with sessions() as session:
        await ledger.top_up(session, world.client, 100, RUB, Source.desk("cash"))
        await session.rollback()
    async with sessions() as session:
        assert await row_counts(session) == (0, 0, 0)


async def test_the_ledger_never_commits(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with sessions() as session:
        await ledger.top_up(session, world.client, 100, RUB, Source.desk("cash"))
        await ledger.hold_prepayment(session, world.order, world.client, 60, RUB)
    async with sessions() as session:
        assert await row_counts(session) == (0, 0, 0)


@pytest.mark.parametrize("amount", [0, -100, 1.5, True, "100"])
async def test_amount_must_be_a_positive_whole_number(
    session: AsyncSession, world: World, amount: object
) -> None:
    with pytest.raises(ValueError, match="amount"):
        await ledger.top_up(session, world.client, amount, RUB, Source.desk("cash"))  # type: ignore[arg-type]
    assert await row_counts(session) == (0, 0, 0)


async def test_currency_must_be_an_iso_code(session: AsyncSession, world: World) -> None:
    with pytest.raises(ValueError, match="currency"):
        await ledger.top_up(session, world.client, 100, "rub", Source.desk("cash"))
    assert await row_counts(session) == (0, 0, 0)


def test_a_source_is_a_desk_or_a_gateway() -> None:
    assert Source.desk("cash") == Source(K.CASH_DESK, "cash")
    assert Source.gateway("yookassa") == Source(K.GATEWAY_CLEARING, "yookassa")
    with pytest.raises(ValueError):
        Source(K.REVENUE, "cash")
    with pytest.raises(ValueError):
        Source.desk("")


async def test_currencies_are_kept_apart(session: AsyncSession, world: World) -> None:
    await ledger.top_up(session, world.client, 100, RUB, Source.desk("cash"))
    await ledger.top_up(session, world.client, 7, "USD", Source.desk("cash"))
    assert await ledger.balance(session, K.CLIENT_BALANCE, world.client, RUB) == 100
    assert await ledger.balance(session, K.CLIENT_BALANCE, world.client, "USD") == 7
    assert await ledger.balance(session, K.CASH_DESK, "cash", "USD") == 7


async def test_revenue_may_go_negative_on_a_loss_making_order(
    session: AsyncSession, world: World
) -> None:
    await ledger.top_up(session, world.client, 1_000, RUB, Source.desk("cash"))
    await ledger.hold_prepayment(session, world.order, world.client, 1_000, RUB)
    await ledger.charge(session, world.order, world.client, 1_000, RUB)
    await ledger.accrue_executor(session, world.order, world.executor, 1_200, RUB)
    assert await ledger.balance(session, K.REVENUE, "", RUB) == -200
    money = await ledger.order_money(session, world.order, RUB)
    assert (money.held, money.charged, money.accrued, money.margin) == (0, 1_000, 1_200, -200)


async def test_charged_total_counts_only_final_charges_of_that_client(
    session: AsyncSession, world: World
) -> None:
    await ledger.top_up(session, world.client, 10_000, RUB, Source.desk("cash"))
    await ledger.top_up(session, world.client, 500, "USD", Source.desk("cash"))
    await ledger.top_up(session, world.other_client, 9_000, RUB, Source.desk("cash"))
    await ledger.hold_prepayment(session, world.order, world.client, 8_000, RUB)
    await ledger.charge(session, world.order, world.client, 3_000, RUB)
    await ledger.charge(session, world.order, world.client, 2_000, RUB)
    await ledger.release_hold(session, world.order, world.client, 1_000, RUB)
    await ledger.hold_prepayment(session, world.order, world.client, 500, "USD")
    await ledger.charge(session, world.order, world.client, 500, "USD")
    await ledger.hold_prepayment(session, world.other_order, world.other_client, 9_000, RUB)
    await ledger.charge(session, world.other_order, world.other_client, 9_000, RUB)
    await ledger.accrue_executor(session, world.order, world.executor, 1_000, RUB)

    assert await ledger.charged_total(session, world.client, RUB) == 5_000
    assert await ledger.charged_total(session, world.client, "USD") == 500
    assert await ledger.charged_total(session, world.other_client, RUB) == 9_000
    money = await ledger.order_money(session, world.order, RUB)
    assert (money.held, money.charged, money.accrued, money.margin) == (2_000, 5_000, 1_000, 4_000)


async def test_paid_total_is_what_the_client_gave_us_less_refunds_prepayments_included(
    session: AsyncSession, world: World
) -> None:
    await ledger.top_up(session, world.client, 500_000, RUB, Source.desk("cash"))
    await ledger.hold_prepayment(session, world.order, world.client, 500_000, RUB)
    # Just prepaid, nothing charged yet: the client has paid 5,000 ₽ all the same.
    assert await ledger.paid_total(session, world.client, RUB) == 500_000
    assert await ledger.charged_total(session, world.client, RUB) == 0
    await ledger.top_up(session, world.client, 30_000, RUB, Source.gateway("fake"))
    await ledger.refund(session, world.client, 10_000, RUB, Source.desk("cash"))
    assert await ledger.paid_total(session, world.client, RUB) == 520_000
    assert await ledger.paid_total(session, world.other_client, RUB) == 0


async def test_an_edited_entry_shows_up_as_unbalanced(session: AsyncSession, world: World) -> None:
    tx = await ledger.top_up(session, world.client, 100, RUB, Source.desk("cash"))
    assert await ledger.unbalanced_transaction_ids(session) == []
    await session.execute(
        sa.update(LedgerEntry).where(LedgerEntry.transaction_id == tx.id, LedgerEntry.amount > 0)
        .values(amount=101)
    )  # fmt: skip
    assert await ledger.unbalanced_transaction_ids(session) == [tx.id]


# --- concurrency ---------------------------------------------------------------------

ATTEMPTS = 10
EACH = 1_000
COVERED = 3  # the balance covers three attempts and a half


async def _fund_for(operation: str, session: AsyncSession, world: World) -> None:
    """Leave exactly 3.5 attempts' worth on the account the operation draws down, and
    plenty on the other side so only that account can run short."""
    funds = COVERED * EACH + EACH // 2
    if operation == "pay_executor":
        await ledger.cash_in(session, "cash", 100 * EACH, RUB, "float")
        await ledger.accrue_executor(session, world.order, world.executor, funds, RUB)
    else:
        await ledger.cash_in(session, "cash", 100 * EACH, RUB, "float")
        await ledger.top_up(session, world.client, funds, RUB, Source.gateway("yookassa"))
    await session.commit()


async def _attempt(
    operation: str, sessions: async_sessionmaker[AsyncSession], world: World
) -> bool:
    async with sessions() as session:
        try:
            if operation == "pay_executor":
                await ledger.pay_executor(session, world.executor, EACH, RUB, "cash")
            else:
                await ledger.refund(session, world.client, EACH, RUB, Source.desk("cash"))
        except InsufficientFunds:
            await session.rollback()
            return False
        # Hold the transaction open a little: without a lock, every attempt would read the
        # old balance in this window and all of them would pass.
        await asyncio.sleep(0.02)
        await session.commit()
        return True


@pytest.mark.parametrize("operation", ["pay_executor", "refund"])
async def test_concurrent_spending_never_overdraws(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    world: World,
    operation: str,
) -> None:
    await _fund_for(operation, session, world)
    results = await asyncio.gather(*[_attempt(operation, sessions, world) for _ in range(ATTEMPTS)])
    assert results.count(True) == COVERED

    async with sessions() as check:
        kind, ref = (
            (K.EXECUTOR_PAYABLE, world.executor)
            if operation == "pay_executor"
            else (K.CLIENT_BALANCE, world.client)
        )
        assert await ledger.balance(check, kind, ref, RUB) == EACH // 2
        assert await ledger.balance(check, K.CASH_DESK, "cash", RUB) == (100 - COVERED) * EACH
        assert await ledger.unbalanced_transaction_ids(check) == []


async def test_concurrent_first_top_ups_share_one_account(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async def one() -> None:
        async with sessions() as session:
            await ledger.top_up(session, world.client, EACH, RUB, Source.gateway("yookassa"))
            await asyncio.sleep(0.02)
            await session.commit()

    await asyncio.gather(*[one() for _ in range(ATTEMPTS)])
    async with sessions() as check:
        accounts = await check.scalar(
            sa.select(sa.func.count()).where(LedgerAccount.kind == K.CLIENT_BALANCE)
        )
        assert accounts == 1
        assert await row_counts(check) == (2, ATTEMPTS, 2 * ATTEMPTS)
        balance = await ledger.balance(check, K.CLIENT_BALANCE, world.client, RUB)
        assert balance == ATTEMPTS * EACH


async def test_a_reversed_charge_returns_to_the_balance_and_lowers_the_charged_total(
    session: AsyncSession, world: World
) -> None:
    await ledger.top_up(session, world.client, 10_000, RUB, Source.desk("cash"))
    await ledger.hold_prepayment(session, world.order, world.client, 10_000, RUB)
    await ledger.charge(session, world.order, world.client, 10_000, RUB)
    await ledger.reverse_charge(session, world.order, world.client, 4_000, RUB, memo="спор")

    assert await ledger.charged_total(session, world.client, RUB) == 6_000
    assert await ledger.balance(session, AccountKind.CLIENT_BALANCE, world.client, RUB) == 4_000
    assert await ledger.balance(session, AccountKind.REVENUE, "", RUB) == 6_000
    assert (await ledger.order_money(session, world.order, RUB)).charged == 6_000


async def test_no_more_than_the_charge_can_be_reversed(session: AsyncSession, world: World) -> None:
    await ledger.top_up(session, world.client, 5_000, RUB, Source.desk("cash"))
    await ledger.hold_prepayment(session, world.order, world.client, 5_000, RUB)
    await ledger.charge(session, world.order, world.client, 5_000, RUB)
    with pytest.raises(InsufficientFunds) as refused:
        await ledger.reverse_charge(session, world.order, world.client, 5_001, RUB)
    assert refused.value.shortfall == 1
    assert await ledger.charged_total(session, world.client, RUB) == 5_000
