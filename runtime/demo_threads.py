"""Conversations for `pult demo`: each demo client writes from Telegram or e-mail, the
orders' client and executor threads hold a short, believable exchange (some still waiting
for an answer), and one stranger asks about prices (a lead). Messages are written through
the inbox's own functions, then moved back in time so the inbox shows realistic ages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from core.models import ChannelIdentity, Client, Order, OrderStatus
from inbox.conversations import insert_message, lead_conversation, order_thread
from inbox.models import Conversation, ConversationKind, DeliveryStatus, Direction, Message

IN, OUT = Direction.IN, Direction.OUT
QUIET = {OrderStatus.DRAFT, OrderStatus.CLOSED, OrderStatus.CANCELLED}

CLIENT_LINES = {
    "student_paper": [
        (IN, "Здравствуйте! Подскажите, когда будет готова работа?"),
        (OUT, "Добрый день! Автор сдаёт черновик к пятнице, пришлём сразу."),
        (IN, "Спасибо! И можно добавить ещё пару источников 2024 года?"),
    ],
    "print_job": [
        (IN, "Добрый день, макет отправил, посмотрите, пожалуйста"),
        (OUT, "Получили, всё в порядке. Запускаем в печать завтра утром."),
    ],
    "trip": [
        (IN, "Машина будет к 9:00? На въезде нужен пропуск"),
        (OUT, "Да, водитель выезжает в 8:15. Пропуск оформим, пришлите номер машины охране."),
        (IN, "Хорошо, жду"),
    ],
}
EXECUTOR_LINES = [
    (OUT, "Клиент просит добавить пару свежих источников, успеете?"),
    (IN, "Да, добавлю, сдам в четверг вечером."),
]
LEAD_LINES = [(IN, "Здравствуйте, сколько стоит курсовая по маркетингу на 30 страниц?")]
STRANGER = ("Полина Андреева", "tg-demo-stranger")


@dataclass(frozen=True, slots=True)
class _Line:
    conversation: Conversation
    direction: Direction
    text: str
    identity_id: int | None
    channel: str


async def add_demo_threads(
    session: AsyncSession, clients: list[Client], manager_id: int | None
) -> int:
    """Writes the demo conversations; returns how many messages."""
    identities = await _identities(session, clients)
    orders = list(await session.scalars(sa.select(Order).order_by(Order.id)))
    lines: list[_Line] = []
    for position, order in enumerate(orders):
        if order.status in QUIET:
            continue
        identity = identities[order.client_id]
        script = CLIENT_LINES.get(order.kind.code, CLIENT_LINES["print_job"])
        # Every second order's client has had the last word: it waits for an answer.
        script = script if position % 2 == 0 else [line for line in script if line[0] is OUT][:1]
        client_thread = await order_thread(session, order, ConversationKind.CLIENT)
        lines += [
            _Line(client_thread, d, text, identity.id, identity.channel) for d, text in script
        ]
        if order.executor_id is not None and order.kind.code == "student_paper":
            executor_thread = await order_thread(session, order, ConversationKind.EXECUTOR)
            lines += [
                _Line(executor_thread, d, text, None, "telegram") for d, text in EXECUTOR_LINES
            ]
    stranger = await _stranger(session)
    lead = await lead_conversation(session, stranger.client_id or 0)
    lines += [_Line(lead, d, text, stranger.id, "telegram") for d, text in LEAD_LINES]
    await _write(session, lines, manager_id)
    return len(lines)


async def _identities(session: AsyncSession, clients: list[Client]) -> dict[int, ChannelIdentity]:
    found: dict[int, ChannelIdentity] = {}
    for number, client in enumerate(clients):
        by_mail = client.email is not None and number % 2 == 1
        identity = ChannelIdentity(
            channel="email" if by_mail else "telegram",
            external_id=client.email if by_mail and client.email else f"tg-demo-{number}",
            chat_id=None if by_mail else f"tg-demo-{number}",
            display_name=client.name,
            client_id=client.id,
            phone=client.phone,
            email=client.email,
            email_verified=by_mail,
        )
        session.add(identity)
        found[client.id] = identity
    await session.flush()
    return found


async def _stranger(session: AsyncSession) -> ChannelIdentity:
    name, external_id = STRANGER
    client = Client(name=name)
    session.add(client)
    await session.flush()
    identity = ChannelIdentity(
        channel="telegram", external_id=external_id, chat_id=external_id, display_name=name,
        client_id=client.id,
    )  # fmt: skip
    session.add(identity)
    await session.flush()
    return identity


async def _write(session: AsyncSession, lines: list[_Line], manager_id: int | None) -> None:
    """Insert, then spread the messages over the last two days, oldest first; each thread's
    messages a few minutes apart, the last thread's newest one a few minutes ago."""
    now = utcnow()
    ages = {}
    for index, line in enumerate(lines):
        outgoing = line.direction is OUT
        message_id = await insert_message(
            session, line.conversation, line.direction, line.text,
            channel=line.channel, identity_id=None if outgoing else line.identity_id,
            author_user_id=manager_id if outgoing else None,
            author_client_id=None if outgoing else line.conversation.client_id,
            delivery_status=DeliveryStatus.SENT if outgoing else None,
        )  # fmt: skip
        ages[message_id] = timedelta(minutes=7 * (len(lines) - index) + 3)
    for message_id, age in ages.items():
        await session.execute(
            sa.update(Message).where(Message.id == message_id).values(created_at=now - age)
        )
    await _retime_conversations(session)


async def _retime_conversations(session: AsyncSession) -> None:
    """The conversations' activity times follow the backdated messages."""
    conversations = list(await session.scalars(sa.select(Conversation)))
    for conversation in conversations:
        for column, directions in (
            ("last_message_at", (IN, OUT, Direction.NOTE, Direction.SYSTEM)),
            ("last_inbound_at", (IN,)),
            ("last_outbound_at", (OUT,)),
        ):
            newest = await session.scalar(
                sa.select(sa.func.max(Message.created_at)).where(
                    Message.conversation_id == conversation.id,
                    Message.direction.in_(directions),
                )
            )
            setattr(conversation, column, newest)
    await session.flush()
