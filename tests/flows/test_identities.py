"""One person, one client (issue 11, item 20): a walk-in whom an operator entered by phone
and who later writes to the bot and shares that phone is the same client, not a second one;
the lead made on first contact joins the card with its messages and money."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import ledger, orders
from core.ledger import Source
from core.models import ChannelIdentity, Client
from core.transitions import Actor
from inbox.channel import SharedContact
from inbox.models import Conversation, ConversationKind, Direction, Message
from inbox.receive import Receiver
from tests import builders
from tests.chat import Chat, labels, texts


async def _walk_in(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """The print shop's operator takes a call: a new client by phone, and an order."""
    async with sessions() as session:
        operator = await builders.staff(session)
        card = Client(name="Попов Алексей", phone="+79161234567")
        session.add(card)
        await session.flush()
        paper = await builders.kind(session, "student_paper")
        order = await orders.create_order(
            session, kind=paper, client_id=card.id, actor=Actor.staff(operator), title="Визитки"
        )
        await session.commit()
        return card.id, order.number


async def test_a_walk_in_who_shares_the_same_phone_in_the_bot_is_the_same_client(
    sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    card_id, number = await _walk_in(sessions)
    chat = Chat(sessions, receiver, name="Лёша")
    await chat.send("Здравствуйте, я заказывал визитки")
    async with sessions() as session:
        lead_id = await session.scalar(select(ChannelIdentity.client_id))
        assert lead_id is not None
        await ledger.top_up(session, lead_id, 50_000, "RUB", Source.desk("main"))
        await session.commit()
    await chat.send("Алексей")
    await chat.send(contact=SharedContact("8 916 123-45-67", "Алексей", own=True))

    said = await chat.press("Мои заказы")
    assert texts(said) == ["Ваши заказы:"]
    assert labels(said[0]) == [f"№{number} Визитки"]
    async with sessions() as session:
        clients = list(await session.scalars(select(Client)))
        identity = await session.scalar(select(ChannelIdentity))
        free = await ledger.balance(
            session, ledger.accounts.AccountKind.CLIENT_BALANCE, card_id, "RUB"
        )
        lead = list(
            await session.execute(
                select(Message.direction, Message.text)
                .join(Conversation, Message.conversation_id == Conversation.id)
                .where(Conversation.kind == ConversationKind.LEAD)
                .order_by(Message.id)
            )
        )
    assert [(c.id, c.name, c.phone) for c in clients] == [
        (card_id, "Попов Алексей", "+79161234567")
    ]
    assert identity is not None and identity.client_id == card_id
    assert free == 50_000  # the lead's money came along through the ledger
    assert lead[0] == (Direction.IN, "Здравствуйте, я заказывал визитки")
    assert lead[1][0] is Direction.SYSTEM and "объединена" in lead[1][1]
    assert await _unbalanced(sessions) == []


async def _unbalanced(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions() as session:
        return await ledger.unbalanced_transaction_ids(session)


async def test_a_typed_phone_does_not_join_a_card(
    sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    # Only a phone the channel vouches for is proof: anyone can type someone else's number.
    card_id, _ = await _walk_in(sessions)
    chat = Chat(sessions, receiver)
    await chat.send("/start")
    await chat.send("Алексей")
    await chat.send("+7 916 123-45-67")
    async with sessions() as session:
        identity = await session.scalar(select(ChannelIdentity))
        count = await session.scalar(select(func.count(Client.id)))
    assert identity is not None and identity.client_id != card_id
    assert count == 2
