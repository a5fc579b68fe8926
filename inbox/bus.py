"""Event bus: real-time "something changed, look again" notices for panel and site-chat
sockets and the outbox dispatcher, in one process (`MemoryBus`) or across processes
(`RedisBus`), plus `BusPublisher`, which puts committed domain events on it.

The database is the record. Delivery is at-most-once and best effort, with no replay; when a
subscription may have missed something (it fell behind, or Redis reconnected) it receives a
`bus.gap` notice and should reload from the database. See docs/bus.md."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import json
import logging
import re
import socket
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time
from types import TracebackType
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.events import DomainEvent, MoneyMoved, OrderCreated, OrderTransitioned
from inbox.events import MessageCreated, OutboxQueued

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
_REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
_KEEPALIVE = {socket.TCP_KEEPIDLE: 30, socket.TCP_KEEPINTVL: 10, socket.TCP_KEEPCNT: 3}


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


class MemoryBus(EventBus):
    """The bus inside one process (`pult run`). Payloads still go through JSON, so code that
    works here works over Redis too."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._hub = _Hub()
        self._queue_size = queue_size
        self._closed = False

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        data = encode(topic, payload)
        if self._closed:
            raise RuntimeError("publish on a closed bus")
        self._hub.deliver(topic, json.loads(data))

    def subscribe(self, *topics: str) -> Subscription:
        return Subscription(_topics(topics), self._queue_size, self._attach, self._detach)

    def subscriber_count(self, topic: str) -> int:
        return self._hub.count(topic)

    async def _attach(self, subscription: Subscription) -> None:
        if self._closed:
            raise RuntimeError("subscribe on a closed bus")
        self._hub.add(subscription)

    async def _detach(self, subscription: Subscription) -> None:
        self._hub.remove(subscription)

    async def close(self) -> None:
        self._closed = True
        self._hub.close_all()


