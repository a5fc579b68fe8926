"""Messaging events, published after commit like every domain event."""

from __future__ import annotations

from dataclasses import dataclass

from core.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageCreated(DomainEvent):
    message_id: int
    conversation_id: int
    direction: str
    order_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxQueued(DomainEvent):
    """Wakes the dispatcher at once instead of at its next poll."""

    outbox_id: int
    channel: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryChanged(DomainEvent):
    outbox_id: int
    message_id: int | None
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationRead(DomainEvent):
    """A staff member has read a conversation up to a message (the panel's unread marks)."""

    conversation_id: int
    user_id: int
    message_id: int
