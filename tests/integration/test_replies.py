"""The manager answers: notes stay inside, replies go to the counterpart's preferred
reachable identity (or the channel named) through the outbox, in one transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import exchange
from core.db import utcnow
from core.models import ChannelIdentity, Client, FilePurpose, StoredFile
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


async def test_relaying_a_clients_file_masks_the_contact_in_its_name(
    session: AsyncSession,
) -> None:
    order, manager = await builders.order_on_exchange(session, 100_000)
    author = await builders.executor(session)
    await exchange.take_job(session, order, author)
    session.add(ChannelIdentity(channel="telegram", external_id="a1", chat_id="a1",
                                executor_id=author.id))  # fmt: skip
    layout = StoredFile(
        storage_key="ab/cd", original_name="макет_ivan_89161234567.pdf",
        content_type="application/pdf", size=10, sha256="0" * 64,
        purpose=FilePurpose.ATTACHMENT, order_id=order.id,
    )  # fmt: skip
    session.add(layout)
    await session.flush()
    client_thread = await order_thread(session, order, ConversationKind.CLIENT)
    said = await add_message(session, client_thread, Direction.IN, "Макет", files=[layout])

    await forward(session, said, author_user_id=manager.user_id or 0, locale="en")

    item = await session.scalar(select(OutboxItem))
    assert item is not None
    (sent,) = outgoing_from_json(item.payload).files
    assert sent.name == "макет_ivan_[contact hidden].pdf"  # the desk's language: en here


async def test_nothing_is_relayed_to_an_order_without_an_executor(session: AsyncSession) -> None:
    order, manager = await builders.paper_order(session)
    client_thread = await order_thread(session, order, ConversationKind.CLIENT)
    said = await add_message(session, client_thread, Direction.IN, "вопрос автору")
    with pytest.raises(NoRoute):
        await forward(session, said, author_user_id=manager.user_id or 0)


async def test_the_address_on_the_card_is_a_way_to_write_first_by_e_mail(
    session: AsyncSession,
) -> None:
    order, manager = await builders.paper_order(session)
    client = await session.get(Client, order.client_id)
    assert client is not None
    thread = await order_thread(session, order, ConversationKind.CLIENT)
    me = manager.user_id or 0
    with pytest.raises(NoRoute):  # no address on the card yet
        await reply(session, thread, "Счёт во вложении", author_user_id=me, channel="email")
    client.email = " Anna.Smirnova@Example.ru "

    first = await reply(session, thread, "Счёт во вложении", author_user_id=me, channel="email")
    second = await reply(session, thread, "Напоминаю о счёте", author_user_id=me, channel="email")

    identities = list(await session.scalars(select(ChannelIdentity)))
    assert [(i.channel, i.external_id, i.chat_id, i.client_id) for i in identities] == [
        ("email", "anna.smirnova@example.ru", "anna.smirnova@example.ru", client.id)
    ]
    assert first.identity_id == second.identity_id == identities[0].id
    items = list(await session.scalars(select(OutboxItem).order_by(OutboxItem.id)))
    assert [(item.channel, item.chat_id) for item in items] == [
        ("email", "anna.smirnova@example.ru")
    ] * 2
    identities[0].reachable = False  # the address bounced: not written to again
    with pytest.raises(NoRoute):
        await reply(
            session, thread, "Ещё раз", author_user_id=manager.user_id or 0, channel="email"
        )


async def test_a_card_address_known_as_someone_elses_is_not_used(session: AsyncSession) -> None:
    order, manager = await builders.paper_order(session)
    me = manager.user_id or 0
    client = await session.get(Client, order.client_id)
    assert client is not None
    client.email = "shared@example.ru"
    session.add(ChannelIdentity(channel="email", external_id="shared@example.ru"))
    await session.flush()
    thread = await order_thread(session, order, ConversationKind.CLIENT)

    with pytest.raises(NoRoute):
        await reply(session, thread, "Счёт", author_user_id=me, channel="email")
