"""Domain events: facts about the domain, in the past tense, collected on the unit of work's
session and handed to the publisher only after the transaction commits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow

_PENDING_KEY = "pult.pending_events"
_REACTED_KEY = "pult.reacted_events"


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    occurred_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCreated(DomainEvent):
    order_id: int
    number: int
    kind_code: str
    client_id: int
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderTransitioned(DomainEvent):
    order_id: int
    number: int
    action: str
    actor_role: str
    from_status: str
    to_status: str
    from_step: str | None = None
    to_step: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEdited(DomainEvent):
    """Staff changed an order outside its lifecycle (its answers, dates or manager): open
    panels reload it; no notice goes to the client (core/order_edits.py)."""

    order_id: int
    number: int
    action: str
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyMoved(DomainEvent):
    transaction_id: int
    operation: str
    amount: int
    currency: str
    client_id: int | None = None
    order_id: int | None = None
    executor_id: int | None = None


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[DomainEvent]) -> None: ...


# Runs inside the transaction, before commit, for every recorded event: what it writes (an
# outgoing notice, a manager alert) commits with the change that caused it, or not at all.
Reaction = Callable[[AsyncSession, DomainEvent], Awaitable[None]]

# Reactions may record events that have reactions of their own; a chain longer than this
# is a loop in the rules.
MAX_REACTION_ROUNDS = 8


@runtime_checkable
class ReactingPublisher(EventPublisher, Protocol):
    async def react(self, session: AsyncSession) -> None: ...


def record(session: AsyncSession, event: DomainEvent) -> None:
    """Remember an event until the session's transaction commits."""
    session.info.setdefault(_PENDING_KEY, []).append(event)


def take_pending(session: AsyncSession) -> list[DomainEvent]:
    events: list[DomainEvent] = session.info.pop(_PENDING_KEY, [])
    session.info.pop(_REACTED_KEY, None)
    return events


def discard_pending(session: AsyncSession) -> None:
    session.info.pop(_PENDING_KEY, None)
    session.info.pop(_REACTED_KEY, None)


async def run_reactions(session: AsyncSession, reactions: Sequence[Reaction]) -> None:
    """Give every event recorded on the session, including those recorded by reactions,
    to every reaction, once."""
    for _ in range(MAX_REACTION_ROUNDS):
        pending: list[DomainEvent] = session.info.get(_PENDING_KEY, [])
        done: int = session.info.get(_REACTED_KEY, 0)
        if done >= len(pending):
            return
        session.info[_REACTED_KEY] = len(pending)
        for event in pending[done:]:
            for reaction in reactions:
                await reaction(session, event)
    raise RuntimeError("reactions keep recording events: a loop in the rules")


class LocalPublisher:
    """In-process publisher: calls each subscriber in turn. Later issues put the event bus
    (memory or Redis) behind the same protocol."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[DomainEvent], Awaitable[None]]] = []
        self._reactions: list[Reaction] = []

    def subscribe(self, handler: Callable[[DomainEvent], Awaitable[None]]) -> None:
        """Called after commit, for each event."""
        self._subscribers.append(handler)

    def add_reaction(self, reaction: Reaction) -> None:
        """Called inside the transaction, before commit, for each event."""
        self._reactions.append(reaction)

    async def react(self, session: AsyncSession) -> None:
        if self._reactions:
            await run_reactions(session, self._reactions)

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            for handler in self._subscribers:
                await handler(event)


# --- payments (core/payments.py) ---------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentEvent(DomainEvent):
    """What a payment event says about the payment."""

    payment_id: int
    order_id: int | None
    client_id: int | None
    amount: int
    currency: str
    method: str
    provider: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentReceived(PaymentEvent):
    """Money for a client was booked: bots thank the client, managers see large payments.
    `method` "balance" means the client's own balance paid: no new money came in."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentCanceled(PaymentEvent):
    """The provider canceled a pending payment (the client gave up, the bank declined):
    no money moved; the bot can offer to pay again."""


# --- executors' applications (core/applications.py) --------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutorApproved(DomainEvent):
    """A manager approved an applicant: the feed may offer them jobs; the bot tells them."""

    executor_id: int
    by_user_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutorRejected(DomainEvent):
    """A manager turned an application down (the executor is blocked); the bot tells them."""

    executor_id: int
    reason: str = ""
    by_user_id: int | None = None
