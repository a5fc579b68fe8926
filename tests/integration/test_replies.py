"""The manager answers: notes stay inside, replies go to the counterpart's preferred
reachable identity (or the channel named) through the outbox, in one transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import exchange
from core.db import utcnow
from core.models import ChannelIdentity
from inbox.conversations import add_message, order_thread
from inbox.models import ConversationKind, DeliveryStatus, Direction, OutboxItem
from inbox.outbox import outgoing_from_json
from inbox.replies import NoRoute, forward, reply
from tests import builders


async def _identities(session: AsyncSession, client_id: int) -> tuple[ChannelIdentity, ...]:
    now = utcnow()
    telegram = ChannelIdentity(
        channel="telegram",
        external_id="1",
        chat_id="1",
        client_id=client_id,
        last_seen_at=now - timedelta(days=2),
    )
    email = ChannelIdentity(
        channel="email",
        external_id="anna@example.ru",
        chat_id="anna@example.ru",
        client_id=client_id,
        last_seen_at=now,
    )
    session.add_all([telegram, email])  # fmt: skip
    await session.flush()
    return telegram, email


async def test_a_reply_goes_to_the_channel_the_client_used_last(session: AsyncSession) -> None:
    order, manager = await builders.paper_order(session)
    _telegram, email = await _identities(session, order.client_id)
    thread = await order_thread(session, order, ConversationKind.CLIENT)

    message = await reply(session, thread, "Готово к пятнице", author_user_id=manager.user_id or 0)

    item = await session.scalar(select(OutboxItem))
    assert item is not None
    outgoing = outgoing_from_json(item.payload)
    assert (message.direction, message.delivery_status) == (Direction.OUT, DeliveryStatus.QUEUED)
    assert (item.channel, item.chat_id, item.message_id) == ("email", email.chat_id, message.id)
    assert (outgoing.text, outgoing.order_id) == ("Готово к пятнице", order.id)
    assert thread.last_outbound_at is not None


async def test_a_named_channel_and_unreachable_identities(session: AsyncSession) -> None:
    order, _manager = await builders.paper_order(session)
    telegram, email = await _identities(session, order.client_id)
    thread = await order_thread(session, order, ConversationKind.CLIENT)
    await reply(session, thread, "в телеграм", author_user_id=1, channel="telegram")
    email.reachable = False
    await reply(session, thread, "почта не доходит", author_user_id=1)
    telegram.reachable = False
    with pytest.raises(NoRoute):
        await reply(session, thread, "некуда", author_user_id=1)
    channels = list(await session.scalars(select(OutboxItem.channel).order_by(OutboxItem.id)))
    assert channels == ["telegram", "telegram"]


async def test_internal_notes_never_leave(session: AsyncSession) -> None:
    order, _manager = await builders.paper_order(session)
    await _identities(session, order.client_id)
    notes = await order_thread(session, order, ConversationKind.NOTES)
    message = await reply(session, notes, "клиент капризный", author_user_id=1)
    assert message.direction is Direction.NOTE
    assert await session.scalar(select(OutboxItem)) is None


async def test_relaying_to_the_executor_masks_contacts(session: AsyncSession) -> None:
    order, manager = await builders.order_on_exchange(session, 100_000)
    author = await builders.executor(session)
    await exchange.take_job(session, order, author)
    session.add(ChannelIdentity(channel="telegram", external_id="a1", chat_id="a1",
                                executor_id=author.id))  # fmt: skip
    client_thread = await order_thread(session, order, ConversationKind.CLIENT)
    said = await add_message(
        session, client_thread, Direction.IN,
        "Пусть автор позвонит мне: +7 916 123-45-67, почта anna@mail.ru. Объём 35 страниц.",
    )  # fmt: skip

    relayed = await forward(session, said, author_user_id=manager.user_id or 0)

    item = await session.scalar(select(OutboxItem))
    assert item is not None and item.chat_id == "a1"
    text = outgoing_from_json(item.payload).text
    assert "916" not in text and "anna@mail.ru" not in text
    assert text.count("[контакт скрыт]") == 2
    assert text.endswith("Объём 35 страниц.")
    assert relayed.forwarded_from_id == said.id


async def test_nothing_is_relayed_to_an_order_without_an_executor(session: AsyncSession) -> None:
    order, manager = await builders.paper_order(session)
    client_thread = await order_thread(session, order, ConversationKind.CLIENT)
    said = await add_message(session, client_thread, Direction.IN, "вопрос автору")
    with pytest.raises(NoRoute):
        await forward(session, said, author_user_id=manager.user_id or 0)
