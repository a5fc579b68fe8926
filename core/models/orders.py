"""Orders, their kinds (configuration, not code), the audit trail and executors' bids."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from core.models.people import Client, Executor, User, enum_column


class OrderStatus(enum.StrEnum):
    DRAFT = "draft"
    NEW = "new"
    EVALUATING = "evaluating"
    QUOTED = "quoted"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    ON_EXCHANGE = "on_exchange"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    REVISION = "revision"
    READY = "ready"
    DELIVERED = "delivered"
    REVISION_REQUESTED = "revision_requested"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class BidStatus(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    WON = "won"
    LOST = "lost"


class ActorRole(enum.StrEnum):
    CLIENT = "client"
    EXECUTOR = "executor"
    MANAGER = "manager"
    OPERATOR = "operator"
    OWNER = "owner"
    SYSTEM = "system"


class OrderKind(Base):
    """What a business sells: the intake fields the wizard asks, the execution steps, and the
    commercial flags. Built-in kinds are created by the first migration and stay editable."""

    __tablename__ = "order_kinds"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # List of field definitions, see core.kinds.FieldSpec for the shape.
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Sub-steps of in_progress, in order (e.g. accepted, en_route, on_site, started, finished).
    execution_steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    # None: no prepayment; 0..100: share of the price paid before work starts.
    prepayment_percent: Mapped[int | None] = mapped_column(Integer)
    uses_exchange: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=True)
    guarantee_days: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint(
            "prepayment_percent IS NULL OR (prepayment_percent >= 0 AND prepayment_percent <= 100)",
            name="prepayment_percent_range",
        ),
        CheckConstraint("guarantee_days >= 0", name="guarantee_days_non_negative"),
    )


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("order_kinds.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    executor_id: Mapped[int | None] = mapped_column(
        ForeignKey("executors.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[OrderStatus] = mapped_column(
        enum_column(OrderStatus, "order_status"), default=OrderStatus.DRAFT
    )
    # The current execution step while in_progress (one of the kind's execution_steps).
    step: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    # Money in minor units (kopecks). client_price is what the client pays after discount.
    list_price: Mapped[int | None] = mapped_column(BigInteger)
    discount_bp: Mapped[int] = mapped_column(Integer, default=0)
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    client_price: Mapped[int | None] = mapped_column(BigInteger)
    prepayment_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    # Fixed price offered on the exchange (None: executors bid) and the agreed executor price.
    exchange_price: Mapped[int | None] = mapped_column(BigInteger)
    executor_price: Mapped[int | None] = mapped_column(BigInteger)
    # The driver's last reported position (trip kinds).
    last_location: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Optimistic lock: every transition is UPDATE ... WHERE version = :seen, so two racing
    # transitions (two executors taking one job) cannot both succeed.
    version: Mapped[int] = mapped_column(Integer, default=1)

    kind: Mapped[OrderKind] = relationship(lazy="joined")
    client: Mapped[Client] = relationship()
    manager: Mapped[User | None] = relationship()
    executor: Mapped[Executor | None] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy's own dict)
    __table_args__ = (
        Index("ix_orders_status_deadline", "status", "deadline"),
        Index("ix_orders_created_at", "created_at"),
        # The panel's big order tabs (archive, ready) sorted by deadline or last change: an
        # index in the sort order, filtered by status (small tabs use the status index).
        Index("ix_orders_deadline", "deadline"),
        Index("ix_orders_updated_at", "updated_at"),
        CheckConstraint("client_price IS NULL OR client_price >= 0", name="client_price_ok"),
        CheckConstraint("executor_price IS NULL OR executor_price >= 0", name="executor_price_ok"),
        CheckConstraint("exchange_price IS NULL OR exchange_price >= 0", name="exchange_price_ok"),
        CheckConstraint("discount_bp >= 0 AND discount_bp <= 10000", name="discount_bp_range"),
        CheckConstraint("prepayment_amount >= 0", name="prepayment_amount_ok"),
    )


class OrderEvent(Base):
    """The audit trail: who did what to an order, from which state to which, and when."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[ActorRole] = mapped_column(enum_column(ActorRole, "actor_role"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL")
    )
    actor_executor_id: Mapped[int | None] = mapped_column(
        ForeignKey("executors.id", ondelete="SET NULL")
    )
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    from_step: Mapped[str | None] = mapped_column(String(64))
    to_step: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_order_events_order_id_created_at", "order_id", "created_at"),)


class Bid(Base):
    """An executor's offer for a job on the exchange."""

    __tablename__ = "bids"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    executor_id: Mapped[int] = mapped_column(ForeignKey("executors.id", ondelete="CASCADE"))
    price: Mapped[int] = mapped_column(BigInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    eta: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[BidStatus] = mapped_column(
        enum_column(BidStatus, "bid_status"), default=BidStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    executor: Mapped[Executor] = relationship()

    __table_args__ = (
        CheckConstraint("price >= 0", name="price_non_negative"),
        Index("ix_bids_order_id_status", "order_id", "status"),
        Index("ix_bids_executor_id", "executor_id"),
        # One live bid per executor per job; a new offer replaces the old one.
        Index(
            "uq_bids_active_per_executor",
            "order_id",
            "executor_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )
