"""Taking the client's money: what an order owes now, payments through a provider (a gateway,
or a manager who sends the details), money a manager records, paying from the balance, and
applying money to the order (hold it, mark the order paid, or charge and deliver).

Gateways implement `PaymentProvider` (adapters in bots/payments). A webhook body is never
trusted: `confirm_payment` asks the provider again. See docs/money.md, "Taking payments"."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger, orders
from core.db import utcnow
from core.events import PaymentCanceled, PaymentReceived, record
from core.i18n import N_, gettext
from core.ledger import OrderMoney, Source
from core.models import (
    AccountKind,
    ActorRole,
    Order,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from core.transitions import Actor, NotYourOrder

# Where money recorded by a manager lands: the cash desk of each method.
DESKS = {
    PaymentMethod.CASH: "cash",
    PaymentMethod.CARD: "card",
    PaymentMethod.BANK_TRANSFER: "bank",
}
# The provider name of payments made from the client's own balance (no money comes in).
BALANCE_PROVIDER = "balance"


# --- the provider port ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """What we ask a provider to collect. `idempotence_key` is the same on every retry for
    one payment row, so a repeated request never creates a second charge at the gateway."""

    payment_id: int
    amount: int  # minor units
    currency: str
    description: str
    return_url: str | None
    idempotence_key: str


@dataclass(frozen=True, slots=True)
class ProviderPayment:
    """The provider's view of a payment. A provider that reports the amount gets it checked
    against ours before any money is booked."""

    external_id: str
    confirmation_url: str | None  # where the client pays; None when a manager sends details
    status: PaymentStatus
    amount: int | None = None
    currency: str | None = None


class PaymentProvider(Protocol):
    """A way for the client to pay: YooKassa, Telegram Payments, the fake gateway, a manager
    with bank details. Adapters raise `ProviderError` when the provider fails or refuses."""

    name: str

    async def create(self, request: PaymentRequest) -> ProviderPayment: ...

    async def fetch(self, external_id: str) -> ProviderPayment:
        """The payment's state as the provider knows it now: how webhooks are verified."""
        ...


class ProviderError(Exception):
    """The provider is unreachable, refused the request or does not know the payment."""

    user_message = N_("The payment service is not available right now. Please try again later.")


class PaymentRefused(Exception):
    """A payment rule refused the action; `reason` is a stable code, `user_message` a
    message id the outer layers translate for the person who asked."""

    reason = "payment"
    user_message = N_("The payment cannot be taken.")


class NothingDue(PaymentRefused):
    reason = "nothing_due"
    user_message = N_("There is nothing to pay for this order right now.")


class PaymentMismatch(PaymentRefused):
    """The provider reports another amount, currency or id than we asked for: no money is
    booked until a manager looks."""

    reason = "provider_mismatch"
    user_message = N_("The payment needs a manager's check; we will contact you.")


# --- what is due --------------------------------------------------------------------------


class DuePurpose(StrEnum):
    NOTHING = "nothing"
    PREPAYMENT = "prepayment"  # the order awaits its prepayment
    FINAL = "final"  # the result is ready; the rest of the price is paid before delivery
    DEBT = "debt"  # handed over with part of the price unpaid: the client's debt


DESCRIPTIONS = {
    DuePurpose.PREPAYMENT: N_("Prepayment for order №{number}"),
    DuePurpose.FINAL: N_("Payment for order №{number}"),
    DuePurpose.DEBT: N_("Payment of the debt for order №{number}"),
}


@dataclass(frozen=True, slots=True)
class Due:
    amount: int
    currency: str
    purpose: DuePurpose

    @property
    def is_due(self) -> bool:
        return self.amount > 0


def debt_of(order: Order, money: OrderMoney) -> int:
    """What the client still owes for an order already handed over (0 before the handover
    and once the order is cancelled)."""
    if order.delivered_at is None or order.status is OrderStatus.CANCELLED:
        return 0
    return max((order.client_price or 0) - money.charged - money.held, 0)


def amount_due(order: Order, money: OrderMoney) -> Due:
    """What the client must pay now: the rest of the prepayment while the order awaits it,
    the rest of the price when the result is ready, the debt of an order handed over
    unpaid; else nothing. Money already held or charged for the order counts, so partial
    payments add up."""
    if order.status is OrderStatus.AWAITING_PAYMENT:
        rest = order.prepayment_amount - money.held
        purpose = DuePurpose.PREPAYMENT
    elif order.status is OrderStatus.READY and order.client_price is not None:
        rest = order.client_price - money.charged - money.held
        purpose = DuePurpose.FINAL
    else:
        rest = debt_of(order, money)
        purpose = DuePurpose.DEBT
    if rest <= 0:
        return Due(0, order.currency, DuePurpose.NOTHING)
    return Due(rest, order.currency, purpose)


async def due_now(session: AsyncSession, order: Order) -> Due:
    return amount_due(order, await ledger.order_money(session, order.id, order.currency))


# --- the services ------------------------------------------------------------------------


