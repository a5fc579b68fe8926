"""The bus port: topics, `BusMessage`, `Subscription` and `EventBus`, and the fan-out hub
the implementations share."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)

MESSAGE_CREATED = "message.created"
ORDER_CHANGED = "order.changed"
CONVERSATION_READ = "conversation.read"
DELIVERY_CHANGED = "delivery.changed"
OUTBOX_WAKE = "outbox.wake"
MONEY_MOVED = "money.moved"
# Reserved: sent by the bus itself to a subscription that may have missed messages.
GAP = "bus.gap"

DEFAULT_NAMESPACE = "default"
DEFAULT_QUEUE_SIZE = 1000
# Notices carry ids; a payload this big means someone is shipping records over the bus.
MAX_PAYLOAD_BYTES = 8192

# Exact dotted names only: no wildcards (docs/bus.md says why), and nothing Redis would read
# as a glob pattern.
_TOPIC = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*\Z")


@dataclasses.dataclass(frozen=True, slots=True)
class BusMessage:
    topic: str
    payload: dict[str, Any]


class BusUnavailable(ConnectionError):
    """The bus could not set up a subscription (Redis unreachable for too long)."""


class Subscription:
    """Messages on some topics, from the moment `async with` is entered until it is left.

    `async with bus.subscribe("order.changed") as sub: async for message in sub: ...`

    Each subscription has its own bounded queue, so a slow reader never holds up publishers
    or other readers: when the queue is full the oldest message is dropped, `dropped` counts
    it, and the reader gets a `bus.gap` notice before its next message."""

    def __init__(
        self,
        topics: frozenset[str],
        queue_size: int,
        attach: Callable[[Subscription], Awaitable[None]],
        detach: Callable[[Subscription], Awaitable[None]],
    ) -> None:
        self.topics = topics
        self.dropped = 0
        self._queue: deque[BusMessage] = deque()
        self._queue_size = queue_size
        self._ready = asyncio.Event()
        self._gap: str | None = None
        self._state = "new"
        self._attach = attach
        self._detach = detach

    async def __aenter__(self) -> Subscription:
        if self._state != "new":
            raise RuntimeError("a subscription can be entered only once")
        self._state = "open"
        try:
            await self._attach(self)
        except BaseException:
            self._state = "closed"
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._state == "open":
            self._end()
            await self._detach(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> BusMessage:
        if self._state == "new":
            raise RuntimeError("enter the subscription with 'async with' before reading it")
        while True:
            if self._state == "closed":
                raise StopAsyncIteration
            if self._gap is not None:
                # Before the queued messages: a reload from the database covers them anyway.
                reason, self._gap = self._gap, None
                return BusMessage(GAP, {"reason": reason})
            if self._queue:
                return self._queue.popleft()
            self._ready.clear()
            await self._ready.wait()

    def _offer(self, message: BusMessage) -> None:
        if self._state != "open":
            return
        if len(self._queue) >= self._queue_size:
            self._queue.popleft()
            if not self.dropped:
                log.warning("bus: a subscriber to %s is falling behind", sorted(self.topics))
            self.dropped += 1
            self._gap = "overflow"
        self._queue.append(message)
        self._ready.set()

    def _mark_gap(self, reason: str) -> None:
        if self._state == "open":
            self._gap = reason
            self._ready.set()

    def _end(self) -> None:
        self._state = "closed"
        self._queue.clear()
        self._ready.set()


class EventBus(ABC):
    """Publish/subscribe of small JSON notices on exact topic names."""

    @abstractmethod
    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Best effort: a transport failure is logged and counted, never raised (the caller
        has already committed; the database is the record). A bad topic or a payload that is
        not JSON raises at once."""

    @abstractmethod
    def subscribe(self, *topics: str) -> Subscription:
        """A subscription that receives what is published after its `async with` is entered."""

    @abstractmethod
    def subscriber_count(self, topic: str) -> int:
        """Open subscriptions to `topic` in this process."""

    @abstractmethod
    async def close(self) -> None:
        """End every subscription and release connections."""


def encode(topic: str, payload: dict[str, Any]) -> bytes:
    """The wire form of a notice; also the check that it is one."""
    _check_topic(topic)
    if topic == GAP:
        raise ValueError(f"{GAP!r} is reserved for the bus itself")
    if not isinstance(payload, dict):
        raise TypeError(f"a bus payload is a dict, not {type(payload).__name__}")
    data = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    encoded = data.encode()
    if len(encoded) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"bus payload of {len(encoded)} bytes: send ids, not records")
    return encoded


def _check_topic(topic: str) -> None:
    if not _TOPIC.match(topic):
        raise ValueError(f"bad bus topic {topic!r}: dotted words only, no wildcards")


def _topics(topics: Sequence[str]) -> frozenset[str]:
    if not topics:
        raise ValueError("subscribe to at least one topic")
    for topic in topics:
        _check_topic(topic)
    return frozenset(topics)


class _Hub:
    """The local fan-out both buses share: topic -> open subscriptions in this process."""

    def __init__(self) -> None:
        self._by_topic: dict[str, set[Subscription]] = {}

    def add(self, subscription: Subscription) -> list[str]:
        """Register; returns the topics that had no subscriber before."""
        new = [topic for topic in subscription.topics if topic not in self._by_topic]
        for topic in subscription.topics:
            self._by_topic.setdefault(topic, set()).add(subscription)
        return new

    def remove(self, subscription: Subscription) -> list[str]:
        """Unregister; returns the topics left without a subscriber."""
        gone = []
        for topic in subscription.topics:
            subscribers = self._by_topic.get(topic)
            if subscribers is None:
                continue
            subscribers.discard(subscription)
            if not subscribers:
                del self._by_topic[topic]
                gone.append(topic)
        return gone

    def topics(self) -> list[str]:
        return list(self._by_topic)

    def count(self, topic: str) -> int:
        return len(self._by_topic.get(topic, ()))

    def deliver(self, topic: str, payload: dict[str, Any]) -> None:
        # One decoded payload shared by every local reader: readers treat it as read-only.
        message = BusMessage(topic, payload)
        for subscription in list(self._by_topic.get(topic, ())):
            subscription._offer(message)

    def mark_gap(self, reason: str) -> None:
        for subscription in {s for subs in self._by_topic.values() for s in subs}:
            subscription._mark_gap(reason)

    def close_all(self) -> None:
        for subscription in {s for subs in self._by_topic.values() for s in subs}:
            subscription._end()
        self._by_topic.clear()
