"""The bus across processes: Redis pub/sub with one listener connection per process that
fans out to local subscriptions and reconnects on its own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from inbox.bus.base import (
    DEFAULT_NAMESPACE,
    DEFAULT_QUEUE_SIZE,
    BusUnavailable,
    EventBus,
    Subscription,
    _Hub,
    _topics,
    encode,
)

log = logging.getLogger(__name__)

_REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
_KEEPALIVE = {socket.TCP_KEEPIDLE: 30, socket.TCP_KEEPINTVL: 10, socket.TCP_KEEPCNT: 3}


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
