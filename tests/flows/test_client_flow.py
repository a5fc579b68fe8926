"""The client's bot flow through the real pipeline and dialog engine: first contact,
introduction, the new-order wizard with validation, Back, Cancel, editing, and the order it
creates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.payments import FakePaymentProvider, PaymentProviders
from core import exchange, orders, payments
from core.events import LocalPublisher
from core.models import (
    ChannelIdentity,
    Client,
    Order,
    OrderKind,
    OrderStatus,
    PaymentMethod,
    Skill,
)
from core.payments import PaymentProvider, PaymentRequest, ProviderError, ProviderPayment
from core.transitions import Actor
from core.uow import UnitOfWork
from handlers.engine import Dialogs
from handlers.services import Services
from inbox.channel import SharedContact
from inbox.models import Conversation, ConversationKind, DialogState, Message
from inbox.receive import Receiver
from tests import builders
from tests.chat import Chat, labels, texts


@pytest.fixture
async def chat(sessions: async_sessionmaker[AsyncSession]) -> Chat:
    async with sessions() as session:
        session.add_all([Skill(name="Экономика"), Skill(name="Право")])
        await session.commit()
    receiver = Receiver(sessions, LocalPublisher(), dialog=Dialogs(Services()))
    return Chat(sessions, receiver)


async def _introduce(chat: Chat) -> None:
    await chat.send("/start")
    await chat.send("Анна Петрова")
    await chat.send(contact=SharedContact("+7 916 123-45-67", "Анна", own=True))


async def test_first_contact_is_filed_for_the_manager_and_the_bot_asks_the_name(
    chat: Chat, sessions: async_sessionmaker[AsyncSession]
) -> None:
    said = await chat.send("Сколько стоит курсовая по экономике?")
    assert texts(said) == ["Здравствуйте! Это служба заказов. Давайте познакомимся: как вас зовут?"]
    async with sessions() as session:
        filed = (
            await session.execute(select(Message.text, Conversation.kind).join(Conversation))
        ).all()
    assert [tuple(row) for row in filed] == [
        ("Сколько стоит курсовая по экономике?", ConversationKind.LEAD)
    ]


async def test_introduction_takes_the_name_and_the_own_phone_then_shows_the_menu(
    chat: Chat, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat.send("/start")
    assert texts(await chat.send("1")) == ["Пожалуйста, напишите ваше имя буквами."]
    asked = await chat.send("Анна Петрова")
    assert "Поделитесь номером" in asked[0].text and "Поделиться номером" in labels(asked[0])
    stranger = SharedContact("+79990000000", own=False)
    assert texts(await chat.send(contact=stranger)) == [
        "Это чужой контакт. Поделитесь, пожалуйста, своим номером."
    ]
    assert "не похоже" in (await chat.send("позвоните мне"))[0].text
    done = await chat.send(contact=SharedContact("+7 916 123-45-67", "Анна", own=True))
    assert done[0].text == "Приятно познакомиться, Анна Петрова!"
    assert done[0].extra == {"remove_keyboard": True}
    assert labels(done[1]) == [
        "Новый заказ", "Мои заказы", "Баланс и скидка", "Связаться с менеджером",
        "Стать исполнителем",
    ]  # fmt: skip
    async with sessions() as session:
        client = await session.scalar(select(Client))
        identity = await session.scalar(select(ChannelIdentity))
        state = await session.scalar(select(DialogState))
    assert client is not None and (client.name, client.phone) == ("Анна Петрова", "+79161234567")
    assert identity is not None and identity.phone_verified and state is None


async def test_the_wizard_re_asks_bad_answers_goes_back_and_creates_the_order(
    chat: Chat, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _introduce(chat)
    kinds = await chat.press("Новый заказ")
    assert labels(kinds[0]) == ["Студенческая работа", "Печать", "Перевозка / спецтехника"]
    asked = await chat.press("Студенческая работа")
    assert asked[0].text.startswith("Дисциплина:")
    assert labels(asked[0]) == ["Право", "Экономика", "Отмена"]
    assert texts(await chat.send("Химия"))[0] == "Выберите один из вариантов кнопками."
    await chat.press("Экономика")
    await chat.press("Курсовая работа")
    await chat.send("Маркетинг малого бизнеса")
    assert texts(await chat.send("abc"))[0] == "Пришлите целое число, например 25."
    assert texts(await chat.send("500"))[0] == "Число должно быть не больше 300."
    originality = await chat.send("около 30 страниц")
    assert "Пропустить" in labels(originality[0]) and "Назад" in labels(originality[0])
    back = await chat.press("Назад")
    assert back[0].text.startswith("Количество страниц:")
    await chat.send("35")
    await chat.press("Пропустить")
    assert texts(await chat.send("вчера"))[0] == "Эта дата уже прошла. Укажите дату в будущем."
    deadline = (datetime.now(UTC) + timedelta(days=20)).strftime("%d.%m.%Y")
    files_step = await chat.send(deadline)
    assert "Готово" in labels(files_step[0])
    summary = await chat.press("Готово")
    assert "Маркетинг малого бизнеса" in summary[0].html and "35" in summary[0].html

    await chat.press("Изменить поле")
    await chat.press("Количество страниц")
    back_to_summary = await chat.send("40")
    assert "40" in back_to_summary[0].html
    placed = await chat.press("Подтвердить")
    async with sessions() as session:
        order = await session.scalar(select(Order))
    assert order is not None and order.status is OrderStatus.NEW
    assert (
        placed[0].text
        == f"Заказ №{order.number} оформлен. Менеджер посмотрит его и скоро пришлёт стоимость."
    )
    assert order.details["pages"] == 40 and order.details["discipline"] == "Экономика"
    assert order.details["work_type"] == "Coursework" and order.details["originality"] is None
    assert order.title == "Студенческая работа: Маркетинг малого бизнеса"
    assert order.deadline is not None and order.deadline.strftime("%d.%m.%Y") == deadline


async def test_a_kind_shortened_by_the_owner_mid_wizard_sends_the_client_to_the_summary(
    chat: Chat, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _introduce(chat)
    await chat.press("Новый заказ")
    await chat.press("Студенческая работа")
    await chat.press("Экономика")
    await chat.press("Курсовая работа")
    await chat.send("Маркетинг малого бизнеса")  # the wizard now asks field 3 (pages)
    async with sessions() as session:
        kind = await session.scalar(select(OrderKind).where(OrderKind.code == "student_paper"))
        assert kind is not None
        kind.fields = kind.fields[:3]  # the owner removes pages, originality, deadline, files
        await session.commit()

    answered = await chat.send("35")
    pressed = await chat.send(button="wiz:skip")

    assert "Маркетинг малого бизнеса" in answered[0].html  # the summary, not a crash
    assert "Маркетинг малого бизнеса" in pressed[0].html
    await chat.press("Подтвердить")
    async with sessions() as session:
        order = await session.scalar(select(Order))
    assert order is not None and order.details["topic"] == "Маркетинг малого бизнеса"


async def test_cancel_leaves_the_wizard_for_the_menu_and_a_stale_button_is_refused(
    chat: Chat, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _introduce(chat)
    await chat.press("Новый заказ")
    await chat.press("Печать")
    cancelled = await chat.press("Отмена")
    assert cancelled[0].text == "Отменено." and "Новый заказ" in labels(cancelled[1])
    async with sessions() as session:
        assert await session.scalar(select(DialogState)) is None
    stale = await chat.send(button="wiz:pick:0")
    assert labels(stale[-1])[0] == "Новый заказ"
    unknown = await chat.send(button="nonsense:1")
    assert unknown[0].text == "Эта кнопка уже не действует. Вот меню."


async def _quoted(
    sessions: async_sessionmaker[AsyncSession], gateway: PaymentProvider
) -> tuple[Chat, Order]:
    """A registered client whose order a manager has just quoted at 10 000 ₽."""
    receiver = Receiver(
        sessions, LocalPublisher(), dialog=Dialogs(Services(payments=PaymentProviders(gateway)))
    )
    chat = Chat(sessions, receiver)
    await _introduce(chat)
    async with UnitOfWork(sessions, LocalPublisher()) as uow:
        order, manager = await builders.paper_order(uow.session)
        client = await uow.session.scalar(select(Client).where(Client.name == "Анна Петрова"))
        assert client is not None
        order.client_id = client.id
        await orders.start_evaluation(uow.session, order, manager)
        await orders.quote_order(uow.session, order, manager, 1_000_000)
        await uow.commit()
    return chat, order


class GatewayDown:
    """A payment provider that cannot be reached (the port, as a real gateway would fail)."""

    name = "gateway"

    async def create(self, request: PaymentRequest) -> ProviderPayment:
        raise ProviderError("connection refused")

    async def fetch(self, external_id: str) -> ProviderPayment:
        raise ProviderError("connection refused")


async def test_a_gateway_that_is_down_gets_a_polite_answer_and_the_order_waits_for_payment(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    chat, order = await _quoted(sessions, GatewayDown())
    await chat.press("Мои заказы")
    await chat.press(f"№{order.number} {order.title}"[:60])
    said = await chat.press("Принять и оплатить")
    assert texts(said) == ["Платёжный сервис сейчас недоступен. Попробуйте, пожалуйста, позже."]
    async with sessions() as session:
        waiting = await session.get(Order, order.id)
    assert waiting is not None and waiting.status is OrderStatus.AWAITING_PAYMENT


async def test_the_client_accepts_the_quote_pays_through_the_link_and_the_order_is_paid(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    gateway = FakePaymentProvider("http://desk.test")
    chat, order = await _quoted(sessions, gateway)

    await chat.press("Мои заказы")
    card = await chat.press(f"№{order.number} {order.title}"[:60])
    assert "Стоимость: 10" in card[0].html and "Принять и оплатить" in labels(card[0])
    link = await chat.press("Принять и оплатить")
    assert (
        link[0].text
        == f"Чтобы оплатить 5\u00a0000\u00a0₽ за заказ №{order.number}, перейдите по ссылке:"
    )
    pay = chat.button("Оплатить 5\u00a0000\u00a0₽")
    assert pay.payload is not None and pay.payload.startswith("http://desk.test/pay/fake/")

    external_id = pay.payload.rsplit("/", 1)[1]
    gateway.succeed(external_id)
    async with UnitOfWork(sessions, LocalPublisher()) as uow:
        await payments.confirm_payment(uow.session, gateway, external_id)
        await uow.commit()
    async with sessions() as session:
        paid = await session.get(Order, order.id)
    assert paid is not None and paid.status is OrderStatus.PAID
    again = await chat.press("Принять и оплатить")
    assert again[0].text == (
        f"Это действие по заказу №{order.number} уже недоступно: его статус изменился."
    )
    assert "Статус: Оплачен" in again[1].html


async def test_the_bot_counts_a_prepayment_the_client_just_made_as_paid(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # It said "Всего оплачено: 0 ₽" (final charges only) while the panel counted top-ups.
    gateway = FakePaymentProvider("http://desk.test")
    chat, order = await _quoted(sessions, gateway)
    await chat.press("Мои заказы")
    await chat.press(f"№{order.number} {order.title}"[:60])
    await chat.press("Принять и оплатить")
    external_id = chat.button("Оплатить 5\u00a0000\u00a0₽").payload.rsplit("/", 1)[1]
    gateway.succeed(external_id)
    async with UnitOfWork(sessions, LocalPublisher()) as uow:
        await payments.confirm_payment(uow.session, gateway, external_id)
        await uow.commit()

    await chat.send("/start")
    said = await chat.press("Баланс и скидка")
    assert texts(said) == [
        "Ваш баланс: 0\u00a0₽. Всего оплачено: 5\u00a0000\u00a0₽. Ваша скидка: 0%."
    ]


async def test_the_order_card_tells_a_client_the_debt_left_after_the_handover(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    chat, order = await _quoted(sessions, FakePaymentProvider("http://desk.test"))
    async with UnitOfWork(sessions, LocalPublisher()) as uow:
        session = uow.session
        job = await session.get(Order, order.id)
        assert job is not None
        manager = Actor.staff(await builders.staff(session))
        await orders.accept_quote(session, job, manager)
        await payments.record_payment(
            session, job, 500_000, PaymentMethod.CASH, provider="manual", recorded_by=None
        )
        author = await builders.executor(session)
        await exchange.assign_executor(session, job, manager, author, price=600_000)
        await orders.start_work(session, job, Actor.executor(author.id))
        await orders.submit_result(session, job, Actor.executor(author.id))
        await orders.approve_result(session, job, manager)
        await orders.deliver_order(session, job, manager)  # 5 000 ₽ of 10 000 ₽ unpaid
        await uow.commit()

    await chat.press("Мои заказы")
    shown = await chat.press(f"№{order.number} {order.title}"[:60])
    assert "Оплачено: 5\u00a0000\u00a0₽" in shown[0].html
    assert "Долг: 5\u00a0000\u00a0₽" in shown[0].html