async def start_payment(
    session: AsyncSession,
    order: Order,
    provider: PaymentProvider,
    *,
    return_url: str | None = None,
    locale: str | None = None,
) -> Payment:
    """A pending payment for what the order owes, with the provider's link (if it has one).
    A still-pending payment for the same amount is reused rather than doubled."""
    due = await due_now(session, order)
    if not due.is_due:
        raise NothingDue(f"order {order.number} owes nothing now (status {order.status})")
    payment = await _pending(session, order, provider.name, due.amount)
    if payment is not None and payment.external_id is not None:
        return payment
    if payment is None:
        payment = Payment(
            client_id=order.client_id,
            order_id=order.id,
            provider=provider.name,
            method=PaymentMethod.GATEWAY,
            amount=due.amount,
            currency=due.currency,
            status=PaymentStatus.PENDING,
        )
        session.add(payment)
        await session.flush()
    description = gettext(DESCRIPTIONS[due.purpose], locale).format(number=order.number)
    request = PaymentRequest(
        payment.id, due.amount, due.currency, description, return_url, idempotence_key(payment)
    )
    remote = await provider.create(request)
    if remote.status is PaymentStatus.CANCELED:
        raise ProviderError(f"{provider.name} refused payment {payment.id}")
    payment.external_id = remote.external_id
    payment.confirmation_url = remote.confirmation_url
    await session.flush()
    return payment


def idempotence_key(payment: Payment) -> str:
    # The creation second keeps keys apart when a reset database hands out ids again.
    return f"pult-{payment.id}-{int(payment.created_at.timestamp())}"


async def record_payment(
    session: AsyncSession,
    order: Order,
    amount: int,
    method: PaymentMethod,
    *,
    provider: str,
    recorded_by: int | None,
    external_id: str | None = None,
) -> Payment:
    """Money that came in: a manager records cash, card or a bank transfer (provider
    "manual"), or code records a gateway payment it has verified. Tops up the client's
    balance from the method's desk (or the gateway's clearing account) and applies it to
    the order. The same `external_id` recorded twice books the money once."""
    if method is PaymentMethod.BALANCE:
        raise ValueError("money from the client's balance goes through pay_from_balance")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"amount must be a positive whole number of minor units, got {amount!r}")
    if external_id is not None:
        payment = await _by_external_id(session, provider, external_id)
    elif method is not PaymentMethod.GATEWAY:
        # The client asked to pay this amount and a manager sent the details: that request
        # is now paid. (Never a gateway's row: its link may still be paid at the gateway.)
        payment = await _pending(session, order, provider, amount)
    else:
        payment = None
    values: dict[str, Any] = {"method": method, "recorded_by": recorded_by}
    if payment is None:
        payment = Payment(
            client_id=order.client_id,
            order_id=order.id,
            provider=provider,
            external_id=external_id,
            amount=amount,
            currency=order.currency,
            status=PaymentStatus.SUCCEEDED,
            confirmed_at=utcnow(),
            **values,
        )
        session.add(payment)
        await session.flush()
    elif (payment.order_id, payment.amount, payment.currency) != (order.id, amount, order.currency):
        raise PaymentMismatch(
            f"payment {payment.id} is {payment.amount} {payment.currency} for order "
            f"{payment.order_id}, not {amount} {order.currency} for order {order.id}"
        )
    elif not await _move(session, payment, PaymentStatus.SUCCEEDED, **values):
        return payment  # recorded before
    source = Source.gateway(provider) if method is PaymentMethod.GATEWAY else _desk(method)
    await _take_in(session, payment, order, source)
    return payment


async def confirm_payment(
    session: AsyncSession, provider: PaymentProvider, external_id: str
) -> Payment | None:
    """Settle a gateway payment by asking the provider (a webhook only says "look again").
    Succeeded: the money is booked and applied to the order. Canceled: the payment is
    closed, no money moves. Idempotent: a payment settled before is returned unchanged.
    None when we never created a payment with this id."""
    payment = await _by_external_id(session, provider.name, external_id)
    if payment is None or payment.status is not PaymentStatus.PENDING:
        return payment
    remote = await provider.fetch(external_id)
    _check_matches(payment, remote)
    if remote.status is PaymentStatus.SUCCEEDED:
        if await _move(session, payment, PaymentStatus.SUCCEEDED):
            order = await session.get(Order, payment.order_id) if payment.order_id else None
            await _take_in(session, payment, order, Source.gateway(provider.name))
    elif remote.status is PaymentStatus.CANCELED and await _move(
        session, payment, PaymentStatus.CANCELED
    ):
        record(session, PaymentCanceled(**_event_fields(payment)))
    return payment


