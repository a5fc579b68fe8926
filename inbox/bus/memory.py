"""The in-process bus: the embedded default, and the reference the contract tests hold
the Redis bus to."""

from __future__ import annotations

import json
from typing import Any

from inbox.bus.base import DEFAULT_QUEUE_SIZE, EventBus, Subscription, _Hub, _topics, encode


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
