"""What the client hears from the bot when the desk moves an order, through the real
reactions on a real database: the quote card, payment and start notices, a trip's steps
with the driver's ETA, the ready order with Pay, the delivered result with its files, the
rating, and templates stored in the settings overriding the defaults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import exchange, orders, payments
from core.events import LocalPublisher
from core.lifecycle import Action
from core.models import (
    ChannelIdentity,
    Executor,
    FilePurpose,
    Order,
    OrderStatus,
    PaymentMethod,
    Setting,
    StoredFile,
)
from core.transitions import Actor, transition
from core.uow import UnitOfWork
from handlers.notices import fill, notice_template
from inbox.channel import Outgoing
from inbox.models import OutboxItem
from inbox.receive import Receiver
from tests import builders
from tests.chat import Chat, texts

NBSP = "\u00a0"
PRICE = 500_000  # 5 000 ₽; a student paper takes 50 % up front


class Desk:
    """Units of work with the reactions registered, and the ids of one order's people."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], publisher: LocalPublisher):
        self.sessions = sessions
        self.publisher = publisher
        self.order_id = 0
        self.manager = Actor.system()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[tuple[AsyncSession, Order]]:
        async with UnitOfWork(self.sessions, self.publisher) as uow:
            order = await uow.session.get(Order, self.order_id)
            assert order is not None
            yield uow.session, order
            await uow.commit()


@pytest.fixture
async def desk(sessions: async_sessionmaker[AsyncSession], publisher: LocalPublisher) -> Desk:
    return Desk(sessions, publisher)


async def _order(
    desk: Desk, kind: str = "student_paper", *, reachable: bool = True, chat: str = "100"
) -> None:
    """An order placed by a client who talks to the bot on Telegram as `chat`."""
    async with UnitOfWork(desk.sessions, desk.publisher) as uow:
        session = uow.session
        manager = Actor.staff(await builders.staff(session))
        buyer = await builders.client(session)
        session.add(
            ChannelIdentity(
                channel="telegram", external_id=chat, chat_id=chat, client_id=buyer.id,
                locale="ru", reachable=reachable,
            )
        )  # fmt: skip
        order = await orders.create_order(
            session, kind=await builders.kind(session, kind), client_id=buyer.id,
            actor=Actor.client(buyer.id), title="Курсовая: маркетинг",
        )  # fmt: skip
        await uow.commit()
    desk.order_id, desk.manager = order.id, manager


def _buttons(message: Outgoing) -> list[tuple[str, str | None]]:
    return [(b.label, b.payload) for row in message.buttons for b in row]


def _result(order_id: int, name: str, purpose: FilePurpose = FilePurpose.RESULT) -> StoredFile:
    return StoredFile(
        storage_key=f"ab/{name}", original_name=name, content_type="application/pdf", size=10,
        sha256="0" * 64, purpose=purpose, order_id=order_id,
    )  # fmt: skip


async def test_the_quote_is_a_card_and_the_prepayment_is_acknowledged(
    desk: Desk, receiver: Receiver
) -> None:
    await _order(desk)
    anna = Chat(desk.sessions, receiver, "100")
    async with desk.unit() as (session, order):
        await orders.start_evaluation(session, order, desk.manager)
    assert await anna.replies() == []  # evaluation is the desk's own business
    async with desk.unit() as (session, order):
        await orders.quote_order(session, order, desk.manager, PRICE)
        number, order_id = order.number, order.id
    quote = await anna.replies()
    assert len(quote) == 1 and quote[0].order_id == order_id
    assert quote[0].html is not None
    assert quote[0].html.startswith(f"<b>Заказ №{number}: стоимость готова</b>")
    assert f"Предоплата: 2{NBSP}500{NBSP}₽" in quote[0].html
    assert _buttons(quote[0]) == [
        ("Принять и оплатить", f"ord:accept:{order_id}"),
        ("Обсудить", f"ord:discuss:{order_id}"),
        ("Отказаться", f"ord:decline:{order_id}"),
    ]
    async with desk.unit() as (session, order):
        await orders.accept_quote(session, order, Actor.client(order.client_id))
    assert await anna.replies() == []  # the client's own button: the flow answered
    async with desk.unit() as (session, order):
        await payments.record_payment(
            session, order, 250_000, PaymentMethod.CASH, provider="manual",
            recorded_by=desk.manager.user_id,
        )  # fmt: skip
        assert order.status is OrderStatus.PAID
    assert texts(await anna.replies()) == [
        f"Оплата по заказу №{number} получена, спасибо! Приступаем к работе."
    ]


