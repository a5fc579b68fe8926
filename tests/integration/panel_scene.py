"""Data for the panel's read-model tests, made through the real core and inbox functions:
orders, conversations, inbound messages (as the inbound pipeline stores them) and replies."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core import orders
from core.models import ChannelIdentity, Client, Order, StaffRole, User
from core.transitions import Actor
from inbox.conversations import insert_message, lead_conversation, order_thread
from inbox.models import Conversation, ConversationKind, Direction, ReadMarker
from inbox.replies import reply
from tests import builders


async def client(
    session: AsyncSession,
    name: str,
    *,
    phone: str | None = None,
    email: str | None = None,
    channel: str = "telegram",
    manager: User | None = None,
) -> Client:
    """A client with one reachable identity on `channel` (so replies can be routed)."""
    row = Client(name=name, phone=phone, email=email, manager_id=manager.id if manager else None)
    session.add(row)
    await session.flush()
    session.add(
        ChannelIdentity(
            channel=channel,
            external_id=f"{channel}-{row.id}",
            chat_id=f"{channel}-{row.id}",
            client_id=row.id,
            email=email if channel == "email" else None,
        )
    )
    await session.flush()
    return row


async def order(
    session: AsyncSession, buyer: Client, manager: User | None, *, title: str = ""
) -> Order:
    paper = await builders.kind(session, "student_paper")
    return await orders.create_order(
        session,
        kind=paper,
        client_id=buyer.id,
        actor=Actor.client(buyer.id),
        manager_id=manager.id if manager else None,
        title=title,
    )


async def client_thread(session: AsyncSession, of: Order) -> Conversation:
    return await order_thread(session, of, ConversationKind.CLIENT)


async def inbound(
    session: AsyncSession, conversation: Conversation, text: str, channel: str = "telegram"
) -> int:
    """A message from the counterpart, stored as the inbound pipeline stores it."""
    return await insert_message(
        session,
        conversation,
        Direction.IN,
        text,
        channel=channel,
        author_client_id=conversation.client_id
        if conversation.kind in (ConversationKind.CLIENT, ConversationKind.LEAD)
        else None,
        author_executor_id=conversation.executor_id,
    )


async def answer(session: AsyncSession, conversation: Conversation, text: str, by: User) -> int:
    message = await reply(session, conversation, text, author_user_id=by.id)
    return message.id


async def read_up_to(
    session: AsyncSession, user: User, conversation_id: int, message_id: int
) -> None:
    session.add(
        ReadMarker(
            conversation_id=conversation_id, user_id=user.id, last_read_message_id=message_id
        )
    )
    await session.flush()


@dataclass
class Desk:
    """Two managers and four conversations, newest activity last:

    1. order A (Анна Смирнова, manager Maria): the client wrote on Telegram, no answer yet;
    2. order B (Борис Петров, manager Ivan): the client wrote by e-mail, Ivan answered;
    3. a lead (Вера Кузнецова, no manager) wrote on VK;
    4. order A's internal notes (never listed)."""

    maria: User
    ivan: User
    anna: Client
    boris: Client
    vera: Client
    order_a: Order
    order_b: Order
    thread_a: Conversation
    thread_b: Conversation
    lead: Conversation
    notes_a: Conversation


async def desk(session: AsyncSession) -> Desk:
    maria = await builders.staff(session, StaffRole.MANAGER)
    ivan = await builders.staff(session, StaffRole.MANAGER)
    maria.name, ivan.name = "Мария", "Иван"
    anna = await client(session, "Анна Смирнова", phone="8 (912) 345-67-89")
    boris = await client(
        session, "Борис Петров", phone="+79161112233", email="boris@example.ru", channel="email"
    )
    vera = await client(session, "Вера Кузнецова", channel="vk")
    order_a = await order(session, anna, maria, title="Курсовая по экономике")
    order_b = await order(session, boris, ivan, title="Реферат по истории")
    thread_a = await client_thread(session, order_a)
    thread_b = await client_thread(session, order_b)
    await inbound(session, thread_a, "Здравствуйте! Когда будет готова работа?")
    await inbound(session, thread_b, "Пришлите, пожалуйста, счёт", channel="email")
    await answer(session, thread_b, "Счёт во вложении", ivan)
    lead = await lead_conversation(session, vera.id)
    await inbound(session, lead, "Сколько стоит диплом?", channel="vk")
    notes_a = await order_thread(session, order_a, ConversationKind.NOTES)
    await reply(session, notes_a, "Клиент просит скидку", author_user_id=maria.id)
    return Desk(maria, ivan, anna, boris, vera, order_a, order_b, thread_a, thread_b, lead, notes_a)
