"""A person talking to the bots in tests: what they send goes through the real inbound
pipeline with the real dialog engine; what the bots answered is read back from the outbox
(exactly what the dispatcher would hand to the channel adapter)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import ChannelIdentity
from inbox.channel import Button, Incoming, IncomingFile, Location, Outgoing, SharedContact
from inbox.models import OutboxItem
from inbox.outbox import outgoing_from_json
from inbox.receive import Receiver

_event_ids = itertools.count(1)


class Chat:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        receiver: Receiver,
        sender: str = "100",
        *,
        name: str = "Анна",
        channel: str = "telegram",
        locale: str = "ru",
    ) -> None:
        self.sessions = sessions
        self.receiver = receiver
        self.sender = sender
        self.name = name
        self.channel = channel
        self.locale = locale
        self._seen_outbox_id = 0
        self.history: list[Outgoing] = []

    async def send(
        self,
        text: str | None = None,
        *,
        button: str | None = None,
        files: Sequence[IncomingFile] = (),
        contact: SharedContact | None = None,
        location: Location | None = None,
        edited: bool = False,
        reply_to: str | None = None,
    ) -> list[Outgoing]:
        """Send one event; returns what the bots queued for this person in response."""
        await self.receiver.receive(
            Incoming(
                channel=self.channel, sender_id=self.sender, chat_id=self.sender,
                message_id=f"e{next(_event_ids)}", text=text, button=button, files=tuple(files),
                contact=contact, location=location, edited=edited, reply_to=reply_to,
                sender_name=self.name, sender_locale=self.locale,
            )
        )  # fmt: skip
        return await self.replies()

    async def replies(self) -> list[Outgoing]:
        """What was queued for this person since the last look (also by other people's
        actions: a manager's quote, a status notice)."""
        async with self.sessions() as session:
            identity_id = await session.scalar(
                select(ChannelIdentity.id).where(
                    ChannelIdentity.channel == self.channel,
                    ChannelIdentity.external_id == self.sender,
                )
            )
            items = list(
                await session.scalars(
                    select(OutboxItem)
                    .where(OutboxItem.identity_id == identity_id)
                    .where(OutboxItem.id > self._seen_outbox_id)
                    .order_by(OutboxItem.id)
                )
            )
        if items:
            self._seen_outbox_id = items[-1].id
        new = [outgoing_from_json(item.payload) for item in items]
        self.history += new
        return new

    async def press(self, label: str) -> list[Outgoing]:
        """Press the button with this label on the latest message that has it."""
        return await self.send(button=self.button(label).payload)

    def button(self, label: str) -> Button:
        for message in reversed(self.history):
            for row in message.buttons:
                for found in row:
                    if found.label == label:
                        return found
        shown = [b.label for m in self.history[-3:] for row in m.buttons for b in row]
        raise AssertionError(f"no button {label!r}; the latest buttons are {shown}")

    @property
    def last_text(self) -> str:
        message = self.history[-1]
        return message.html or message.text


def texts(messages: Sequence[Outgoing]) -> list[str]:
    return [message.html or message.text for message in messages]


def labels(message: Outgoing) -> list[str]:
    return [button.label for row in message.buttons for button in row]