async def test_the_work_is_quiet_until_ready_then_pay_then_the_latest_files_and_a_rating(
    desk: Desk, receiver: Receiver
) -> None:
    await _order(desk)
    anna = Chat(desk.sessions, receiver, "100")
    async with desk.unit() as (session, order):
        await orders.quote_order(session, order, desk.manager, PRICE)
        await orders.accept_quote(session, order, desk.manager)
        await orders.mark_paid(session, order, desk.manager)
        await exchange.publish_to_exchange(session, order, desk.manager, fixed_price=300_000)
        author = await builders.executor(session)
        author_id, number, order_id = author.id, order.number, order.id
    await anna.replies()
    async with desk.unit() as (session, order):
        taker = await session.get(Executor, author_id)
        assert taker is not None
        await exchange.take_job(session, order, taker)
    assert texts(await anna.replies()) == [f"Автор приступил к работе над заказом №{number}."]
    worker = Actor.executor(author_id)
    async with desk.unit() as (session, order):
        await orders.start_work(session, order, worker)
        session.add(_result(order_id, "draft.pdf"))
        await session.flush()
        await orders.submit_result(session, order, worker)
    async with desk.unit() as (session, order):
        await orders.return_for_revision(session, order, desk.manager, "Добавьте выводы")
    async with desk.unit() as (session, order):
        await orders.resume_work(session, order, worker)
        session.add(_result(order_id, "final.pdf", FilePurpose.REVISION))
        session.add(_result(order_id, "appendix.pdf", FilePurpose.REVISION))
        await session.flush()
        await orders.submit_result(session, order, worker)
    assert await anna.replies() == []  # start, review, revision: inside the desk
    async with desk.unit() as (session, order):
        await orders.approve_result(session, order, desk.manager)
    ready = await anna.replies()
    assert texts(ready) == [
        f"Заказ №{number} готов! Чтобы получить результат, оплатите остаток: 5{NBSP}000{NBSP}₽."
    ]
    assert _buttons(ready[0]) == [(f"Оплатить 5{NBSP}000{NBSP}₽", f"ord:pay:{order_id}")]
    async with desk.unit() as (session, order):
        await payments.record_payment(
            session, order, PRICE, PaymentMethod.CARD, provider="manual", recorded_by=None
        )
        assert order.status is OrderStatus.DELIVERED
    delivered = await anna.replies()
    assert texts(delivered) == [f"Результат по заказу №{number}. Спасибо за заказ!"]
    assert [(f.name, f.storage_key) for f in delivered[0].files] == [
        ("final.pdf", "ab/final.pdf"),
        ("appendix.pdf", "ab/appendix.pdf"),
    ]
    assert _buttons(delivered[0]) == [("Запросить доработку", f"ord:revise:{order_id}")]
    async with desk.unit() as (session, order):
        await orders.close_order(session, order, desk.manager)
    rating = await anna.replies()
    assert texts(rating) == [f"Оцените, пожалуйста, работу по заказу №{number}:"]
    assert [payload for _, payload in _buttons(rating[0])] == [
        f"ord:rate:{order_id}:{n}" for n in range(1, 6)
    ]


async def test_a_result_paid_in_full_up_front_is_delivered_at_approval(
    desk: Desk, receiver: Receiver
) -> None:
    await _order(desk)
    anna = Chat(desk.sessions, receiver, "100")
    async with desk.unit() as (session, order):
        order.kind.prepayment_percent = 100
        await orders.quote_order(session, order, desk.manager, PRICE)
        await orders.accept_quote(session, order, desk.manager)
        await payments.record_payment(
            session, order, PRICE, PaymentMethod.CASH, provider="manual", recorded_by=None
        )
        author = await builders.executor(session)
        await exchange.assign_executor(session, order, desk.manager, author, price=300_000)
        worker = Actor.executor(author.id)
        await orders.start_work(session, order, worker)
        session.add(_result(order.id, "work.pdf"))
        await session.flush()
        await orders.submit_result(session, order, worker)
        number = order.number
    await anna.replies()
    async with desk.unit() as (session, order):
        await orders.approve_result(session, order, desk.manager)
    delivered = await anna.replies()
    assert texts(delivered) == [f"Результат по заказу №{number}. Спасибо за заказ!"]
    assert [f.name for f in delivered[0].files] == ["work.pdf"]
    async with desk.sessions() as session:
        order = await session.get(Order, desk.order_id)
        assert order is not None and order.status is OrderStatus.DELIVERED
        assert (await payments.due_now(session, order)).amount == 0


