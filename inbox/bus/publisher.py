"""Committed domain events onto the bus, as ids-only notices."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

from core.events import DomainEvent, MoneyMoved, OrderCreated, OrderEdited, OrderTransitioned
from inbox.bus.base import (
    CONVERSATION_READ,
    DELIVERY_CHANGED,
    MESSAGE_CREATED,
    MONEY_MOVED,
    ORDER_CHANGED,
    OUTBOX_WAKE,
    EventBus,
)
from inbox.events import ConversationRead, DeliveryChanged, MessageCreated, OutboxQueued


class BusPublisher:
    """`core.events.EventPublisher` that puts committed domain events on the bus as notices.

    Within one commit, several `order.changed` notices for the same order collapse into the
    last one: readers reload the order anyway."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        notices = [notice_for(event) for event in events]
        last_for_order = {
            payload["order_id"]: index
            for index, (topic, payload) in enumerate(notices)
            if topic == ORDER_CHANGED
        }
        for index, (topic, payload) in enumerate(notices):
            if topic == ORDER_CHANGED and last_for_order[payload["order_id"]] != index:
                continue
            await self._bus.publish(topic, payload)


def notice_for(event: DomainEvent) -> tuple[str, dict[str, Any]]:
    """The topic and the ids-only payload that tell readers what to look at again."""
    match event:
        case OrderCreated():
            return ORDER_CHANGED, {"order_id": event.order_id, "status": event.status}
        case OrderTransitioned():
            return ORDER_CHANGED, {"order_id": event.order_id, "status": event.to_status}
        case OrderEdited():
            return ORDER_CHANGED, {"order_id": event.order_id, "status": event.status}
        case MoneyMoved():
            return MONEY_MOVED, {
                "transaction_id": event.transaction_id,
                "operation": event.operation,
                "order_id": event.order_id,
                "client_id": event.client_id,
                "executor_id": event.executor_id,
            }
        case MessageCreated():
            return MESSAGE_CREATED, {
                "message_id": event.message_id,
                "conversation_id": event.conversation_id,
                "order_id": event.order_id,
            }
        case OutboxQueued():
            return OUTBOX_WAKE, {"outbox_id": event.outbox_id, "channel": event.channel}
        case DeliveryChanged():
            return DELIVERY_CHANGED, {
                "outbox_id": event.outbox_id,
                "message_id": event.message_id,
                "status": event.status,
            }
        case ConversationRead():
            return CONVERSATION_READ, {
                "conversation_id": event.conversation_id,
                "user_id": event.user_id,
                "message_id": event.message_id,
            }
    return f"domain.{type(event).__name__}", json_safe(dataclasses.asdict(event))


def json_safe(value: Any) -> Any:
    """Dates and times as ISO strings, enums as their values, tuples and sets as lists."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item) for item in value]
    return value
