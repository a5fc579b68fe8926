"""Payment providers behind `core.payments.PaymentProvider`: the fake gateway (demo and
tests), manual payment (a manager sends the details and records the money); YooKassa and
Telegram Payments later. `runtime/bootstrap.py` picks them into a `PaymentProviders`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

from bots.payments.fake import FakePayment, FakePaymentProvider
from bots.payments.manual import ManualPaymentProvider
from core.payments import PaymentProvider

__all__ = [
    "FakePayment",
    "FakePaymentProvider",
    "ManualPaymentProvider",
    "PaymentProviders",
]

P = TypeVar("P")


class PaymentProviders:
    """The providers of this installation by name. New payments go through `default`; the
    others stay so that payments started through them can still be confirmed."""

    def __init__(self, default: PaymentProvider, *others: PaymentProvider) -> None:
        self.default = default
        self._providers: dict[str, PaymentProvider] = {}
        for provider in (default, *others):
            if provider.name in self._providers:
                raise ValueError(f"payment provider {provider.name!r} is registered twice")
            self._providers[provider.name] = provider

    def get(self, name: str) -> PaymentProvider:
        try:
            return self._providers[name]
        except KeyError:
            raise LookupError(f"no payment provider named {name!r} is configured") from None

    def first(self, kind: type[P]) -> P | None:
        """The registered provider of this class, if any (the fake's pages need the fake)."""
        return next((p for p in self._providers.values() if isinstance(p, kind)), None)

    def __contains__(self, name: object) -> bool:
        return name in self._providers

    def __iter__(self) -> Iterator[PaymentProvider]:
        return iter(self._providers.values())
