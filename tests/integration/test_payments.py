"""Taking the client's money on a real database: payments through the fake gateway and the
manual provider, money recorded by a manager, paying from the balance, and what each does
to the order and the ledger."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.payments import FakePaymentProvider, ManualPaymentProvider
from core import exchange, ledger, orders, payments
from core.events import DomainEvent, LocalPublisher, OrderTransitioned, PaymentReceived
from core.ledger import OrderMoney, Source
from core.models import (
    AccountKind,
    DiscountTier,
    Executor,
    LedgerEntry,
    LedgerTransaction,
    Order,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from core.payments import Due, DuePurpose, PaymentRequest, ProviderPayment
from core.transitions import Actor, NotYourOrder
from core.uow import UnitOfWork
from tests import builders

RUB = "RUB"
BASE_URL = "http://pult.test"
PRICE = 500_000  # a student paper: 50 % prepayment
PREPAYMENT = 250_000
EXECUTOR_PRICE = 300_000
S = OrderStatus
K = AccountKind


# --- building orders --------------------------------------------------------------------


async def awaiting_payment(session: AsyncSession) -> tuple[Order, Actor]:
    """A student paper quoted at 5 000 ₽ and accepted: 2 500 ₽ prepayment due."""
    order, manager = await builders.paper_order(session)
    await orders.quote_order(session, order, manager, PRICE)
    await orders.accept_quote(session, order, manager)
    return order, manager


async def ready(session: AsyncSession, order: Order, manager: Actor) -> Executor:
    """Take a paid order through the work to `ready`, done by an author at 3 000 ₽."""
    author = await builders.executor(session)
    await exchange.assign_executor(session, order, manager, author, price=EXECUTOR_PRICE)
    worker = Actor.executor(author.id)
    await orders.start_work(session, order, worker)
    await orders.submit_result(session, order, worker)
    if order.status is S.IN_REVIEW:
        await orders.approve_result(session, order, manager)
    assert order.status is S.READY
    return author


async def cash(session: AsyncSession, order: Order, amount: int, manager: Actor) -> Payment:
    return await payments.record_payment(
        session, order, amount, PaymentMethod.CASH, provider="manual", recorded_by=manager.user_id
    )


# --- reading the books ------------------------------------------------------------------


async def operations(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(LedgerTransaction.operation, func.count()).group_by(LedgerTransaction.operation)
    )
    return {operation: count for operation, count in rows}


async def free(session: AsyncSession, order: Order) -> int:
    return await ledger.balance(session, K.CLIENT_BALANCE, order.client_id, RUB)


async def money(session: AsyncSession, order: Order) -> OrderMoney:
    return await ledger.order_money(session, order.id, RUB)


async def assert_books_balance(session: AsyncSession) -> None:
    assert await ledger.unbalanced_transaction_ids(session) == []
    assert await session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0))) == 0


class Collector:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self.publisher = LocalPublisher()
        self.publisher.subscribe(self._on_event)

    async def _on_event(self, event: DomainEvent) -> None:
        self.events.append(event)


# --- what is due ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "held", "charged", "expected"),
    [
        (S.QUOTED, 0, 0, Due(0, RUB, DuePurpose.NOTHING)),
        (S.AWAITING_PAYMENT, 0, 0, Due(PREPAYMENT, RUB, DuePurpose.PREPAYMENT)),
        (S.AWAITING_PAYMENT, 100_000, 0, Due(150_000, RUB, DuePurpose.PREPAYMENT)),
        (S.AWAITING_PAYMENT, PREPAYMENT, 0, Due(0, RUB, DuePurpose.NOTHING)),
        (S.PAID, PREPAYMENT, 0, Due(0, RUB, DuePurpose.NOTHING)),
        (S.IN_PROGRESS, PREPAYMENT, 0, Due(0, RUB, DuePurpose.NOTHING)),
        (S.READY, PREPAYMENT, 0, Due(PRICE - PREPAYMENT, RUB, DuePurpose.FINAL)),
        (S.READY, 0, 0, Due(PRICE, RUB, DuePurpose.FINAL)),
        (S.READY, 0, PRICE, Due(0, RUB, DuePurpose.NOTHING)),  # ready again after a revision
        (S.DELIVERED, 0, 0, Due(0, RUB, DuePurpose.NOTHING)),
    ],
)
def test_amount_due_counts_what_is_held_and_charged(
    status: OrderStatus, held: int, charged: int, expected: Due
) -> None:
    order = Order(status=status, currency=RUB, client_price=PRICE, prepayment_amount=PREPAYMENT)
    assert payments.amount_due(order, OrderMoney(held, charged, 0)) == expected


# --- through the fake gateway ---------------------------------------------------------------


async def test_a_prepayment_through_the_fake_gateway_marks_the_order_paid(
    session: AsyncSession,
) -> None:
    order, _ = await awaiting_payment(session)
    fake = FakePaymentProvider(BASE_URL + "/")

    payment = await payments.start_payment(session, order, fake, return_url="https://t.me/bot")
    assert payment.status is PaymentStatus.PENDING
    assert (payment.amount, payment.method, payment.provider) == (PREPAYMENT, "gateway", "fake")
    assert payment.external_id is not None and payment.external_id.startswith("fake-")
    assert payment.confirmation_url == f"{BASE_URL}/pay/fake/{payment.external_id}"
    assert order.status is S.AWAITING_PAYMENT
    assert await operations(session) == {}

    fake.succeed(payment.external_id)
    confirmed = await payments.confirm_payment(session, fake, payment.external_id)

    assert confirmed is payment
    assert payment.status is PaymentStatus.SUCCEEDED and payment.confirmed_at is not None
    assert order.status is S.PAID
    assert await money(session, order) == OrderMoney(held=PREPAYMENT, charged=0, accrued=0)
    assert await free(session, order) == 0
    assert await ledger.balance(session, K.GATEWAY_CLEARING, "fake", RUB) == PREPAYMENT
    assert await operations(session) == {"top_up": 1, "hold_prepayment": 1}
    [top_up] = await session.scalars(
        select(LedgerTransaction).where(LedgerTransaction.operation == "top_up")
    )
    assert top_up.payment_id == payment.id
    await assert_books_balance(session)


async def test_the_gateway_is_asked_with_the_order_in_the_description(
    session: AsyncSession,
) -> None:
    order, _ = await awaiting_payment(session)
    fake = FakePaymentProvider(BASE_URL)
    payment = await payments.start_payment(session, order, fake, return_url="https://t.me/bot")
    assert payment.external_id is not None
    stored = fake.get(payment.external_id)

    assert stored is not None
    assert stored.request.description == f"Предоплата по заказу №{order.number}"
    assert stored.request.return_url == "https://t.me/bot"
    assert stored.request.idempotence_key == payments.idempotence_key(payment)

    other, _ = await awaiting_payment(session)
    english = await payments.start_payment(session, other, fake, locale="en")
    assert english.external_id is not None
    stored = fake.get(english.external_id)
    assert stored is not None
    assert stored.request.description == f"Prepayment for order №{other.number}"


async def test_a_second_confirmation_changes_nothing(session: AsyncSession) -> None:
    order, _ = await awaiting_payment(session)
    fake = FakePaymentProvider(BASE_URL)
    payment = await payments.start_payment(session, order, fake)
    assert payment.external_id is not None
    fake.succeed(payment.external_id)
    await payments.confirm_payment(session, fake, payment.external_id)
    confirmed_at = payment.confirmed_at
    books = await operations(session)

    again = await payments.confirm_payment(session, fake, payment.external_id)

    assert again is payment
    assert payment.confirmed_at == confirmed_at
    assert await operations(session) == books
    assert await money(session, order) == OrderMoney(held=PREPAYMENT, charged=0, accrued=0)


async def test_a_payment_confirmed_twice_at_once_is_booked_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    publisher = LocalPublisher()
    fake = FakePaymentProvider(BASE_URL)
    async with UnitOfWork(sessions, publisher) as uow:
        order, _ = await awaiting_payment(uow.session)
        payment = await payments.start_payment(uow.session, order, fake)
        await uow.commit()
    assert payment.external_id is not None
    fake.succeed(payment.external_id)
    external_id = payment.external_id

    async def confirm() -> None:
        async with UnitOfWork(sessions, publisher) as uow:
            await payments.confirm_payment(uow.session, fake, external_id)
            await uow.commit()

    await asyncio.gather(confirm(), confirm())

    async with sessions() as session:
        assert await operations(session) == {"top_up": 1, "hold_prepayment": 1}
        assert (await orders.get_order(session, order.id)).status is S.PAID
        await assert_books_balance(session)


async def test_a_pending_payment_is_reused(session: AsyncSession) -> None:
    order, manager = await awaiting_payment(session)
    fake = FakePaymentProvider(BASE_URL)

    first = await payments.start_payment(session, order, fake)
    second = await payments.start_payment(session, order, fake)

    assert second is first
    assert second.confirmation_url == first.confirmation_url
    assert await session.scalar(select(func.count(Payment.id))) == 1

    # Part of the prepayment came in another way: the rest is a new amount, a new payment.
    await cash(session, order, 100_000, manager)
    third = await payments.start_payment(session, order, fake)
    assert third.id != first.id
    assert third.amount == PREPAYMENT - 100_000
    assert third.external_id != first.external_id


async def test_a_canceled_gateway_payment_moves_no_money(session: AsyncSession) -> None:
    order, _ = await awaiting_payment(session)
    fake = FakePaymentProvider(BASE_URL)
    payment = await payments.start_payment(session, order, fake)
    assert payment.external_id is not None

    fake.cancel(payment.external_id)
    await payments.confirm_payment(session, fake, payment.external_id)

    assert payment.status is PaymentStatus.CANCELED and payment.confirmed_at is None
    assert order.status is S.AWAITING_PAYMENT
    assert await operations(session) == {}
    retry = await payments.start_payment(session, order, fake)
    assert retry.id != payment.id and retry.status is PaymentStatus.PENDING


async def test_a_payment_still_pending_at_the_gateway_stays_pending(
    session: AsyncSession,
) -> None:
    order, _ = await awaiting_payment(session)
    fake = FakePaymentProvider(BASE_URL)
    payment = await payments.start_payment(session, order, fake)
    assert payment.external_id is not None

    await payments.confirm_payment(session, fake, payment.external_id)

    assert payment.status is PaymentStatus.PENDING
    assert await operations(session) == {}


async def test_confirming_an_unknown_payment_returns_none(session: AsyncSession) -> None:
    assert await payments.confirm_payment(session, FakePaymentProvider(BASE_URL), "fake-x") is None


class WrongAmountGateway:
    """A gateway that reports another amount than it was asked for."""

    name = "liar"

    async def create(self, request: PaymentRequest) -> ProviderPayment:
        return ProviderPayment(f"liar-{request.payment_id}", None, PaymentStatus.PENDING)

    async def fetch(self, external_id: str) -> ProviderPayment:
        return ProviderPayment(external_id, None, PaymentStatus.SUCCEEDED, amount=1, currency=RUB)


async def test_a_gateway_reporting_another_amount_books_nothing(session: AsyncSession) -> None:
    order, _ = await awaiting_payment(session)
    gateway = WrongAmountGateway()
    payment = await payments.start_payment(session, order, gateway)
    assert payment.external_id is not None

    with pytest.raises(payments.PaymentMismatch):
        await payments.confirm_payment(session, gateway, payment.external_id)

    assert payment.status is PaymentStatus.PENDING
    assert await operations(session) == {}


async def test_payment_events_are_published_after_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    collector = Collector()
    fake = FakePaymentProvider(BASE_URL)
    async with UnitOfWork(sessions, collector.publisher) as uow:
        order, _ = await awaiting_payment(uow.session)
        payment = await payments.start_payment(uow.session, order, fake)
        await uow.commit()
    assert payment.external_id is not None
    fake.succeed(payment.external_id)
    collector.events.clear()

    async with UnitOfWork(sessions, collector.publisher) as uow:
        await payments.confirm_payment(uow.session, fake, payment.external_id)
        assert collector.events == []
        await uow.commit()

    [received] = [e for e in collector.events if isinstance(e, PaymentReceived)]
    assert received == replace(
        received,
        payment_id=payment.id,
        order_id=order.id,
        client_id=order.client_id,
        amount=PREPAYMENT,
        currency=RUB,
        method="gateway",
        provider="fake",
    )
    moves = [e for e in collector.events if isinstance(e, OrderTransitioned)]
    assert [(e.action, e.to_status, e.actor_role) for e in moves] == [
        ("mark_paid", "paid", "system")
    ]


# --- recorded by a manager ------------------------------------------------------------------


async def test_partial_cash_payments_add_up_to_the_prepayment(session: AsyncSession) -> None:
    order, manager = await awaiting_payment(session)

    first = await cash(session, order, 100_000, manager)
    assert order.status is S.AWAITING_PAYMENT
    assert (await money(session, order)).held == 100_000
    assert (await payments.due_now(session, order)).amount == PREPAYMENT - 100_000

    second = await cash(session, order, 150_000, manager)

    assert order.status is S.PAID
    assert first.id != second.id
    assert (first.status, first.method, first.recorded_by) == (
        PaymentStatus.SUCCEEDED,
        PaymentMethod.CASH,
        manager.user_id,
    )
    assert (await money(session, order)).held == PREPAYMENT
    assert await ledger.balance(session, K.CASH_DESK, "cash", RUB) == PREPAYMENT
    assert await operations(session) == {"top_up": 2, "hold_prepayment": 2}
    await assert_books_balance(session)


@pytest.mark.parametrize(
    ("method", "desk"),
    [(PaymentMethod.CARD, "card"), (PaymentMethod.BANK_TRANSFER, "bank")],
)
async def test_recorded_money_lands_on_the_methods_desk(
    session: AsyncSession, method: PaymentMethod, desk: str
) -> None:
    order, manager = await awaiting_payment(session)
    await payments.record_payment(
        session, order, PREPAYMENT, method, provider="manual", recorded_by=manager.user_id
    )
    assert await ledger.balance(session, K.CASH_DESK, desk, RUB) == PREPAYMENT
    assert order.status is S.PAID


async def test_an_overpayment_stays_on_the_clients_balance(session: AsyncSession) -> None:
    order, manager = await awaiting_payment(session)

    await cash(session, order, 400_000, manager)

    assert order.status is S.PAID
    assert (await money(session, order)).held == PREPAYMENT
    assert await free(session, order) == 400_000 - PREPAYMENT

    # Nothing is due while the work goes on: more money only adds to the balance.
    await cash(session, order, 10_000, manager)
    assert (await money(session, order)).held == PREPAYMENT
    assert await free(session, order) == 400_000 - PREPAYMENT + 10_000
    await assert_books_balance(session)


async def test_the_final_payment_charges_accrues_and_delivers(session: AsyncSession) -> None:
    order, manager = await awaiting_payment(session)
    await cash(session, order, PREPAYMENT, manager)
    author = await ready(session, order, manager)
    due = await payments.due_now(session, order)
    assert due == Due(PRICE - PREPAYMENT, RUB, DuePurpose.FINAL)

    await payments.record_payment(
        session, order, due.amount, PaymentMethod.CARD, provider="manual", recorded_by=None
    )

    assert order.status is S.DELIVERED and order.delivered_at is not None
    assert await money(session, order) == OrderMoney(held=0, charged=PRICE, accrued=EXECUTOR_PRICE)
    assert await ledger.balance(session, K.EXECUTOR_PAYABLE, author.id, RUB) == EXECUTOR_PRICE
    assert await ledger.balance(session, K.REVENUE, "", RUB) == PRICE - EXECUTOR_PRICE
    assert await free(session, order) == 0
    assert await ledger.charged_total(session, order.client_id, RUB) == PRICE
    await assert_books_balance(session)


async def test_delivering_with_a_debt_charges_the_hold_and_records_the_debt(
    session: AsyncSession,
) -> None:
    # It charged nothing: the prepayment stayed held and the executor was owed nothing.
    order, manager = await awaiting_payment(session)
    await cash(session, order, PREPAYMENT, manager)
    author = await ready(session, order, manager)

    await orders.deliver_order(session, order, manager)

    assert order.status is S.DELIVERED
    assert await money(session, order) == OrderMoney(
        held=0, charged=PREPAYMENT, accrued=EXECUTOR_PRICE
    )
    assert await ledger.balance(session, K.EXECUTOR_PAYABLE, author.id, RUB) == EXECUTOR_PRICE
    assert payments.debt_of(order, await money(session, order)) == PRICE - PREPAYMENT
    assert await payments.due_now(session, order) == Due(PRICE - PREPAYMENT, RUB, DuePurpose.DEBT)
    await assert_books_balance(session)


async def test_handing_over_puts_the_clients_free_balance_towards_the_debt(
    session: AsyncSession,
) -> None:
    # A balance of 10,000 ₽ and a debt of 10,000 ₽ on the same client, charged 0.
    order, manager = await awaiting_payment(session)
    await cash(session, order, PREPAYMENT, manager)
    await ready(session, order, manager)
    await ledger.top_up(session, order.client_id, 1_000_000, RUB, Source.desk("cash"))

    await orders.deliver_order(session, order, manager)

    assert await money(session, order) == OrderMoney(held=0, charged=PRICE, accrued=EXECUTOR_PRICE)
    assert await free(session, order) == 1_000_000 - (PRICE - PREPAYMENT)
    assert payments.debt_of(order, await money(session, order)) == 0
    await assert_books_balance(session)


async def test_money_recorded_after_a_handover_with_a_debt_settles_it(
    session: AsyncSession,
) -> None:
    # It stayed free balance: the order never settled and never counted for the discount.
    order, manager = await awaiting_payment(session)
    await cash(session, order, PREPAYMENT, manager)
    await ready(session, order, manager)
    await orders.deliver_order(session, order, manager)
    await orders.close_order(session, order, manager)
    session.add(DiscountTier(currency=RUB, threshold=PRICE, discount_bp=500))
    await session.flush()
    assert await orders.client_discount_bp(session, order.client_id, RUB) == 0

    await cash(session, order, 100_000, manager)  # part of the debt
    assert (await money(session, order)).charged == PREPAYMENT + 100_000
    await cash(session, order, PRICE - PREPAYMENT - 100_000 + 70_000, manager)  # the rest, and more

    assert order.status is S.CLOSED
    assert await money(session, order) == OrderMoney(held=0, charged=PRICE, accrued=EXECUTOR_PRICE)
    assert await free(session, order) == 70_000  # the overpayment stays free
    assert await payments.due_now(session, order) == Due(0, RUB, DuePurpose.NOTHING)
    assert await ledger.charged_total(session, order.client_id, RUB) == PRICE
    assert await orders.client_discount_bp(session, order.client_id, RUB) == 500
    await assert_books_balance(session)


async def test_a_kind_without_prepayment_is_paid_in_full_when_ready(
    session: AsyncSession,
) -> None:
    manager = Actor.staff(await builders.staff(session))
    buyer = await builders.client(session)
    kind = await builders.kind(session, "print_job")
    order = await orders.create_order(session, kind=kind, client_id=buyer.id, actor=manager)
    await orders.quote_order(session, order, manager, 450_000)
    await orders.accept_quote(session, order, manager)
    assert order.status is S.PAID
    with pytest.raises(payments.NothingDue):
        await payments.start_payment(session, order, FakePaymentProvider(BASE_URL))
    await ready(session, order, manager)
    fake = FakePaymentProvider(BASE_URL)

    payment = await payments.start_payment(session, order, fake)
    assert payment.amount == 450_000 and payment.external_id is not None
    fake.succeed(payment.external_id)
    await payments.confirm_payment(session, fake, payment.external_id)

    assert order.status is S.CLOSED  # a print job has no guarantee period
    assert await money(session, order) == OrderMoney(held=0, charged=450_000, accrued=300_000)
    await assert_books_balance(session)


async def test_the_same_gateway_payment_recorded_twice_is_booked_once(
    session: AsyncSession,
) -> None:
    order, _ = await awaiting_payment(session)

    async def record() -> Payment:
        return await payments.record_payment(
            session, order, PREPAYMENT, PaymentMethod.GATEWAY,
            provider="yookassa", recorded_by=None, external_id="2f1e-0001",
        )  # fmt: skip

    first = await record()
    second = await record()

    assert second.id == first.id
    assert await operations(session) == {"top_up": 1, "hold_prepayment": 1}
    assert await ledger.balance(session, K.GATEWAY_CLEARING, "yookassa", RUB) == PREPAYMENT


async def test_recording_needs_a_positive_whole_amount_and_no_balance_method(
    session: AsyncSession,
) -> None:
    order, manager = await awaiting_payment(session)
    for amount in (0, -5, 1.5, True):
        with pytest.raises(ValueError):
            await cash(session, order, amount, manager)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await payments.record_payment(
            session, order, 100, PaymentMethod.BALANCE, provider="manual", recorded_by=None
        )
    assert await session.scalar(select(func.count(Payment.id))) == 0


async def test_money_for_a_cancelled_order_stays_on_the_balance(session: AsyncSession) -> None:
    order, manager = await awaiting_payment(session)
    fake = FakePaymentProvider(BASE_URL)
    payment = await payments.start_payment(session, order, fake)
    assert payment.external_id is not None
    await orders.cancel_order(session, order, manager, "the client changed their mind")

    # The client paid the link they still had open.
    fake.succeed(payment.external_id)
    await payments.confirm_payment(session, fake, payment.external_id)

    assert payment.status is PaymentStatus.SUCCEEDED
    assert order.status is S.CANCELLED
    assert await free(session, order) == PREPAYMENT
    assert (await money(session, order)).held == 0


async def test_a_hold_that_already_covers_a_lower_price_is_settled_on_apply(
    session: AsyncSession,
) -> None:
    order, manager = await awaiting_payment(session)
    await cash(session, order, 100_000, manager)  # 1 000 ₽ of the prepayment held ...
    await orders.reopen_quote(session, order, manager)
    await orders.quote_order(session, order, manager, 80_000)  # ... and the price is now 800 ₽
    await orders.accept_quote(session, order, manager)
    assert not (await payments.due_now(session, order)).is_due

    assert await payments.apply_to_order(session, order) == payments.Applied(marked_paid=True)
    assert order.status is S.PAID
    await ready(session, order, manager)
    assert not (await payments.due_now(session, order)).is_due

    applied = await payments.apply_to_order(session, order)

    assert applied == payments.Applied(charged=80_000, delivered=True)
    assert order.status is S.DELIVERED
    assert await money(session, order) == OrderMoney(held=0, charged=80_000, accrued=EXECUTOR_PRICE)
    assert await free(session, order) == 100_000 - 80_000
    await assert_books_balance(session)


# --- the manual provider ------------------------------------------------------------------


async def test_a_manual_request_is_completed_by_the_managers_entry(session: AsyncSession) -> None:
    order, manager = await awaiting_payment(session)
    manual = ManualPaymentProvider()

    request = await payments.start_payment(session, order, manual)
    assert request.confirmation_url is None
    assert request.external_id == f"manual-{request.id}"
    assert await payments.start_payment(session, order, manual) is request

    # Asking the manual provider never confirms anything: only a manager can.
    await payments.confirm_payment(session, manual, request.external_id)
    assert request.status is PaymentStatus.PENDING
    assert await operations(session) == {}

    recorded = await cash(session, order, PREPAYMENT, manager)

    assert recorded.id == request.id
    assert (recorded.status, recorded.method) == (PaymentStatus.SUCCEEDED, PaymentMethod.CASH)
    assert recorded.recorded_by == manager.user_id
    assert order.status is S.PAID
    assert await session.scalar(select(func.count(Payment.id))) == 1


# --- from the balance ---------------------------------------------------------------------


async def test_a_balance_that_covers_the_prepayment_pays_it(session: AsyncSession) -> None:
    order, _ = await awaiting_payment(session)
    await ledger.top_up(session, order.client_id, 300_000, RUB, Source.desk("cash"))

    payment = await payments.pay_from_balance(session, order, Actor.client(order.client_id))

    assert payment is not None
    assert (payment.method, payment.provider, payment.amount) == (
        PaymentMethod.BALANCE,
        "balance",
        PREPAYMENT,
    )
    assert payment.status is PaymentStatus.SUCCEEDED
    assert order.status is S.PAID
    assert await free(session, order) == 300_000 - PREPAYMENT
    assert await operations(session) == {"top_up": 1, "hold_prepayment": 1}


async def test_a_balance_that_falls_short_pays_nothing(session: AsyncSession) -> None:
    order, _ = await awaiting_payment(session)
    await ledger.top_up(session, order.client_id, PREPAYMENT - 1, RUB, Source.desk("cash"))

    assert await payments.pay_from_balance(session, order, Actor.client(order.client_id)) is None

    assert order.status is S.AWAITING_PAYMENT
    assert await free(session, order) == PREPAYMENT - 1
    assert await session.scalar(select(func.count(Payment.id))) == 0


async def test_a_prepayment_overpaid_earlier_pays_the_final_amount(
    session: AsyncSession,
) -> None:
    order, manager = await awaiting_payment(session)
    await cash(session, order, PRICE, manager)
    await ready(session, order, manager)

    payment = await payments.pay_from_balance(session, order, manager)

    assert payment is not None and payment.amount == PRICE - PREPAYMENT
    assert payment.recorded_by == manager.user_id
    assert order.status is S.DELIVERED
    assert await money(session, order) == OrderMoney(held=0, charged=PRICE, accrued=EXECUTOR_PRICE)
    assert await free(session, order) == 0
    await assert_books_balance(session)


async def test_only_the_orders_client_or_staff_pay_from_the_balance(
    session: AsyncSession,
) -> None:
    order, _ = await awaiting_payment(session)
    stranger = await builders.client(session, "Иван Петров")
    author = await builders.executor(session)
    for actor in (Actor.client(stranger.id), Actor.executor(author.id)):
        with pytest.raises(NotYourOrder):
            await payments.pay_from_balance(session, order, actor)


# --- nothing due ----------------------------------------------------------------------------


async def test_nothing_due_is_a_clear_refusal(session: AsyncSession) -> None:
    order, manager = await builders.paper_order(session)
    fake = FakePaymentProvider(BASE_URL)
    client = Actor.client(order.client_id)

    with pytest.raises(payments.NothingDue) as refused:
        await payments.start_payment(session, order, fake)
    assert refused.value.reason == "nothing_due"
    assert refused.value.user_message == "There is nothing to pay for this order right now."

    await orders.quote_order(session, order, manager, PRICE)
    await orders.accept_quote(session, order, client)
    await cash(session, order, PREPAYMENT, manager)
    assert order.status is S.PAID
    with pytest.raises(payments.NothingDue):
        await payments.start_payment(session, order, fake)
    with pytest.raises(payments.NothingDue):
        await payments.pay_from_balance(session, order, client)
    assert await session.scalar(select(func.count(Payment.id))) == 1
