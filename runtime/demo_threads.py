"""Conversations for `pult demo`: each demo client writes from Telegram or e-mail, the
orders' client and executor threads hold a short, believable exchange (some still waiting
for an answer), and one stranger asks about prices (a lead).

What people write comes in through the inbound Receiver, the pipeline every channel uses,
from their own identity: a client's line is authored by the client, an executor's by the
executor. Each line is a reply about its order (the order number an e-mail carries in its
subject; in Telegram, a reply to the bot's message about that order), so it is filed in
that order's thread even when the person has several orders open. The manager's earlier
answers are the desk's history: stored as sent, on the counterpart's channel, authored by
the manager. Afterwards the messages are moved back in time so the inbox shows realistic
ages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from core.models import ChannelIdentity, Client, Order, OrderStatus
from inbox.channel import Incoming, ThreadHint
from inbox.conversations import insert_message, order_thread
from inbox.models import Conversation, ConversationKind, DeliveryStatus, Direction, Message
from runtime.bootstrap import Container

IN, OUT = Direction.IN, Direction.OUT
QUIET = {OrderStatus.DRAFT, OrderStatus.CLOSED, OrderStatus.CANCELLED}
EMAIL = "email"

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
LEAD_LINE = "Здравствуйте, сколько стоит курсовая по маркетингу на 30 страниц?"
STRANGER = ("Полина Андреева", "tg-demo-stranger")


@dataclass(frozen=True, slots=True)
class _Line:
    order: Order | None  # None: the stranger's lead
    side: ConversationKind
    direction: Direction
    text: str
    identity: ChannelIdentity


async def client_identities(
    session: AsyncSession, clients: list[Client]
) -> dict[int, ChannelIdentity]:
    """Every second client with an address writes by e-mail, the others from Telegram (as
    the bot's registration leaves them: name and phone known)."""
    found: dict[int, ChannelIdentity] = {}
    for number, client in enumerate(clients):
        by_mail = client.email is not None and number % 2 == 1
        identity = ChannelIdentity(
            channel=EMAIL if by_mail else "telegram",
            external_id=client.email if by_mail and client.email else f"tg-demo-{number}",
            chat_id=client.email if by_mail else f"tg-demo-{number}",
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


async def add_demo_threads(
    container: Container, identities: dict[int, ChannelIdentity], manager_id: int | None
) -> int:
    """Writes the demo conversations; returns how many messages."""
    async with container.sessions() as session:
        orders = list(await session.scalars(sa.select(Order).order_by(Order.id)))
        executors = {
            row.executor_id: row
            for row in await session.scalars(
                sa.select(ChannelIdentity).where(ChannelIdentity.executor_id.is_not(None))
            )
        }
        lines = _script(orders, identities, executors)
    message_ids = []
    for number, line in enumerate(lines):
        message_ids.append(await _say(container, line, number, manager_id))
    stranger = await container.receiver.receive(
        Incoming(
            channel="telegram", sender_id=STRANGER[1], chat_id=STRANGER[1],
            message_id="demo-lead", text=LEAD_LINE, sender_name=STRANGER[0],
        )
    )  # fmt: skip
    if stranger is not None and stranger.message_id is not None:
        message_ids.append(stranger.message_id)
    async with container.uow() as uow:
        await _backdate(uow.session, [m for m in message_ids if m is not None])
        await uow.commit()
    return len(message_ids)


def _script(
    orders: list[Order],
    identities: dict[int, ChannelIdentity],
    executors: dict[int | None, ChannelIdentity],
) -> list[_Line]:
    lines: list[_Line] = []
    for position, order in enumerate(orders):
        if order.status in QUIET:
            continue
        identity = identities[order.client_id]
        script = CLIENT_LINES.get(order.kind.code, CLIENT_LINES["print_job"])
        # Every second order's client has had the last word: it waits for an answer.
        script = script if position % 2 == 0 else [line for line in script if line[0] is OUT][:1]
        client_side = ConversationKind.CLIENT
        lines += [_Line(order, client_side, d, text, identity) for d, text in script]
        if order.executor_id is not None and order.kind.code == "student_paper":
            executor = executors[order.executor_id]
            side = ConversationKind.EXECUTOR
            lines += [_Line(order, side, d, text, executor) for d, text in EXECUTOR_LINES]
    return lines


async def _say(
    container: Container, line: _Line, number: int, manager_id: int | None
) -> int | None:
    """One line: what the counterpart writes through the Receiver, the manager's answer as
    the desk's sent history."""
    identity, order = line.identity, line.order
    assert order is not None
    if line.direction is IN:
        by_mail = identity.channel == EMAIL
        received = await container.receiver.receive(
            Incoming(
                channel=identity.channel, sender_id=identity.external_id,
                chat_id=identity.chat_id, message_id=f"demo-{number}", text=line.text,
                sender_name=identity.display_name,
                thread=ThreadHint(order_number=order.number, side=line.side.value),
                conversational=not by_mail,
            )
        )  # fmt: skip
        return received.message_id if received is not None else None
    async with container.uow() as uow:
        attached = await uow.session.get(Order, order.id)
        assert attached is not None
        conversation = await order_thread(uow.session, attached, line.side)
        message_id = await insert_message(
            uow.session, conversation, OUT, line.text, channel=identity.channel,
            identity_id=identity.id, author_user_id=manager_id,
            delivery_status=DeliveryStatus.SENT,
        )  # fmt: skip
        await uow.commit()
    return message_id


async def _backdate(session: AsyncSession, message_ids: list[int]) -> None:
    """Spread the messages over the last hours, oldest first, a few minutes apart, the
    newest a few minutes ago; then the conversations' activity times follow them."""
    now = utcnow()
    count = len(message_ids)
    for index, message_id in enumerate(message_ids):
        age = timedelta(minutes=7 * (count - index) + 3)
        await session.execute(
            sa.update(Message).where(Message.id == message_id).values(created_at=now - age)
        )
    # Anything else written meanwhile (notes, the applications) is older than the demo's lines.
    await session.execute(
        sa.update(Message)
        .where(Message.id.not_in(message_ids))
        .values(created_at=now - timedelta(minutes=7 * count + 30))
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
