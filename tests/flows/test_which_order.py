""" "Which order?" as a flow of the dialog engine (issue 11, item 7): a client with several
open orders is asked which one a message is about; everything they write before answering
is held and filed, in order, into the chosen order's thread; leaving the question for the
menu files what was held instead of dropping it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import orders
from core.models import ChannelIdentity, Order
from core.transitions import Actor
from inbox.channel import SharedContact
from inbox.models import Conversation, ConversationKind, DialogState, InboundEvent, Message
from inbox.receive import Receiver
from tests import builders
from tests.chat import Chat, labels, texts


@pytest.fixture
async def chat(sessions: async_sessionmaker[AsyncSession], receiver: Receiver) -> Chat:
    chat = Chat(sessions, receiver)
    await chat.send("/start")
    await chat.send("Анна Петрова")
    await chat.send(contact=SharedContact("+7 916 123-45-67", "Анна", own=True))
    return chat


async def _two_orders(sessions: async_sessionmaker[AsyncSession]) -> list[Order]:
    async with sessions() as session:
        client_id = await session.scalar(
            select(ChannelIdentity.client_id).where(ChannelIdentity.external_id == "100")
        )
        assert client_id is not None
        paper = await builders.kind(session, "student_paper")
        made = [
            await orders.create_order(
                session, kind=paper, client_id=client_id, actor=Actor.client(client_id),
                title=title,
            )
            for title in ("Курсовая", "Диплом")
        ]  # fmt: skip
        await session.commit()
    return made


async def _filed(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, int | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Message.text, Conversation.order_id)
            .join(Conversation, Message.conversation_id == Conversation.id)
            .where(Message.direction == "in", Conversation.kind != ConversationKind.LEAD)
            .order_by(Message.id)
        )
        return [(row.text, row.order_id) for row in rows]


async def test_two_messages_held_by_which_order_are_both_filed_after_the_choice(
    chat: Chat, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first, second = await _two_orders(sessions)
    asked = await chat.send("поменяйте тему")
    assert texts(asked) == ["У вас несколько заказов в работе. К какому из них ваше сообщение?"]
    assert labels(asked[0]) == [f"№{second.number} Диплом", f"№{first.number} Курсовая"]
    assert await chat.send("и объём 40 страниц") == []  # held too, not asked twice
    assert await _filed(sessions) == []

    await chat.press(f"№{first.number} Курсовая")
    assert await _filed(sessions) == [
        ("поменяйте тему", first.id),
        ("и объём 40 страниц", first.id),
    ]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DialogState)) == 0
        held = list(
            await session.scalars(
                select(InboundEvent.message_id).where(
                    InboundEvent.payload["text"]
                    .as_string()
                    .in_(["поменяйте тему", "и объём 40 страниц"])
                )
            )
        )
    assert len(held) == 2 and None not in held  # each event points at its message

    await chat.send("спасибо")  # the question is over: asked again, not filed silently
    assert chat.history[-1].text.startswith("У вас несколько заказов")


async def test_leaving_which_order_for_the_menu_files_the_held_messages(
    chat: Chat, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _two_orders(sessions)
    await chat.send("поменяйте тему")
    await chat.send("и объём 40 страниц")
    said = await chat.send("/menu")
    assert texts(said)[-1] == "Что вы хотите сделать?"
    async with sessions() as session:
        rows = await session.execute(
            select(Message.text, Conversation.kind)
            .join(Conversation, Message.conversation_id == Conversation.id)
            .where(Message.text.in_(["поменяйте тему", "и объём 40 страниц"]))
            .order_by(Message.id)
        )
        filed = [tuple(row) for row in rows]
    # Nobody said which order: the manager reads them in the client's lead conversation.
    assert filed == [
        ("поменяйте тему", ConversationKind.LEAD),
        ("и объём 40 страниц", ConversationKind.LEAD),
    ]


async def test_a_which_order_button_for_an_order_not_offered_files_nothing_and_asks_again(
    chat: Chat, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first, _second = await _two_orders(sessions)
    await chat.send("поменяйте тему")
    said = await chat.send(button="thread:order:999999")
    assert texts(said) == ["У вас несколько заказов в работе. К какому из них ваше сообщение?"]
    assert await _filed(sessions) == []
    await chat.press(f"№{first.number} Курсовая")
    assert await _filed(sessions) == [("поменяйте тему", first.id)]


async def test_an_old_start_over_button_during_which_order_files_the_held_and_shows_the_menu(
    chat: Chat, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _two_orders(sessions)
    await chat.send("поменяйте тему")
    said = await chat.send(button="dlg:restart")
    assert texts(said)[-1] == "Что вы хотите сделать?"
    async with sessions() as session:
        kinds = list(
            await session.scalars(
                select(Conversation.kind)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(Message.text == "поменяйте тему")
            )
        )
    assert kinds == [ConversationKind.LEAD]
