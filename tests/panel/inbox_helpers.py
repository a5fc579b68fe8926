"""Shared by the inbox, conversation, socket and file tests: a small desk of conversations
made through the real core and inbox functions, the loopback channel, the dispatcher run
once, and reading the inbox page's rows."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from core import exchange
from core.models import ChannelIdentity, Order, StaffRole, User
from core.settings_store import MANAGERS_SEE_ALL, set_setting
from inbox.conversations import lead_conversation
from inbox.dispatcher import Dispatcher
from runtime.bootstrap import Container
from tests import builders
from tests.fakes.loopback import LoopbackChannel
from tests.integration import panel_scene
from tests.panel.conftest import AddStaff

_ROW = re.compile(r'<li class="inbox-row[^"]*" data-conversation="(\d+)">(.*?)</li>', re.DOTALL)


def inbox_rows(html: str) -> dict[int, str]:
    """Conversation id -> the row's HTML, in page order."""
    return {int(match[1]): match[2] for match in _ROW.finditer(html)}


@dataclass
class Desk:
    maria: int  # manager of order A
    ivan: int  # manager of order B
    anna: int
    order_a: Order
    order_b: Order
    thread_a: int
    thread_b: int
    lead: int
    inbound_a: int  # Anna's message in thread A


async def desk(container: Container, add_staff: AddStaff) -> Desk:
    """Newest activity last: order A (Анна, loopback, manager Мария) waits for an answer;
    order B (Борис, e-mail, manager Иван) was answered; a lead (Вера, VK) waits."""
    maria = await add_staff(StaffRole.MANAGER, "maria@desk.example", name="Мария")
    ivan = await add_staff(StaffRole.MANAGER, "ivan@desk.example", name="Иван")
    async with container.sessions() as session:
        maria_user = await session.get(User, maria)
        ivan_user = await session.get(User, ivan)
        assert maria_user is not None and ivan_user is not None
        anna = await panel_scene.client(
            session, "Анна Смирнова", phone="8 (912) 345-67-89", channel="loopback"
        )
        boris = await panel_scene.client(
            session, "Борис Петров", email="boris@example.ru", channel="email"
        )
        vera = await panel_scene.client(session, "Вера Кузнецова", channel="vk")
        order_a = await panel_scene.order(session, anna, maria_user, title="Курсовая")
        order_b = await panel_scene.order(session, boris, ivan_user, title="Реферат")
        thread_a = await panel_scene.client_thread(session, order_a)
        thread_b = await panel_scene.client_thread(session, order_b)
        inbound_a = await panel_scene.inbound(
            session, thread_a, "Здравствуйте! Когда будет готово?", channel="loopback"
        )
        await panel_scene.inbound(session, thread_b, "Пришлите счёт", channel="email")
        await panel_scene.answer(session, thread_b, "Счёт во вложении", ivan_user)
        lead = await lead_conversation(session, vera.id)
        await panel_scene.inbound(session, lead, "Сколько стоит диплом?", channel="vk")
        await session.commit()
        return Desk(
            maria, ivan, anna.id, order_a, order_b, thread_a.id, thread_b.id, lead.id, inbound_a
        )


async def restrict_managers(container: Container) -> None:
    async with container.sessions() as session:
        await set_setting(session, MANAGERS_SEE_ALL, False)
        await session.commit()


def loopback(container: Container) -> LoopbackChannel:
    if "loopback" in container.channels:
        channel = container.channels.get("loopback")
        assert isinstance(channel, LoopbackChannel)
        return channel
    channel = LoopbackChannel()
    container.channels.add(channel)
    return channel


async def dispatch(container: Container) -> int:
    """Run the worker's dispatcher once, as the worker would."""
    worker = Dispatcher(
        container.sessions, container.publisher, container.channels, rng=random.Random(3)
    )
    return await worker.run_once()


async def with_executor(container: Container) -> tuple[int, int, int]:
    """An order with an executor, both on the loopback channel: (client thread id,
    executor's chat id, order id)."""
    async with container.sessions() as session:
        order, manager = await builders.order_on_exchange(session, 300_000)
        author = await builders.executor(session, "Пётр Автор")
        await exchange.assign_executor(session, order, manager, author, price=300_000)
        session.add(
            ChannelIdentity(channel="loopback", external_id="exec-1", chat_id="exec-1",
                            executor_id=author.id)
        )  # fmt: skip
        session.add(
            ChannelIdentity(channel="loopback", external_id="client-1", chat_id="client-1",
                            client_id=order.client_id)
        )  # fmt: skip
        thread = await panel_scene.client_thread(session, order)
        await session.commit()
        return thread.id, author.id, order.id
