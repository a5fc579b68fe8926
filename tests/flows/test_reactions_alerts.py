"""Staff alerts in a messenger through the real reactions on a real database: staff who
linked their Telegram hear of new orders, inbound messages and payments, with a button to
the panel; never of what they did themselves."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import orders, payments
from core.events import LocalPublisher
from core.models import ChannelIdentity, Order, PaymentMethod, StaffRole, User
from core.transitions import Actor
from handlers.reactions import reactions
from handlers.services import Services
from inbox.channel import Outgoing
from inbox.conversations import order_thread
from inbox.models import Conversation, ConversationKind
from inbox.receive import Receiver
from inbox.replies import reply
from tests import builders
from tests.chat import Chat, texts
from tests.flows.desk import unit

PUBLIC_URL = "https://desk.example/"
NBSP = "\u00a0"


@pytest.fixture
def publisher() -> LocalPublisher:
    publisher = LocalPublisher()
    for reaction in reactions(Services(public_url=PUBLIC_URL)):
        publisher.add_reaction(reaction)
    return publisher


async def _staff(session: AsyncSession, role: StaffRole, chat: str | None) -> User:
    """A staff user; with `chat`, linked to a Telegram identity."""
    user = await builders.staff(session, role)
    if chat is not None:
        session.add(
            ChannelIdentity(channel="telegram", external_id=chat, chat_id=chat, user_id=user.id)
        )
        await session.flush()
    return user


async def _client(session: AsyncSession, chat: str, name: str) -> int:
    buyer = await builders.client(session, name)
    session.add(
        ChannelIdentity(channel="telegram", external_id=chat, chat_id=chat, client_id=buyer.id)
    )
    await session.flush()
    return buyer.id


async def _place(
    session: AsyncSession, client_id: int, actor: Actor, *, manager: User | None = None,
    draft: bool = False,
) -> Order:  # fmt: skip
    return await orders.create_order(
        session, kind=await builders.kind(session, "print_job"), client_id=client_id,
        actor=actor, title="Визитки", manager_id=manager.id if manager else None, draft=draft,
    )  # fmt: skip


def _links(messages: list[Outgoing]) -> list[tuple[str, str | None]]:
    return [(b.label, b.payload) for m in messages for row in m.buttons for b in row]


async def test_new_orders_alert_the_orders_staff_but_not_the_one_who_placed_it(
    sessions: async_sessionmaker[AsyncSession], publisher: LocalPublisher, receiver: Receiver
) -> None:
    async with unit(sessions, publisher) as session:
        manager = await _staff(session, StaffRole.MANAGER, "900")
        await _staff(session, StaffRole.OWNER, "901")
        await _staff(session, StaffRole.OPERATOR, "902")
        await _staff(session, StaffRole.MANAGER, None)
        minder = await _staff(session, StaffRole.MANAGER, "903")
        client_id = await _client(session, "100", "Анна Смирнова")
        placed = await _place(session, client_id, Actor.client(client_id))
        await _place(session, client_id, Actor.client(client_id), draft=True)
        number, order_id, manager_id = placed.number, placed.id, manager.id
    staff = {chat: Chat(sessions, receiver, chat) for chat in ("900", "901", "902", "903")}
    alert = await staff["900"].replies()
    assert texts(alert) == [f"Новый заказ №{number}: Визитки"]
    assert _links(alert) == [("Открыть в панели", f"https://desk.example/orders/{order_id}")]
    assert texts(await staff["901"].replies()) == [f"Новый заказ №{number}: Визитки"]
    assert texts(await staff["903"].replies()) == [f"Новый заказ №{number}: Визитки"]
    assert await staff["902"].replies() == []  # operators are not alerted

    async with unit(sessions, publisher) as session:
        me = await session.get(User, manager_id)
        assert me is not None
        own = await _place(session, client_id, Actor.staff(me))
        minded = await _place(session, client_id, Actor.client(client_id), manager=minder)
        own_number, minded_number = own.number, minded.number
    assert await staff["900"].replies() == []  # placed it themselves; the other isn't theirs
    assert texts(await staff["901"].replies()) == [f"Новый заказ №{own_number}: Визитки"]
    assert texts(await staff["903"].replies()) == [
        f"Новый заказ №{own_number}: Визитки",
        f"Новый заказ №{minded_number}: Визитки",
    ]

    async with unit(sessions, publisher) as session:  # a draft placed later alerts then
        draft = await session.scalar(select(Order).where(Order.status == "draft"))
        assert draft is not None
        await orders.submit_order(session, draft, Actor.client(client_id))
        draft_number = draft.number
    assert texts(await staff["900"].replies()) == [f"Новый заказ №{draft_number}: Визитки"]


async def test_inbound_messages_alert_the_staff_and_the_managers_own_reply_does_not(
    sessions: async_sessionmaker[AsyncSession], publisher: LocalPublisher, receiver: Receiver
) -> None:
    async with unit(sessions, publisher) as session:
        manager = await _staff(session, StaffRole.MANAGER, "900")
        await _staff(session, StaffRole.OWNER, "901")
        await _client(session, "101", "Борис")
        client_id = await _client(session, "100", "Анна Смирнова")
        order = await _place(session, client_id, Actor.client(client_id))
        number, order_id, manager_id = order.number, order.id, manager.id
    boss, owner = Chat(sessions, receiver, "900"), Chat(sessions, receiver, "901")
    await boss.replies(), await owner.replies()
    anna, boris = Chat(sessions, receiver, "100"), Chat(sessions, receiver, "101")
    await anna.send("Можно ли напечатать " + "очень " * 30 + "срочно?")
    alert = await boss.replies()
    preview = ("Можно ли напечатать " + "очень " * 30)[:100].rstrip() + "…"
    assert texts(alert) == [f"Новое сообщение по заказу №{number} — Анна Смирнова: {preview}"]
    assert _links(alert) == [("Открыть в панели", f"https://desk.example/orders/{order_id}")]
    assert len(await owner.replies()) == 1  # the order has no manager yet: owners too

    await boris.send("Здравствуйте, сколько стоят визитки?")
    lead = await _lead_conversation(sessions)
    lead_alert = await boss.replies()
    assert texts(lead_alert) == ["Новое сообщение — Борис: Здравствуйте, сколько стоят визитки?"]
    assert _links(lead_alert) == [
        ("Открыть в панели", f"https://desk.example/conversations/{lead}")
    ]
    assert await owner.replies() == []  # leads are the managers' work

    async with unit(sessions, publisher) as session:
        order = await session.get(Order, order_id)
        assert order is not None
        thread = await order_thread(session, order, ConversationKind.CLIENT)
        await reply(session, thread, "Да, к завтрашнему утру.", author_user_id=manager_id)
    assert texts(await anna.replies()) == ["Да, к завтрашнему утру."]
    assert await boss.replies() == [] and await owner.replies() == []


async def _lead_conversation(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        found = await session.scalar(
            select(Conversation.id).where(Conversation.kind == ConversationKind.LEAD)
        )
    assert found is not None
    return found


async def test_payments_alert_everyone_but_the_manager_who_recorded_it(
    sessions: async_sessionmaker[AsyncSession], publisher: LocalPublisher, receiver: Receiver
) -> None:
    async with unit(sessions, publisher) as session:
        manager = await _staff(session, StaffRole.MANAGER, "900")
        await _staff(session, StaffRole.OWNER, "901")
        client_id = await _client(session, "100", "Анна Смирнова")
        order = await _place(session, client_id, Actor.client(client_id))
        desk = Actor.staff(manager)
        await orders.quote_order(session, order, desk, 300_000)
        await orders.accept_quote(session, order, desk)  # a print job: nothing up front
        number, order_id, manager_id = order.number, order.id, manager.id
    boss, owner = Chat(sessions, receiver, "900"), Chat(sessions, receiver, "901")
    await boss.replies(), await owner.replies()
    async with unit(sessions, publisher) as session:
        order = await session.get(Order, order_id)
        assert order is not None
        await payments.record_payment(
            session, order, 120_000, PaymentMethod.CASH, provider="manual",
            recorded_by=manager_id,
        )  # fmt: skip
    assert await boss.replies() == []
    assert texts(await owner.replies()) == [
        f"Получена оплата: 1{NBSP}200{NBSP}₽ по заказу №{number}"
    ]
    async with unit(sessions, publisher) as session:
        order = await session.get(Order, order_id)
        assert order is not None
        await payments.record_payment(
            session, order, 30_000, PaymentMethod.GATEWAY, provider="yookassa",
            recorded_by=None, external_id="pay-1",
        )  # fmt: skip
    assert texts(await boss.replies()) == [f"Получена оплата: 300{NBSP}₽ по заказу №{number}"]
