"""A loopback channel for tests: records what it is asked to send and fails on demand
(retryable with retry_after, permanent, slow), through the real Channel port."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable

from inbox.channel import Capability, DeliveryError, DeliveryReceipt, Outgoing


class LoopbackChannel:
    def __init__(self, name: str = "loopback", clock: Callable[[], float] = time.monotonic) -> None:
        self._name = name
        self._clock = clock
        self.sent: list[Outgoing] = []
        self.sent_at: list[float] = []
        self.attempts: list[Outgoing] = []
        self._failures: deque[DeliveryError] = deque()
        self._ids = itertools.count(1)
        self.delay = 0.0

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.BUTTONS, Capability.FILES})

    def fail_next(self, *errors: DeliveryError) -> None:
        """The next sends raise these, in order; then sends succeed again."""
        self._failures.extend(errors)

    def recover(self) -> None:
        """Forget the failures still queued: the outage is over."""
        self._failures.clear()

    async def send(self, message: Outgoing) -> DeliveryReceipt:
        self.attempts.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self._failures:
            raise self._failures.popleft()
        self.sent.append(message)
        self.sent_at.append(self._clock())
        return DeliveryReceipt(external_id=f"{self._name}-{next(self._ids)}")
