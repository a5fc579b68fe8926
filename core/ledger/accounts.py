"""Ledger vocabulary: account kinds' normal sides, the operations, money sources and the
InsufficientFunds error."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from core.models.money import AccountKind

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
    REVERSE_CHARGE = "reverse_charge"
    REFUND = "refund"
    ACCRUE_EXECUTOR = "accrue_executor"
    PAY_EXECUTOR = "pay_executor"
    CASH_IN = "cash_in"
    CASH_OUT = "cash_out"
    SETTLE_GATEWAY = "settle_gateway"
    MOVE_BALANCE = "move_balance"  # two cards of one person merged: free money follows


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
class Account:
    kind: AccountKind
    ref: str = ""


@dataclass(frozen=True, slots=True)
class Links:
    """What a transaction is about, for reports and for the MoneyMoved event."""

    client_id: int | None = None
    order_id: int | None = None
    executor_id: int | None = None
    payment_id: int | None = None
    recorded_by: int | None = None
    memo: str | None = None


def client_account(client_id: int) -> Account:
    return Account(AccountKind.CLIENT_BALANCE, str(client_id))


def hold_account(order_id: int) -> Account:
    return Account(AccountKind.ORDER_HOLD, str(order_id))


def payable_account(executor_id: int) -> Account:
    return Account(AccountKind.EXECUTOR_PAYABLE, str(executor_id))


def source_account(source: Source) -> Account:
    return Account(source.kind, source.ref)


REVENUE = Account(AccountKind.REVENUE)
OTHER_INCOME = Account(AccountKind.OTHER_INCOME)
EXPENSES = Account(AccountKind.EXPENSES)


def normal_side(kind: AccountKind, debits_minus_credits: int) -> int:
    return debits_minus_credits if kind in DEBIT_NORMAL else -debits_minus_credits