async def test_a_trip_client_hears_each_step_with_the_eta_then_what_to_pay(
    desk: Desk, receiver: Receiver
) -> None:
    await _order(desk, "trip")
    anna = Chat(desk.sessions, receiver, "100")
    async with desk.unit() as (session, order):
        await orders.quote_order(session, order, desk.manager, 1_000_000)
        await orders.accept_quote(session, order, desk.manager)
        number = order.number
    assert texts(await anna.replies())[-1] == f"Заказ №{number} подтверждён. Приступаем к работе."
    async with desk.unit() as (session, order):
        driver = await builders.executor(session, "Водитель")
        await exchange.assign_executor(session, order, desk.manager, driver, price=700_000)
        driver_id = driver.id
    assert await anna.replies() == []  # the steps say it for a trip
    driving = Actor.executor(driver_id)
    async with desk.unit() as (session, order):
        await orders.start_work(session, order, driving)
    async with desk.unit() as (session, order):
        eta = {"eta": "2030-05-04T14:30:00+03:00", "eta_minutes": None}
        await transition(session, order, driving, Action.ADVANCE, data=eta)
    for _ in ("on_site", "started", "finished"):
        async with desk.unit() as (session, order):
            await orders.advance_step(session, order, driving)
    assert texts(await anna.replies()) == [
        f"На заказ №{number} назначен водитель.",
        f"Водитель выехал (заказ №{number}). Ожидаемое время прибытия: 14:30.",
        f"Водитель на месте (заказ №{number}).",
        f"Работы по заказу №{number} на месте начались.",
        f"Работы по заказу №{number} завершены.",
    ]
    async with desk.unit() as (session, order):
        await orders.submit_result(session, order, driving)
        order_id = order.id
    ready = await anna.replies()
    assert texts(ready) == [f"Заказ №{number} выполнен. К оплате: 10{NBSP}000{NBSP}₽."]
    assert _buttons(ready[0]) == [(f"Оплатить 10{NBSP}000{NBSP}₽", f"ord:pay:{order_id}")]


async def test_stored_templates_win_and_an_empty_one_switches_the_notice_off(
    desk: Desk, receiver: Receiver
) -> None:
    await _order(desk)
    anna = Chat(desk.sessions, receiver, "100")
    async with desk.unit() as (session, order):
        session.add(Setting(key="notice.student_paper.paid", value={"ru": "«{title}» оплачен"}))
        session.add(Setting(key="notice.paid", value="Общий текст №{number}"))
        session.add(Setting(key="notice.cancelled", value=""))
        await orders.quote_order(session, order, desk.manager, PRICE)
        await orders.accept_quote(session, order, desk.manager)
        await orders.mark_paid(session, order, desk.manager)
    assert texts(await anna.replies())[-1] == "«Курсовая: маркетинг» оплачен"
    async with desk.unit() as (session, order):
        await orders.cancel_order(session, order, desk.manager, "клиент передумал")
    assert await anna.replies() == []
    async with desk.sessions() as session:
        assert await notice_template(session, "print_job", "paid", None, "en") == (
            "Общий текст №{number}"
        )
        assert await notice_template(session, "trip", "ready", None, "ru") == (
            "Заказ №{number} выполнен. К оплате: {due}."
        )
        assert await notice_template(session, "trip", "in_progress", "loading", "en") == (
            "Order №{number}: {status}."
        )
        assert await notice_template(session, "trip", "evaluating", None, "ru") is None
    assert fill("№{number} {unknown} {", {"number": 7}) == "№{number} {unknown} {"
    assert fill("№{number} {unknown}", {"number": 7}) == "№7 {unknown}"


async def test_a_cancellation_by_the_desk_is_told_the_clients_own_is_not(
    desk: Desk, receiver: Receiver
) -> None:
    await _order(desk)
    anna = Chat(desk.sessions, receiver, "100")
    async with desk.unit() as (session, order):
        await orders.cancel_order(session, order, desk.manager)
        number = order.number
    assert texts(await anna.replies()) == [
        f"Заказ №{number} отменён. Если есть вопросы, просто напишите сюда."
    ]
    await _order(desk, chat="101")
    boris = Chat(desk.sessions, receiver, "101")
    async with desk.unit() as (session, order):
        await orders.cancel_order(session, order, Actor.client(order.client_id), "передумал")
        assert order.status is OrderStatus.CANCELLED
    assert await boris.replies() == []  # the Decline button's flow has answered


async def test_a_client_who_cannot_be_reached_is_skipped_and_the_change_commits(
    desk: Desk,
) -> None:
    await _order(desk, reachable=False)
    async with desk.unit() as (session, order):
        await orders.quote_order(session, order, desk.manager, PRICE)
    async with desk.sessions() as session:
        order = await session.get(Order, desk.order_id)
        assert order is not None and order.status is OrderStatus.QUOTED
        assert await session.scalar(select(func.count(OutboxItem.id))) == 0
