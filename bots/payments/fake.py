"""An in-process payment gateway for the embedded demo and tests: its links open Pult's own
/pay/fake page (webapp/payments.py), where a button pays or cancels. States live in memory,
so a restart forgets them, and no real money moves anywhere. Never offer it to real clients."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from core.models import PaymentStatus
from core.payments import PaymentRequest, ProviderError, ProviderPayment

NAME = "fake"
PAGE_PATH = "/pay/fake/{external_id}"


@dataclass(slots=True)
class FakePayment:
    external_id: str
    request: PaymentRequest
    status: PaymentStatus = PaymentStatus.PENDING


class FakePaymentProvider:
    """`create` answers like a gateway (the same idempotence key gives the same payment);
    `succeed` and `cancel` play the client on the gateway's page; `fetch` tells the truth."""

    name = NAME

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._payments: dict[str, FakePayment] = {}
        self._by_key: dict[str, str] = {}

    async def create(self, request: PaymentRequest) -> ProviderPayment:
        external_id = self._by_key.get(request.idempotence_key)
        if external_id is None:
            external_id = f"fake-{uuid.uuid4()}"
            self._payments[external_id] = FakePayment(external_id, request)
            self._by_key[request.idempotence_key] = external_id
        return self._view(self._payments[external_id])

    async def fetch(self, external_id: str) -> ProviderPayment:
        return self._view(self._known(external_id))

    def get(self, external_id: str) -> FakePayment | None:
        return self._payments.get(external_id)

    def succeed(self, external_id: str) -> None:
        self._finish(external_id, PaymentStatus.SUCCEEDED)

    def cancel(self, external_id: str) -> None:
        self._finish(external_id, PaymentStatus.CANCELED)

    def page_url(self, external_id: str) -> str:
        return self.base_url + PAGE_PATH.format(external_id=external_id)

    def _finish(self, external_id: str, status: PaymentStatus) -> None:
        payment = self._known(external_id)
        if payment.status not in (PaymentStatus.PENDING, status):
            raise ProviderError(f"fake payment {external_id} is already {payment.status}")
        payment.status = status

    def _known(self, external_id: str) -> FakePayment:
        payment = self._payments.get(external_id)
        if payment is None:
            raise ProviderError(f"no fake payment {external_id!r} (forgotten on restart?)")
        return payment

    def _view(self, payment: FakePayment) -> ProviderPayment:
        return ProviderPayment(
            external_id=payment.external_id,
            confirmation_url=self.page_url(payment.external_id),
            status=payment.status,
            amount=payment.request.amount,
            currency=payment.request.currency,
        )
