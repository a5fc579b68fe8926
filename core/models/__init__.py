"""All SQLAlchemy models of the domain; importing this module registers them on Base."""

from core.models.access import LoginFailure, StaffLinkCode, StaffSession
from core.models.money import (
    AccountKind,
    DiscountTier,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from core.models.orders import ActorRole, Bid, BidStatus, Order, OrderEvent, OrderKind, OrderStatus
from core.models.people import (
    ChannelIdentity,
    Client,
    Executor,
    ExecutorKind,
    ExecutorStatus,
    Skill,
    StaffRole,
    User,
    executor_skills,
)
from core.models.records import Counter, FilePurpose, Setting, StoredFile, WorkerHeartbeat

__all__ = [
    "AccountKind",
    "ActorRole",
    "Bid",
    "BidStatus",
    "ChannelIdentity",
    "Client",
    "Counter",
    "DiscountTier",
    "Executor",
    "ExecutorKind",
    "ExecutorStatus",
    "FilePurpose",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "LoginFailure",
    "Order",
    "OrderEvent",
    "OrderKind",
    "OrderStatus",
    "Payment",
    "PaymentMethod",
    "PaymentStatus",
    "Setting",
    "Skill",
    "StaffLinkCode",
    "StaffRole",
    "StaffSession",
    "StoredFile",
    "User",
    "WorkerHeartbeat",
    "executor_skills",
]
