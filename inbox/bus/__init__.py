"""Event bus: real-time "something changed, look again" notices for panel and site-chat
sockets and the outbox dispatcher, in one process (`MemoryBus`) or across processes
(`RedisBus`), plus `BusPublisher`, which puts committed domain events on it.

The database is the record. Delivery is at-most-once and best effort, with no replay; when a
subscription may have missed something (it fell behind, or Redis reconnected) it receives a
`bus.gap` notice and should reload from the database. See docs/bus.md."""

from inbox.bus.base import (
    CONVERSATION_READ,
    DEFAULT_NAMESPACE,
    DEFAULT_QUEUE_SIZE,
    DELIVERY_CHANGED,
    GAP,
    MAX_PAYLOAD_BYTES,
    MESSAGE_CREATED,
    MONEY_MOVED,
    ORDER_CHANGED,
    OUTBOX_WAKE,
    BusMessage,
    BusUnavailable,
    EventBus,
    Subscription,
    encode,
)
from inbox.bus.memory import MemoryBus
from inbox.bus.publisher import BusPublisher, json_safe, notice_for
from inbox.bus.redis_bus import RedisBus

__all__ = [
    "CONVERSATION_READ",
    "DEFAULT_NAMESPACE",
    "DEFAULT_QUEUE_SIZE",
    "DELIVERY_CHANGED",
    "GAP",
    "MAX_PAYLOAD_BYTES",
    "MESSAGE_CREATED",
    "MONEY_MOVED",
    "ORDER_CHANGED",
    "OUTBOX_WAKE",
    "BusMessage",
    "BusPublisher",
    "BusUnavailable",
    "EventBus",
    "MemoryBus",
    "RedisBus",
    "Subscription",
    "encode",
    "json_safe",
    "notice_for",
]
