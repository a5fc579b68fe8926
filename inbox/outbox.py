"""Putting messages in the outbox: a row written in the same transaction as the change
that caused it, so nothing that must be sent is lost. The dispatcher sends them.

A message for a channel this installation has not configured is never queued: its row is
written already failed, with the reason in words for the panel ("Telegram is not
connected"), so it neither waits in the queue nor holds its chat's later messages. The
configured channels come from the session's `info` (runtime/bootstrap.py puts the channel
registry there); a session without it (some tests) queues for any channel."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.events import record
from core.models import ChannelIdentity
from inbox.channel import Button, Outgoing, OutgoingFile
from inbox.events import OutboxQueued
from inbox.models import DeliveryStatus, Message, OutboxItem, OutboxStatus

# Session.info key of the ChannelRegistry (anything with `in`) of this installation.
CONFIGURED_CHANNELS = "pult.configured_channels"
# The reason of an item given up without being sent because its channel is not configured
# in this installation: "not_connected:<channel>".
NOT_CONNECTED = "not_connected"


def not_connected(channel: str) -> str:
    """The reason code of an item for a channel this installation has not configured."""
    return f"{NOT_CONNECTED}:{channel}"


def channel_configured(session: AsyncSession, channel: str) -> bool:
    """False only when the session knows the configured channels and `channel` is not one."""
    configured = session.info.get(CONFIGURED_CHANNELS)
    return configured is None or channel in configured


def outgoing_to_json(message: Outgoing) -> dict[str, Any]:
    return asdict(message)


def outgoing_from_json(data: dict[str, Any]) -> Outgoing:
    return Outgoing(
        **{
            **data,
            "buttons": tuple(
                tuple(Button.from_json(b) for b in row) for row in data.get("buttons", ())
            ),
            "files": tuple(OutgoingFile(**f) for f in data.get("files", ())),
        }
    )


async def enqueue(
    session: AsyncSession,
    identity: ChannelIdentity,
    message: Outgoing,
    *,
    message_id: int | None = None,
) -> OutboxItem:
    """Queue `message` for `identity`; the dispatcher wakes on OutboxQueued after commit.
    For a channel that is not configured the item is written failed instead (see above)."""
    item = OutboxItem(
        message_id=message_id,
        identity_id=identity.id,
        channel=message.channel,
        chat_id=message.chat_id,
        payload=outgoing_to_json(message),
    )
    if not channel_configured(session, message.channel):
        reason = not_connected(message.channel)
        item.status, item.last_error = OutboxStatus.FAILED, reason
        stored = await session.get(Message, message_id) if message_id is not None else None
        if stored is not None:
            stored.delivery_status, stored.delivery_error = DeliveryStatus.FAILED, reason
        session.add(item)
        await session.flush()
        return item
    session.add(item)
    await session.flush()
    record(session, OutboxQueued(outbox_id=item.id, channel=item.channel))
    return item
