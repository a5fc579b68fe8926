"""Story: an equipment broker. An operator takes a truck order on the phone for a client who
talks to the bot; it is quoted (a trip takes no prepayment, so accepting confirms it) and
published at a fixed price; two drivers press Take at the same moment and exactly one gets
the trip; he accepts it, says when he will arrive, shares his live location on the way,
reports each step and finishes with a photo; the client hears of every step (the arrival
time included), pays the manager in cash and gets the photo with the closing notice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from core import exchange, ledger, orders, payments
from core.db import utcnow
from core.models import (
    Executor,
    OrderEvent,
    OrderKind,
    OrderStatus,
    PaymentMethod,
    StaffRole,
)
from handlers.feed import JOB_CARD
from inbox.models import OutboxItem, OutboxStatus
from runtime.bootstrap import Container
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.scenarios.desk import Desk, order_numbered
from tests.scenarios.people import (
    MakeExecutor,
    MakePerson,
    TelegramPerson,
    introduce,
    labels,
    payload,
    rub,
    shown,
)
from tests.telegram_helpers import eventually

JSON = dict[str, Any]
NUMBER = 1001
PICKUP = "Москва, ул. Лесная, 5"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(3000)


async def test_a_trip_at_a_fixed_price_step_by_step(
    container: Container,
    worker: object,
    fake: FakeTelegramAPI,
    desk: Desk,
    person: MakePerson,
    executor: MakeExecutor,
) -> None:
    zoya = person("Зоя")
    await introduce(zoya, "Зоя Крылова")
    operator = await Desk.open(container, "Ольга", "olga@example.com", StaffRole.OPERATOR)
    sergey = await executor("Сергей")
    timur = await executor("Тимур")

    # -- taken on the phone, quoted, confirmed ------------------------------------------------
    tz = container.settings.tz
    when = (utcnow() + timedelta(days=2)).astimezone(tz)
    when = when.replace(hour=9, minute=0, second=0, microsecond=0)
    await _operator_takes_the_order(operator, zoya, when)
    quote = await zoya.wait_for(f"Заказ №{NUMBER}: стоимость готова")
    assert labels(quote) == ["Принять", "Обсудить", "Отказаться"]  # nothing to prepay
    assert f"Стоимость: {rub('15 000')}" in shown(quote) and "Предоплата" not in shown(quote)
    await zoya.press("Принять")
    await zoya.wait_for(f"Заказ №{NUMBER} подтверждён. Приступаем к работе.")
    assert (await desk.order(NUMBER)).status is OrderStatus.PAID

    # -- published at a fixed price; two drivers take it at the same moment -------------------
    async with desk.work() as (session, me):
        order = await order_numbered(session, NUMBER)
        await exchange.publish_to_exchange(session, order, me, fixed_price=1_000_000)
    cards = [await driver.wait_for(f"Новое задание №{NUMBER}") for driver in (sergey, timur)]
    for card in cards:
        assert labels(card) == ["Взять", "Пропустить"]
        assert f"Фиксированная цена: {rub('10 000')}" in shown(card)
        assert f"Адрес подачи: {PICKUP}" in shown(card) and "Зоя" not in shown(card)
        # The time once, in the business's clock (not again in UTC).
        assert shown(card).count("Дата и время:") == 1 and "UTC" not in shown(card)
        assert f"{when:%Y} 09:00" in shown(card)
    # A card a person can read is one the outbox has recorded as sent, too (a press within
    # milliseconds of its arrival finds it still "being sent", a window handlers/feed.py
    # describes: that card loses its buttons only to the press itself).
    await eventually(lambda: _job_cards_sent(container, 2), "both cards recorded as sent")
    # Both presses are queued before the poller looks: one getUpdates batch brings both.
    await sergey.press_on(cards[0], payload(cards[0], "Взять"))
    await timur.press_on(cards[1], payload(cards[1], "Взять"))
    assert len(fake.pending_updates) == 2

    taken = await eventually(lambda: _executor_of(container, NUMBER), "the trip taken")
    winner, loser = (sergey, timur) if taken == "Сергей" else (timur, sergey)
    lost_card = cards[1] if loser is timur else cards[0]
    await winner.wait_for(f"Задание №{NUMBER} ваше!")
    trip = await winner.wait_for(f"Рейс №{NUMBER}")
    assert labels(trip) == ["Принять", "Отказаться"]
    assert f"Ваша цена: {rub('10 000')}" in shown(trip)
    await loser.wait_for("Это задание уже взяли.")
    await loser.wait_until(lambda: lost_card.buttons == [], "the loser's card retired")
    assert shown(lost_card) == f"Задание №{NUMBER} уже занято."
    assert not any("ваше" in text for text in loser.texts())
    async with container.sessions() as session:
        takes = await session.scalar(
            select(func.count(OrderEvent.id)).where(OrderEvent.action == "take")
        )
        points = await session.execute(select(Executor.name, Executor.reliability))
        reliability = {name: value for name, value in points}
    assert takes == 1
    assert reliability == {taken: 1, ("Тимур" if taken == "Сергей" else "Сергей"): 0}
    # Every press answered, so no spinner keeps turning: Zoya's Accept and both Takes.
    assert len(fake.callback_answers) == 3

    # -- accepted; on the way with an arrival time; the live location kept --------------------
    await winner.press("Принять")
    await winner.wait_for(f"Рейс №{NUMBER} ваш. Отмечайте каждый этап кнопкой ниже")
    await zoya.wait_for(f"На заказ №{NUMBER} назначен водитель.")
    await winner.press("В пути")
    asked = await winner.wait_for("Когда вы будете на месте?")
    assert labels(asked) == ["15 мин", "30 мин", "60 мин", "Отмена"]
    await winner.say("40 минут")
    said_at = utcnow().astimezone(tz)
    told = await winner.wait_for("В пути. Клиенту сообщили, что вы прибудете примерно в ")
    eta = shown(told).rsplit(" ", 1)[1].rstrip(".")
    assert _about(eta, said_at + timedelta(minutes=40))
    await zoya.wait_for(f"Водитель выехал (заказ №{NUMBER}). Ожидаемое время прибытия: {eta}.")

    on_the_way = await winner.wait_for("Статус: В работе — В пути")
    assert labels(on_the_way) == ["На месте"]
    before = len(winner.messages())
    live = await winner.share_live_location(55.7512, 37.6184)
    await _location_is(container, 55.7512, 37.6184)
    await winner.move_live_location(live, 55.8001, 37.5502)
    where = await _location_is(container, 55.8001, 37.5502)
    assert where["live"] is True
    # -- on site, started, finished with a photo ----------------------------------------------
    await winner.press("На месте")
    await winner.wait_for(f"Рейс №{NUMBER}: На месте.")
    card = await winner.wait_for("Статус: В работе — На месте")
    assert labels(card) == ["Работы начаты"]
    assert len(winner.messages()) == before + 2  # the locations were kept, not answered
    await zoya.wait_for(f"Водитель на месте (заказ №{NUMBER}).")
    await winner.press("Работы начаты")
    await winner.wait_for(f"Рейс №{NUMBER}: Работы начаты.")
    await zoya.wait_for(f"Работы по заказу №{NUMBER} на месте начались.")
    await winner.press("Завершено")
    await winner.wait_for("Комментарий к рейсу (необязательно):")
    await zoya.wait_for(f"Работы по заказу №{NUMBER} завершены.")
    await winner.say("Груз выгружен, претензий нет")
    await winner.wait_for("Пришлите фото (необязательно) и нажмите «Готово».")
    await winner.send_photo(JPEG)
    await winner.wait_for("Получено файлов: 1.")
    await winner.press("Готово")
    await winner.wait_for(f"Рейс №{NUMBER} выполнен. Спасибо!")
    due = await zoya.wait_for(f"Заказ №{NUMBER} выполнен. К оплате: {rub('15 000')}.")
    assert labels(due) == [f"Оплатить {rub('15 000')}"]

    # -- paid in cash to the manager; the client gets the photo --------------------------------
    async with desk.work() as (session, _):
        order = await order_numbered(session, NUMBER)
        await payments.record_payment(
            session, order, 1_500_000, PaymentMethod.CASH, provider="manual",
            recorded_by=desk.user_id,
        )  # fmt: skip
    closing = await zoya.wait_for(f"Заказ №{NUMBER} выполнен. Спасибо, что выбрали нас!")
    assert closing.method == "sendPhoto" and labels(closing) == []  # no guarantee for trips
    assert [file.content for file in closing.files] == [JPEG]

    async with container.sessions() as session:
        order = await order_numbered(session, NUMBER)
        money = await ledger.order_money(session, order.id, order.currency)
        comment = await session.scalar(
            select(OrderEvent.data["comment"].as_string()).where(
                OrderEvent.order_id == order.id, OrderEvent.action == "submit_result"
            )
        )
    # A trip has no guarantee period: handing it over closes it (the archive).
    assert (order.status, order.step) == (OrderStatus.CLOSED, None)
    assert (money.held, money.charged, money.accrued) == (0, 1_500_000, 1_000_000)
    assert comment == "Груз выгружен, претензий нет"
    await zoya.wait_for(f"Оцените, пожалуйста, работу по заказу №{NUMBER}:")
    assert zoya.texts()[-9:] == [
        f"Заказ №{NUMBER} подтверждён. Приступаем к работе.",
        f"На заказ №{NUMBER} назначен водитель.",
        f"Водитель выехал (заказ №{NUMBER}). Ожидаемое время прибытия: {eta}.",
        f"Водитель на месте (заказ №{NUMBER}).",
        f"Работы по заказу №{NUMBER} на месте начались.",
        f"Работы по заказу №{NUMBER} завершены.",
        f"Заказ №{NUMBER} выполнен. К оплате: {rub('15 000')}.",
        f"Заказ №{NUMBER} выполнен. Спасибо, что выбрали нас!",
        f"Оцените, пожалуйста, работу по заказу №{NUMBER}:",
    ]


async def _operator_takes_the_order(operator: Desk, zoya: TelegramPerson, when: datetime) -> None:
    """The panel's "new order" for a client on the phone, then the price."""
    identity = await operator.identity(zoya)
    assert identity is not None and identity.client_id is not None
    async with operator.work() as (session, me):
        trip = await session.scalar(select(OrderKind).where(OrderKind.code == "trip"))
        assert trip is not None
        details = {
            "request_type": "Cargo transportation",
            "pickup": PICKUP,
            "dropoff": "Химки, Заводская ул., 1",
            "scheduled_at": when.isoformat(),
            "vehicle": "Манипулятор 5 т",
        }
        order = await orders.create_order(
            session, kind=trip, client_id=identity.client_id, actor=me, details=details,
            title=f"Перевозка: {PICKUP}", scheduled_at=when,
        )  # fmt: skip
        await orders.start_evaluation(session, order, me)
        await orders.quote_order(session, order, me, 1_500_000)


