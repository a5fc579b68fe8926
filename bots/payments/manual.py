"""Payment without a gateway: the bot tells the client that a manager will send the payment
details; the manager records the money in the panel (`core.payments.record_payment` with
provider "manual"), which also completes the client's pending request for that amount."""

from __future__ import annotations

from core.models import PaymentStatus
from core.payments import PaymentRequest, ProviderPayment

NAME = "manual"


class ManualPaymentProvider:
    """Nothing to call: a request is pending until a manager records the money, and asking
    this provider again never confirms anything (only a manager can)."""

    name = NAME

    async def create(self, request: PaymentRequest) -> ProviderPayment:
        return ProviderPayment(
            external_id=f"manual-{request.payment_id}",
            confirmation_url=None,
            status=PaymentStatus.PENDING,
            amount=request.amount,
            currency=request.currency,
        )

    async def fetch(self, external_id: str) -> ProviderPayment:
        return ProviderPayment(external_id, None, PaymentStatus.PENDING)
