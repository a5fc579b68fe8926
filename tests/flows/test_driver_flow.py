"""The driver's bot flow through the real pipeline and dialog engine: a trip assigned by a
manager is accepted or declined; then En route with an arrival time, On site, Started,
Finished with a comment and a photo; live locations kept on the trip, never filed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import exchange, orders
from core.models import (
    ChannelIdentity,
    Executor,
    ExecutorKind,
    FilePurpose,
    Order,
    OrderEvent,
    OrderStatus,
    Setting,
    StoredFile,
)
from core.transitions import Actor
from inbox.channel import Location
from inbox.models import Message
from inbox.receive import Receiver
from tests import builders
from tests.chat import Chat, labels, texts
from tests.flows.executors import JPEG, FetchedByReference, executor_chat, receiver_with_files

MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.fixture
def source() -> FetchedByReference:
    return FetchedByReference()


@pytest.fixture
def receiver(
    sessions: async_sessionmaker[AsyncSession], source: FetchedByReference, tmp_path: Path
) -> Receiver:
    return receiver_with_files(sessions, source, tmp_path / "files")


async def _driver(
    sessions: async_sessionmaker[AsyncSession], receiver: Receiver, sender: str = "500"
) -> tuple[Chat, int]:
    """A driver of a supplier company, with a chat."""
    async with sessions() as session:
        company = await builders.executor(session, "ООО Спецтех", kind=ExecutorKind.COMPANY)
        await session.commit()
        company_id = company.id
    return await executor_chat(sessions, receiver, sender, "Водитель", parent_id=company_id)


async def _trip(
    sessions: async_sessionmaker[AsyncSession], driver_id: int, *, client_has_bot: bool = True
) -> tuple[int, int]:
    """A confirmed trip a manager gave to the driver: its id and number. The client talks
    to the bot, or (`client_has_bot=False`) was entered at the desk and has no channel."""
    async with sessions() as session:
        manager = Actor.staff(await builders.staff(session))
        buyer = await builders.client(session)
        if client_has_bot:
            chat = f"client-{buyer.id}"
            session.add(
                ChannelIdentity(
                    channel="telegram", external_id=chat, chat_id=chat, client_id=buyer.id
                )
            )
        when = (datetime.now(UTC) + timedelta(days=2)).astimezone(MOSCOW).replace(microsecond=0)
        order = await orders.create_order(
            session, kind=await builders.kind(session, "trip"), client_id=buyer.id,
            actor=manager, title="Перевозка: Москва", scheduled_at=when,
            details={"request_type": "Cargo transportation", "pickup": "Москва, Ленина, 1",
                     "scheduled_at": when.isoformat()},
        )  # fmt: skip
        await orders.quote_order(session, order, manager, 900_000)
        await orders.accept_quote(session, order, manager)
        driver = await session.get(Executor, driver_id)
        assert driver is not None
        await exchange.assign_executor(session, order, manager, driver, price=600_000)
        await session.commit()
        return order.id, order.number


async def _order(sessions: async_sessionmaker[AsyncSession], order_id: int) -> Order:
    async with sessions() as session:
        order = await session.get(Order, order_id)
    assert order is not None
    return order


async def test_a_driver_accepts_reports_each_step_with_an_eta_and_finishes_with_a_photo(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession], source: FetchedByReference
) -> None:
    chat, driver_id = await _driver(sessions, receiver)
    trip_id, number = await _trip(sessions, driver_id)
    listed = await chat.send(button="menu:jobs")
    card = await chat.press(labels(listed[0])[0])
    assert f"Рейс №{number}" in (card[0].html or "") and "Москва, Ленина, 1" in (card[0].html or "")
    assert labels(card[0]) == ["Принять", "Отказаться"]
    accepted = await chat.press("Принять")
    # No map shows a driver's location: the bot asks for none and promises none.
    assert texts(accepted)[0] == (
        f"Рейс №{number} ваш. Отмечайте каждый этап кнопкой ниже по ходу рейса."
    )
    assert labels(accepted[1]) == ["В пути"]
    assert (await _order(sessions, trip_id)).step == "accepted"

    asked = await chat.press("В пути")
    assert texts(asked) == ["Когда вы будете на месте? Например: 40 минут, 1 час, в 14:30."]
    assert labels(asked[0]) == ["15 мин", "30 мин", "60 мин", "Отмена"]
    assert texts(await chat.send("скоро"))[0].startswith("Не понял время.")
    before = datetime.now(UTC)
    on_the_way = await chat.send("через 40 минут")
    arrival = (before + timedelta(minutes=40)).astimezone(MOSCOW)
    assert texts(on_the_way)[0].startswith("В пути. Клиенту сообщили, что вы прибудете примерно в")
    assert labels(on_the_way[1]) == ["На месте"]
    async with sessions() as session:
        step = await session.scalar(
            select(OrderEvent).where(
                OrderEvent.to_step == "en_route", OrderEvent.order_id == trip_id
            )
        )
    assert step is not None and step.data["eta_minutes"] == 40
    eta = datetime.fromisoformat(step.data["eta"])
    assert abs(eta - arrival) < timedelta(minutes=1) and eta.utcoffset() == timedelta(hours=3)
    assert texts(on_the_way)[0].endswith(f"{eta:%H:%M}.")

    stale = await chat.send(button=f"trip:go:{trip_id}:1")  # "En route" pressed again
    assert texts(stale)[0] == f"Этот этап рейса №{number} уже пройден."
    assert texts(await chat.press("На месте"))[0] == f"Рейс №{number}: На месте."
    assert texts(await chat.press("Работы начаты"))[0] == f"Рейс №{number}: Работы начаты."
    finished = await chat.press("Завершено")
    assert texts(finished) == ["Комментарий к рейсу (необязательно):"]
    assert (await _order(sessions, trip_id)).step == "finished"
    assert texts(await chat.send("Груз доставлен, без повреждений")) == [
        "Пришлите фото (необязательно) и нажмите «Готово»."
    ]
    photo = source.upload("p-1", "", "image/jpeg", JPEG)
    assert texts(await chat.send(files=[photo]))[0].startswith("Получено файлов: 1.")
    done = await chat.press("Готово")
    assert texts(done) == [f"Рейс №{number} выполнен. Спасибо!"]

    async with sessions() as session:
        trip = await session.get(Order, trip_id)
        stored = await session.scalar(select(StoredFile))
        submitted = await session.scalar(
            select(OrderEvent).where(OrderEvent.action == "submit_result")
        )
    assert trip is not None and trip.status is OrderStatus.READY and trip.step is None
    assert stored is not None and (stored.purpose, stored.order_id) == (FilePurpose.RESULT, trip_id)
    assert submitted is not None and submitted.data == {
        "comment": "Груз доставлен, без повреждений"
    }


async def test_a_driver_is_not_told_the_client_knows_the_arrival_when_the_client_has_no_channel(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat, driver_id = await _driver(sessions, receiver)
    trip_id, _ = await _trip(sessions, driver_id, client_has_bot=False)  # entered by phone
    await chat.send(button=f"trip:accept:{trip_id}")
    await chat.press("В пути")
    on_the_way = texts(await chat.send("через 40 минут"))[0]
    assert "Клиенту сообщили" not in on_the_way
    assert on_the_way.startswith("В пути (прибытие примерно в ")
    assert "Клиенту не сообщили: с ним нет связи ни в одном канале." in on_the_way
    assert (await _order(sessions, trip_id)).step == "en_route"  # the step itself is taken


async def test_a_driver_is_not_told_the_client_knows_the_arrival_when_that_notice_is_off(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat, driver_id = await _driver(sessions, receiver)
    trip_id, _ = await _trip(sessions, driver_id)  # the client talks to the bot
    async with sessions() as session:
        session.add(Setting(key="notice.step.en_route", value=""))  # switched off
        await session.commit()
    await chat.send(button=f"trip:accept:{trip_id}")
    await chat.press("В пути")
    on_the_way = texts(await chat.send("через 40 минут"))[0]
    assert on_the_way.startswith("В пути (прибытие примерно в ")
    assert "Клиенту не сообщили: это уведомление отключено в настройках." in on_the_way


async def test_an_eta_button_works_and_a_declined_trip_goes_back_to_the_manager(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat, driver_id = await _driver(sessions, receiver)
    first_id, _ = await _trip(sessions, driver_id)
    second_id, second_number = await _trip(sessions, driver_id)
    await chat.send(button=f"trip:accept:{first_id}")
    await chat.press("В пути")
    await chat.press("30 мин")
    async with sessions() as session:
        eta = await session.scalar(select(OrderEvent.data).where(OrderEvent.to_step == "en_route"))
    assert eta is not None and eta["eta_minutes"] == 30

    declined = await chat.send(button=f"trip:decline:{second_id}")
    assert texts(declined) == [
        f"Вы отказались от рейса №{second_number}. Менеджер найдёт другого исполнителя."
    ]
    second = await _order(sessions, second_id)
    assert second.status is OrderStatus.PAID and second.executor_id is None
    late = await chat.send(button=f"trip:accept:{second_id}")
    assert texts(late) == ["Это задание вам недоступно."]
    async with sessions() as session:
        driver = await session.get(Executor, driver_id)
    assert driver is not None and driver.reliability == -2


async def test_a_live_location_is_kept_on_the_latest_trip_and_not_filed_as_a_message(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat, driver_id = await _driver(sessions, receiver)
    older_id, _ = await _trip(sessions, driver_id)
    newer_id, _ = await _trip(sessions, driver_id)
    waiting_id, _ = await _trip(sessions, driver_id)  # assigned, not accepted: no location
    await chat.send(button=f"trip:accept:{newer_id}")
    await chat.send(button=f"trip:accept:{older_id}")  # started last: the current trip
    shared = await chat.send(location=Location(55.7512, 37.6184, live=True))
    moved = await chat.send(location=Location(55.7601, 37.6202, live=True), edited=True)
    assert shared == [] and moved == []

    current = await _order(sessions, older_id)
    assert current.last_location is not None
    assert (current.last_location["lat"], current.last_location["lon"]) == (55.7601, 37.6202)
    assert current.last_location["live"] is True
    moment = datetime.fromisoformat(current.last_location["at"])
    assert datetime.now(UTC) - timedelta(minutes=1) < moment <= datetime.now(UTC)
    assert (await _order(sessions, newer_id)).last_location is None
    assert (await _order(sessions, waiting_id)).last_location is None
    async with sessions() as session:
        assert await session.scalar(select(func.count(Message.id))) == 0


async def test_a_location_from_someone_without_a_trip_in_progress_is_filed(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat, driver_id = await _driver(sessions, receiver)
    trip_id, _ = await _trip(sessions, driver_id)  # assigned only
    client = Chat(sessions, receiver, "600")
    await client.send(location=Location(55.0, 37.0))
    await chat.send(location=Location(55.1, 37.1), edited=True)
    async with sessions() as session:
        filed = await session.scalar(select(func.count(Message.id)))
    assert filed == 2
    assert (await _order(sessions, trip_id)).last_location is None
