"""Domain events: facts about the domain, in the past tense, collected on the unit of work's
session and handed to the publisher only after the transaction commits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow

_PENDING_KEY = "pult.pending_events"


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


def record(session: AsyncSession, event: DomainEvent) -> None:
    """Remember an event until the session's transaction commits."""
    session.info.setdefault(_PENDING_KEY, []).append(event)


def take_pending(session: AsyncSession) -> list[DomainEvent]:
    events: list[DomainEvent] = session.info.pop(_PENDING_KEY, [])
    return events


def discard_pending(session: AsyncSession) -> None:
    session.info.pop(_PENDING_KEY, None)


class LocalPublisher:
    """In-process publisher: calls each subscriber in turn. Later issues put the event bus
    (memory or Redis) behind the same protocol."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[DomainEvent], Awaitable[None]]] = []

    def subscribe(self, handler: Callable[[DomainEvent], Awaitable[None]]) -> None:
        self._subscribers.append(handler)

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            for handler in self._subscribers:
                await handler(event)
