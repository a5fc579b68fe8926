"""Money records: ledger accounts, balanced transactions and their entries, payments, and
the cumulative discount tiers. Amounts are integer minor units (kopecks), never floats."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from core.models.people import enum_column


class AccountKind(enum.StrEnum):
    """What a ledger account stands for. Its owner is given by `ref` (a client id, an order
    id, an executor id, a desk code, a provider name; empty for the single revenue account)."""

    CLIENT_BALANCE = "client_balance"  # liability: client money we hold, free to use
    ORDER_HOLD = "order_hold"  # liability: client money reserved for one order
    EXECUTOR_PAYABLE = "executor_payable"  # liability: what we owe an executor
    REVENUE = "revenue"  # income: client charges minus executor accruals = margin
    CASH_DESK = "cash_desk"  # asset: a cash box, a card terminal, a bank account
    GATEWAY_CLEARING = "gateway_clearing"  # asset: collected by a gateway, not yet settled
    OTHER_INCOME = "other_income"  # income: cash received outside orders
    EXPENSES = "expenses"  # expense: cash spent outside orders


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    REFUNDED = "refunded"


class PaymentMethod(enum.StrEnum):
    CASH = "cash"
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    GATEWAY = "gateway"
    BALANCE = "balance"


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AccountKind] = mapped_column(enum_column(AccountKind, "account_kind"))
    ref: Mapped[str] = mapped_column(String(64), default="")
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("kind", "ref", "currency"),)


class LedgerTransaction(Base):
    """One business operation (a top-up, a charge, a payout): entries that sum to zero."""

    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    executor_id: Mapped[int | None] = mapped_column(
        ForeignKey("executors.id", ondelete="SET NULL"), index=True
    )
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id", ondelete="SET NULL"), index=True
    )
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    memo: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="transaction", cascade="all, delete-orphan", lazy="selectin"
    )


class LedgerEntry(Base):
    """Signed amount on one account: positive is a debit, negative a credit."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_transactions.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries")
    account: Mapped[LedgerAccount] = relationship(lazy="joined")

    __table_args__ = (CheckConstraint("amount <> 0", name="amount_non_zero"),)


class Payment(Base):
    """Money that came in from outside (gateway, cash, card, transfer) or went back out."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    provider: Mapped[str] = mapped_column(String(32))
    method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod, "payment_method"))
    external_id: Mapped[str | None] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(
        enum_column(PaymentStatus, "payment_status"), default=PaymentStatus.PENDING
    )
    confirmation_url: Mapped[str | None] = mapped_column(String(2048))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("provider", "external_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payments_status_created_at", "status", "created_at"),
    )


class DiscountTier(Base):
    """From `threshold` paid in total (minor units), quotes get `discount_bp` basis points off."""

    __tablename__ = "discount_tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    threshold: Mapped[int] = mapped_column(BigInteger)
    discount_bp: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("currency", "threshold"),
        CheckConstraint("threshold >= 0", name="threshold_non_negative"),
        CheckConstraint("discount_bp > 0 AND discount_bp <= 10000", name="discount_bp_range"),
    )
