"""Putting messages in the outbox: a row written in the same transaction as the change
that caused it, so nothing that must be sent is lost. The dispatcher sends them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.events import record
from core.models import ChannelIdentity
from inbox.channel import Button, Outgoing, OutgoingFile
from inbox.events import OutboxQueued
from inbox.models import OutboxItem


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
    """Queue `message` for `identity`; the dispatcher wakes on OutboxQueued after commit."""
    item = OutboxItem(
        message_id=message_id,
        identity_id=identity.id,
        channel=message.channel,
        chat_id=message.chat_id,
        payload=outgoing_to_json(message),
    )
    session.add(item)
    await session.flush()
    record(session, OutboxQueued(outbox_id=item.id, channel=item.channel))
    return item
