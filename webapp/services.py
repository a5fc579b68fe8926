"""What the web app needs from whoever builds it (the runtime's Container). Described here
as a Protocol so that webapp never imports runtime."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network
from typing import Protocol
from zoneinfo import ZoneInfo

from bots.payments import PaymentProviders
from core.uow import UnitOfWork
from inbox.bus import EventBus
from inbox.channel import ChannelRegistry
from inbox.files import FileStore

HealthCheck = Callable[[], Awaitable[str]]
"""Returns a short status ("ok", "not configured") or raises when the dependency is down."""


class WebServices(Protocol):
    @property
    def version(self) -> str: ...

    @property
    def default_locale(self) -> str: ...

    @property
    def health_checks(self) -> Mapping[str, HealthCheck]: ...

    @property
    def base_url(self) -> str:
        """Where people reach this installation, ending in "/" (https means Secure cookies)."""
        ...

    @property
    def tz(self) -> ZoneInfo:
        """The installation's time zone: dates and times on pages are shown in it."""
        ...

    @property
    def trusted_proxies(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """Reverse proxies whose X-Forwarded-For is believed (PULT_TRUSTED_PROXIES)."""
        ...

    @property
    def device_cookie_key(self) -> bytes:
        """Signs the device cookies of browsers that signed in before (sign-in throttle)."""
        ...

    @property
    def payments(self) -> PaymentProviders: ...

    @property
    def bus(self) -> EventBus:
        """Real-time events after commit: the panel's socket subscribes."""
        ...

    @property
    def channels(self) -> ChannelRegistry: ...

    @property
    def files(self) -> FileStore: ...

    def uow(self) -> UnitOfWork: ...

    async def last_heartbeat(self) -> datetime | None:
        """When a worker last proved it was alive, or None if never."""
        ...
