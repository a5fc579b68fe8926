"""Settings: the channel status page. What is configured (the channel registry with each
channel's capabilities, Telegram's update mode), and what the records say per channel: the
last message in and out, the last delivery or processing error, failed deliveries waiting
for a retry by hand, and people the channel can no longer reach."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import ChannelIdentity
from inbox.dispatcher import describe_reason
from inbox.models import InboundEvent, OutboxItem, OutboxStatus
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.keys import SERVICES
from webapp.panel.render import panel_locale
from webapp.panel.settings import settings_page

# Mounted by the runtime only when Telegram updates come by webhook (webapp/telegram.py).
TELEGRAM_WEBHOOK_ROUTE = "telegram_webhook"


@dataclass
class ChannelStatus:
    name: str
    configured: bool
    capabilities: list[str] = field(default_factory=list)
    mode: str | None = None  # Telegram: "webhook" | "polling"
    last_in: datetime | None = None
    last_out: datetime | None = None
    failed: int = 0  # deliveries that gave up (retry by hand in the conversation)
    retrying: int = 0  # deliveries waiting for another attempt
    unreachable: int = 0  # identities the channel cannot reach any more
    last_error: str | None = None
    last_error_at: datetime | None = None
    inbound_errors: int = 0  # stored events whose processing failed
    last_inbound_error: str | None = None


Lookup = Callable[[str], ChannelStatus]


def add_channel_routes(panel: PanelRoutes) -> None:
    panel.get("/settings/channels", channels_page, Permission.SETTINGS, name="channels")


async def channels_page(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    statuses = {
        channel.name: ChannelStatus(
            channel.name, True, sorted(capability.value for capability in channel.capabilities)
        )
        for channel in services.channels
    }
    async with services.uow() as uow:
        await collect(uow.session, statuses)
    locale = panel_locale(request)
    for status in statuses.values():
        if status.last_error is not None:  # a reason code: shown in words, never as is
            status.last_error = describe_reason(status.last_error, locale)
    if "telegram" in services.channels:
        webhook = TELEGRAM_WEBHOOK_ROUTE in request.app.router.named_resources()
        statuses["telegram"].mode = "webhook" if webhook else "polling"
    ordered = sorted(statuses.values(), key=lambda s: (not s.configured, s.name))
    return settings_page(request, "panel/settings/channels.html", "channels", channels=ordered,
                         base_url=services.base_url)  # fmt: skip


async def collect(session: AsyncSession, statuses: dict[str, ChannelStatus]) -> None:
    """Fill in what the records say, adding channels seen in them but not configured now."""

    def status(name: str) -> ChannelStatus:
        return statuses.setdefault(name, ChannelStatus(name, False))

    for name, last in await session.execute(
        select(InboundEvent.channel, func.max(InboundEvent.received_at)).group_by(
            InboundEvent.channel
        )
    ):
        status(name).last_in = last
    sent = OutboxItem.status == OutboxStatus.SENT
    for name, last_sent in await session.execute(
        select(OutboxItem.channel, func.max(OutboxItem.sent_at))
        .where(sent)
        .group_by(OutboxItem.channel)
    ):
        status(name).last_out = last_sent
    await _delivery_problems(session, status)
    await _inbound_problems(session, status)
    for name, count in await session.execute(
        select(ChannelIdentity.channel, func.count())
        .where(ChannelIdentity.reachable.is_(False))
        .group_by(ChannelIdentity.channel)
    ):
        status(name).unreachable = count


async def _delivery_problems(session: AsyncSession, status: Lookup) -> None:
    failed = OutboxItem.status == OutboxStatus.FAILED
    retrying = (OutboxItem.status == OutboxStatus.PENDING) & (OutboxItem.attempts > 0)
    for name, count in await session.execute(
        select(OutboxItem.channel, func.count()).where(failed).group_by(OutboxItem.channel)
    ):
        status(name).failed = count
    for name, count in await session.execute(
        select(OutboxItem.channel, func.count()).where(retrying).group_by(OutboxItem.channel)
    ):
        status(name).retrying = count
    latest = (
        select(OutboxItem.channel, func.max(OutboxItem.id).label("id"))
        .where(OutboxItem.last_error.is_not(None))
        .group_by(OutboxItem.channel)
        .subquery()
    )
    for name, error, at in await session.execute(
        select(OutboxItem.channel, OutboxItem.last_error, OutboxItem.next_attempt_at).join(
            latest, latest.c.id == OutboxItem.id
        )
    ):
        status(name).last_error, status(name).last_error_at = error, at


async def _inbound_problems(session: AsyncSession, status: Lookup) -> None:
    broken = InboundEvent.error.is_not(None) & InboundEvent.processed_at.is_(None)
    for name, count in await session.execute(
        select(InboundEvent.channel, func.count()).where(broken).group_by(InboundEvent.channel)
    ):
        status(name).inbound_errors = count
    latest = (
        select(InboundEvent.channel, func.max(InboundEvent.id).label("id"))
        .where(broken)
        .group_by(InboundEvent.channel)
        .subquery()
    )
    for name, error in await session.execute(
        select(InboundEvent.channel, InboundEvent.error).join(
            latest, latest.c.id == InboundEvent.id
        )
    ):
        status(name).last_inbound_error = (error or "")[:300]