async def _job_cards_sent(container: Container, count: int) -> bool:
    async with container.sessions() as session:
        sent = await session.scalars(
            select(OutboxItem.payload).where(OutboxItem.status == OutboxStatus.SENT)
        )
        return sum(item.get("extra", {}).get("card") == JOB_CARD for item in sent) == count


async def _executor_of(container: Container, number: int) -> str | None:
    async with container.sessions() as session:
        order = await order_numbered(session, number)
        if order.executor_id is None:
            return None
        found = await session.get(Executor, order.executor_id)
        return found.name if found is not None else None


async def _location_is(container: Container, latitude: float, longitude: float) -> JSON:
    async def kept() -> JSON | None:
        async with container.sessions() as session:
            where = (await order_numbered(session, NUMBER)).last_location
        return where if where and (where["lat"], where["lon"]) == (latitude, longitude) else None

    found: JSON = await eventually(kept, f"the trip's location at {latitude}, {longitude}")
    return found


def _about(clock: str, expected: datetime) -> bool:
    """An "HH:MM" within a minute of `expected` (the bot read the time a moment earlier)."""
    hours, minutes = (int(part) for part in clock.split(":"))
    moment = expected.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    return any(
        abs((moment + timedelta(days=shift) - expected).total_seconds()) <= 90
        for shift in (-1, 0, 1)
    )