class RedisBus(EventBus):
    """The bus across processes over Redis pub/sub.

    Publishing uses a small client of its own. Receiving uses ONE pub/sub connection per
    process, read by a listener task that fans messages out to local subscriptions, so a web
    process with fifty open panel sockets holds one subscriber connection, not fifty.

    The listener connection has redis-py's silent retries turned off: a dropped connection
    surfaces here, is re-established with backoff, every wanted channel is subscribed again,
    and only then do the subscriptions get a `bus.gap` notice (so a reload they do after it
    cannot miss a message). Channels are `pult:<namespace>:bus:<topic>`; pub/sub ignores the
    Redis database number, so the namespace is what keeps installations and test runs apart."""

    POLL_SECONDS = 1.0
    MAX_BACKOFF_SECONDS = 5.0

    def __init__(
        self,
        url: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        connect_timeout: float = 3.0,
        subscribe_timeout: float = 5.0,
    ) -> None:
        self.namespace = namespace
        self._prefix = f"pult:{namespace}:bus:"
        self._queue_size = queue_size
        self._subscribe_timeout = subscribe_timeout
        # One quick retry covers a pooled connection that died while idle; a longer wait
        # would hold up the request that committed.
        self._client = aioredis.from_url(
            url,
            socket_connect_timeout=connect_timeout,
            socket_timeout=connect_timeout,
            retry=Retry(NoBackoff(), 1),
        )
        self._listen_client = aioredis.from_url(
            url,
            socket_connect_timeout=connect_timeout,
            retry=Retry(NoBackoff(), 0),
            # No health-check PING: redis-py would send it (and read its reply) from whichever
            # task subscribes, racing the listener's read. TCP keepalive finds a dead peer
            # instead, within about a minute rather than the kernel's default two hours.
            socket_keepalive=True,
            socket_keepalive_options=_KEEPALIVE,
            client_name=f"pult:{namespace}:bus",
        )
        self._hub = _Hub()
        self._lock = asyncio.Lock()  # orders (un)subscribe commands against a reconnect
        self._pubsub: PubSub | None = None
        self._pending: dict[str, asyncio.Future[None]] = {}  # channel -> its confirmation
        self._resubscribing: set[str] = set()
        self._was_connected = False
        self._listener: asyncio.Task[None] | None = None
        self._closed = False
        self.publish_failures = 0
        self.reconnects = 0

    def channel(self, topic: str) -> str:
        return self._prefix + topic

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        data = encode(topic, payload)
        if self._closed:
            raise RuntimeError("publish on a closed bus")
        try:
            await self._client.publish(self.channel(topic), data)
        except _REDIS_ERRORS as error:
            self.publish_failures += 1
            log.warning("bus: could not publish %s (%s)", topic, error)

    def subscribe(self, *topics: str) -> Subscription:
        return Subscription(_topics(topics), self._queue_size, self._attach, self._detach)

    def subscriber_count(self, topic: str) -> int:
        return self._hub.count(topic)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._hub.close_all()
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        await self._drop_pubsub()
        for future in self._pending.values():
            future.cancel()
        await self._client.aclose()
        await self._listen_client.aclose()

    # --- subscriptions ------------------------------------------------------------------

    async def _attach(self, subscription: Subscription) -> None:
        if self._closed:
            raise RuntimeError("subscribe on a closed bus")
        self._hub.add(subscription)
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="pult-bus-listener")
        loop = asyncio.get_running_loop()
        channels = [self.channel(topic) for topic in subscription.topics]
        async with self._lock:
            confirmations = [self._pending.setdefault(ch, loop.create_future()) for ch in channels]
            # A channel someone here already listens to is subscribed again all the same:
            # cheap, and it never leaves a reader waiting on a confirmation that came earlier.
            if self._pubsub is not None:
                # On failure the listener sees the same error and subscribes on reconnect.
                with contextlib.suppress(*_REDIS_ERRORS):
                    await self._pubsub.subscribe(*channels)
        try:
            _, waiting = await asyncio.wait(confirmations, timeout=self._subscribe_timeout)
            if waiting:
                raise BusUnavailable(f"Redis did not confirm the subscription to {channels}")
        except BaseException:  # a time-out, or the caller gave up: leave nothing behind
            subscription._end()
            await self._detach(subscription)
            raise

    async def _detach(self, subscription: Subscription) -> None:
        gone = self._hub.remove(subscription)
        if not gone:
            return
        async with self._lock:
            # Someone may have subscribed to the topic again while we waited for the lock.
            channels = [self.channel(t) for t in gone if not self._hub.count(t)]
            for channel in channels:
                future = self._pending.pop(channel, None)
                if future is not None:
                    future.cancel()
            if channels and self._pubsub is not None:
                # On failure: a new connection subscribes only to what is still wanted.
                with contextlib.suppress(*_REDIS_ERRORS):
                    await self._pubsub.unsubscribe(*channels)

    # --- the listener -------------------------------------------------------------------

    async def _listen(self) -> None:
        failures = 0
        while True:
            try:
                pubsub = await self._connect()
                failures = 0
                await self._read_forever(pubsub)
            except _REDIS_ERRORS as error:
                log.warning("bus: Redis pub/sub connection lost (%s); reconnecting", error)
            except Exception:
                # A bug here must not leave every subscriber waiting forever in silence.
                log.exception("bus: listener failed; reconnecting")
            await self._drop_pubsub()
            await asyncio.sleep(min(self.MAX_BACKOFF_SECONDS, 0.05 * 2**failures))
            failures += 1

    async def _connect(self) -> PubSub:
        pubsub = self._listen_client.pubsub()
        loop = asyncio.get_running_loop()
        async with self._lock:
            channels = [self.channel(topic) for topic in self._hub.topics()]
            try:
                await pubsub.connect()
                if channels:
                    for channel in channels:
                        self._pending.setdefault(channel, loop.create_future())
                    await pubsub.subscribe(*channels)
            except BaseException:
                await pubsub.aclose()
                raise
            self._pubsub = pubsub
            if self._was_connected:
                self.reconnects += 1
                self._resubscribing = set(channels)
            self._was_connected = True
        return pubsub

    async def _read_forever(self, pubsub: PubSub) -> None:
        while True:
            # A bounded wait returns None when all is quiet; a blocking read would fall back
            # to the socket timeout and call a quiet minute a lost connection.
            message = await pubsub.get_message(timeout=self.POLL_SECONDS)
            if message is not None:
                self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        channel = _text(message["channel"])
        if kind == "message" and channel.startswith(self._prefix):
            try:
                payload = json.loads(message["data"])
            except ValueError:
                log.warning("bus: ignored a message on %s that is not JSON", channel)
                return
            if not isinstance(payload, dict):
                log.warning("bus: ignored a message on %s that is not a JSON object", channel)
                return
            self._hub.deliver(channel.removeprefix(self._prefix), payload)
        elif kind == "subscribe":
            future = self._pending.pop(channel, None)
            if future is not None and not future.done():
                future.set_result(None)
            if channel in self._resubscribing:
                self._resubscribing.discard(channel)
                if not self._resubscribing:
                    self._hub.mark_gap("reconnect")

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._resubscribing = set()
        if pubsub is not None:
            # A failure means the connection is already gone: nothing left to release.
            with contextlib.suppress(*_REDIS_ERRORS):
                await pubsub.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# --- domain events onto the bus -----------------------------------------------------------


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