async def pay_from_balance(session: AsyncSession, order: Order, actor: Actor) -> Payment | None:
    """Pay what the order owes from the client's free balance, if it covers all of it
    (None if it does not: then the client pays through a provider)."""
    if actor.role is ActorRole.EXECUTOR or (
        actor.role is ActorRole.CLIENT and actor.client_id != order.client_id
    ):
        raise NotYourOrder(f"order {order.number} is not {actor.role}'s to pay")
    due = await due_now(session, order)
    if not due.is_due:
        raise NothingDue(f"order {order.number} owes nothing now (status {order.status})")
    free = await _free_balance(session, order)
    if free < due.amount:
        return None
    payment = Payment(
        client_id=order.client_id,
        order_id=order.id,
        provider=BALANCE_PROVIDER,
        method=PaymentMethod.BALANCE,
        amount=due.amount,
        currency=due.currency,
        status=PaymentStatus.SUCCEEDED,
        confirmed_at=utcnow(),
        recorded_by=actor.user_id,
    )
    session.add(payment)
    await session.flush()
    await apply_to_order(session, order)
    record(session, PaymentReceived(**_event_fields(payment)))
    return payment


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying the client's money did to an order."""

    held: int = 0
    charged: int = 0
    marked_paid: bool = False
    delivered: bool = False


async def apply_to_order(session: AsyncSession, order: Order) -> Applied:
    """Reserve what the order owes from the client's free balance (overpayment stays free).
    A covered prepayment marks the order paid; a ready order whose price is covered is
    delivered (which charges it and accrues its executor's price). Also settles a ready
    order that a full prepayment already covers. Money for an order handed over with a
    debt is charged against that debt at once."""
    money = await ledger.order_money(session, order.id, order.currency)
    due = amount_due(order, money)
    held = min(await _free_balance(session, order), due.amount) if due.is_due else 0
    if held > 0:
        await ledger.hold_prepayment(session, order.id, order.client_id, held, order.currency)
    reserved = money.held + held
    if order.status is OrderStatus.AWAITING_PAYMENT and reserved >= order.prepayment_amount:
        await orders.mark_paid(session, order, Actor.system())
        return Applied(held=held, marked_paid=True)
    owed = (order.client_price or 0) - money.charged
    if order.status is OrderStatus.READY and 0 < owed <= reserved:
        await orders.deliver_order(session, order, Actor.system())  # charges, accrues
        return Applied(held=held, charged=owed, delivered=True)
    if due.purpose is DuePurpose.DEBT and held > 0:
        # Money for an order handed over with a debt: charged against the debt (it counts
        # towards the discount tiers from now on).
        charged = await orders.charge_what_is_covered(session, order)
        return Applied(held=held, charged=charged)
    return Applied(held=held)


# --- the parts -----------------------------------------------------------------------------


async def _take_in(
    session: AsyncSession, payment: Payment, order: Order | None, source: Source
) -> None:
    """Book money that came in onto the client's balance and apply it to the order."""
    if payment.client_id is None:
        raise ValueError(f"payment {payment.id} has no client to credit")
    await ledger.top_up(
        session,
        payment.client_id,
        payment.amount,
        payment.currency,
        source,
        payment_id=payment.id,
        recorded_by=payment.recorded_by,
    )
    if order is not None:
        await apply_to_order(session, order)
    record(session, PaymentReceived(**_event_fields(payment)))


async def _move(
    session: AsyncSession, payment: Payment, status: PaymentStatus, **values: Any
) -> bool:
    """Move a pending (or canceled) payment to `status` unless another unit of work did it
    first. The guarded UPDATE is the lock: of two racing confirmations, one wins."""
    if status is PaymentStatus.SUCCEEDED:
        values["confirmed_at"] = utcnow()
    moved = await session.scalar(
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.status.in_([PaymentStatus.PENDING, PaymentStatus.CANCELED]),
            Payment.status != status,
        )
        .values(status=status, **values)
        .returning(Payment.id)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(payment)
    return moved is not None


def _check_matches(payment: Payment, remote: ProviderPayment) -> None:
    mismatched = (
        remote.external_id != payment.external_id
        or (remote.amount is not None and remote.amount != payment.amount)
        or (remote.currency is not None and remote.currency != payment.currency)
    )
    if mismatched:
        raise PaymentMismatch(
            f"{payment.provider} reports {remote.external_id} {remote.amount} {remote.currency} "
            f"for payment {payment.id} ({payment.external_id} {payment.amount} {payment.currency})"
        )


async def _pending(
    session: AsyncSession, order: Order, provider: str, amount: int
) -> Payment | None:
    found = await session.scalars(
        select(Payment)
        .where(
            Payment.order_id == order.id,
            Payment.provider == provider,
            Payment.status == PaymentStatus.PENDING,
            Payment.amount == amount,
            Payment.currency == order.currency,
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )
    return found.first()


async def _by_external_id(session: AsyncSession, provider: str, external_id: str) -> Payment | None:
    found = await session.scalars(
        select(Payment).where(Payment.provider == provider, Payment.external_id == external_id)
    )
    return found.first()


async def _free_balance(session: AsyncSession, order: Order) -> int:
    return await ledger.balance(
        session, AccountKind.CLIENT_BALANCE, order.client_id, order.currency
    )


def _desk(method: PaymentMethod) -> Source:
    return Source.desk(DESKS[method])


def _event_fields(payment: Payment) -> dict[str, Any]:
    return {
        "payment_id": payment.id,
        "order_id": payment.order_id,
        "client_id": payment.client_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "method": payment.method.value,
        "provider": payment.provider,
    }
