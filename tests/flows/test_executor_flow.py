"""The executor's bot flow through the real pipeline and dialog engine: applying (with a
sample file) and a manager's decision, the job feed's Take (a race between two executors),
Offer a price and Skip, stale and refused job buttons, my jobs with the result and a
revision, and pausing the feed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import applications, orders
from core.applications import ApplicationError
from core.events import ExecutorApproved, ExecutorRejected, take_pending
from core.models import (
    Bid,
    BidStatus,
    ChannelIdentity,
    Executor,
    ExecutorStatus,
    FilePurpose,
    Order,
    OrderEvent,
    OrderStatus,
    StoredFile,
)
from core.transitions import Actor
from inbox.channel import SharedContact
from inbox.models import Conversation, ConversationKind, DialogState, Message, message_files
from inbox.receive import Receiver
from tests import builders
from tests.chat import Chat, labels, texts
from tests.flows.executors import (
    JPEG,
    PDF,
    FetchedByReference,
    add_skills,
    executor_chat,
    receiver_with_files,
)

TAKEN = "Это задание уже взяли."


@pytest.fixture
def source() -> FetchedByReference:
    return FetchedByReference()


@pytest.fixture
async def receiver(
    sessions: async_sessionmaker[AsyncSession], source: FetchedByReference, tmp_path: Path
) -> Receiver:
    await add_skills(sessions, "Экономика", "Право")
    return receiver_with_files(sessions, source, tmp_path / "files")


async def _job(sessions: async_sessionmaker[AsyncSession], price: int | None) -> tuple[int, int]:
    """A student paper on the exchange: its id and number."""
    async with sessions() as session:
        order, _ = await builders.order_on_exchange(session, price)
        await session.commit()
        return order.id, order.number


def _edits(said: list) -> list[dict]:
    return [message.extra for message in said if "edit_message_id" in message.extra]


# --- applying ---------------------------------------------------------------------------


async def test_apply_validates_every_step_and_files_the_application_for_the_manager(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession], source: FetchedByReference
) -> None:
    chat = Chat(sessions, receiver, "300", name="Иван")
    asked = await chat.send("/start work")
    assert texts(asked) == ["Рады, что вы хотите работать с нами! Как вас зовут (имя и фамилия)?"]
    assert texts(await chat.send("1")) == ["Пожалуйста, напишите ваше имя буквами."]
    phone = await chat.send("Иван Сидоров")
    assert labels(phone[0]) == ["Поделиться номером", "Назад", "Отмена"]
    assert "не похоже на номер" in texts(await chat.send("позвоните мне"))[0]
    email = await chat.send(contact=SharedContact("+7 916 555-44-33", own=True))
    assert texts(email) == [
        "Номер телефона: +79165554433.",
        "Ваш e-mail (необязательно: можно пропустить):",
    ]
    assert email[0].extra == {"remove_keyboard": True}
    assert texts(await chat.send("ivan@"))[0].startswith("Это не похоже на адрес e-mail")
    back = await chat.press("Назад")  # the phone again: typed this time
    assert texts(back) == ["Ваш номер телефона: поделитесь им кнопкой ниже или напишите."]
    await chat.send("8 (916) 000-11-22")
    skills = await chat.send("Ivan@Example.com")
    assert labels(skills[-1]) == ["Право", "Экономика", "Готово", "Назад", "Отмена"]
    assert texts(await chat.press("Готово"))[0] == "Выберите хотя бы одно."
    await chat.press("Экономика")
    await chat.press("Право")
    toggled = await chat.press("✓ Право")
    assert labels(toggled[-1])[:2] == ["Право", "✓ Экономика"]
    experience = await chat.press("Готово")
    assert texts(experience)[0].startswith("Коротко расскажите о своём опыте")
    await chat.send("Пишу курсовые по экономике пять лет")
    asked_files = await chat.send("вот")
    assert texts(asked_files) == ["Пришлите файлы или нажмите «Готово»."]
    sample = source.upload("f-1", "курсовая.pdf", "application/pdf", PDF)
    assert texts(await chat.send(files=[sample]))[0].startswith("Получено примеров: 1.")
    done = await chat.press("Готово")
    assert texts(done) == [
        "Спасибо, Иван Сидоров! Ваша анкета отправлена.",
        "Ваша анкета у менеджера. Мы напишем, как только её рассмотрят.",
    ]

    async with sessions() as session:
        executor = await session.scalar(select(Executor))
        identity = await session.scalar(select(ChannelIdentity))
        filed = await session.scalar(
            select(Message)
            .join(Conversation)
            .where(Conversation.kind == ConversationKind.APPLICATION)
        )
        attached = await session.scalar(select(func.count()).select_from(message_files))
        stored = await session.scalar(select(StoredFile))
        state = await session.scalar(select(DialogState))
    assert executor is not None and executor.status is ExecutorStatus.APPLICANT
    assert (executor.name, executor.phone, executor.email) == (
        "Иван Сидоров", "+79160001122", "ivan@example.com",
    )  # fmt: skip
    assert [s.name for s in executor.skills] == ["Экономика"]
    assert executor.experience == "Пишу курсовые по экономике пять лет"
    assert identity is not None and (identity.executor_id, identity.client_id) == (
        executor.id,
        None,
    )
    assert stored is not None and (stored.purpose, stored.executor_id) == (
        FilePurpose.SAMPLE, executor.id,
    )  # fmt: skip
    assert stored.original_name == "курсовая.pdf" and stored.content_type == "application/pdf"
    assert filed is not None and filed.author_executor_id == executor.id and attached == 1
    assert filed.text.splitlines()[0] == "Анкета исполнителя"
    assert "Направления: Экономика" in filed.text and "E-mail: ivan@example.com" in filed.text
    assert state is None


async def test_a_manager_approves_or_rejects_an_application_and_the_menu_follows(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat, applicant_id = await executor_chat(
        sessions, receiver, "301", "Пётр", status=ExecutorStatus.APPLICANT
    )
    _, other_id = await executor_chat(
        sessions, receiver, "302", "Олег", status=ExecutorStatus.APPLICANT
    )
    async with sessions() as session:
        manager = Actor.staff(await builders.staff(session))
        applicant = await session.get(Executor, applicant_id)
        other = await session.get(Executor, other_id)
        assert applicant is not None and other is not None
        with pytest.raises(ApplicationError) as refused:
            await applications.approve_application(session, applicant, Actor.executor(other_id))
        assert refused.value.reason == "role_not_allowed"
        await applications.approve_application(session, applicant, manager)
        await applications.reject_application(session, other, manager, "Нет опыта")
        with pytest.raises(ApplicationError) as twice:
            await applications.reject_application(session, applicant, manager, "передумали")
        assert twice.value.reason == "not_an_applicant"
        events = take_pending(session)
        await session.commit()
    assert [type(e) for e in events] == [ExecutorApproved, ExecutorRejected]
    assert isinstance(events[1], ExecutorRejected) and events[1].reason == "Нет опыта"
    async with sessions() as session:
        approved = await session.get(Executor, applicant_id)
        rejected = await session.get(Executor, other_id)
    assert approved is not None and approved.status is ExecutorStatus.ACTIVE
    assert approved.approved_at is not None
    assert rejected is not None and rejected.status is ExecutorStatus.BLOCKED
    assert rejected.notes == "Нет опыта"
    menu = await chat.send("/menu")
    assert texts(menu)[0].startswith("Меню исполнителя.") and "Мои задания" in labels(menu[0])


async def test_a_client_with_orders_keeps_the_chat_for_them(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat = Chat(sessions, receiver, "303")
    await chat.send("Здравствуйте")
    async with sessions() as session:
        identity = await session.scalar(select(ChannelIdentity))
        assert identity is not None and identity.client_id is not None
        paper = await builders.kind(session, "student_paper")
        client = Actor.client(identity.client_id)
        await orders.create_order(session, kind=paper, client_id=identity.client_id, actor=client)
        await session.commit()
    said = await chat.send(button="menu:apply")
    assert texts(said) == [
        "Этот чат связан с вашими заказами. Чтобы работать с нами, напишите нам с "
        "другого аккаунта или спросите менеджера."
    ]
    async with sessions() as session:
        assert await session.scalar(select(func.count(Executor.id))) == 0


# --- the feed ---------------------------------------------------------------------------


async def test_two_executors_racing_for_a_job_leave_one_winner_and_one_already_taken(
    sessions: async_sessionmaker[AsyncSession], receiver: Receiver, source: FetchedByReference,
    tmp_path: Path,
) -> None:  # fmt: skip
    order_id, number = await _job(sessions, 150_000)
    # Two receivers: two webhook deliveries in separate transactions, as two processes.
    other = receiver_with_files(sessions, source, tmp_path / "files")
    anna, anna_id = await executor_chat(sessions, receiver, "401", "Анна")
    boris, boris_id = await executor_chat(sessions, other, "402", "Борис")
    payload = f"job:take:{order_id}"
    said = await asyncio.gather(
        anna.send(button=payload, reply_to="51"), boris.send(button=payload, reply_to="52")
    )

    winner = [i for i, replies in enumerate(said) if f"Задание №{number} ваше!" in texts(replies)]
    assert len(winner) == 1
    loser = said[1 - winner[0]]
    assert [m.text for m in loser if not m.extra] == [TAKEN]
    assert _edits(loser) == [{"edit_message_id": "52" if winner == [0] else "51"}]
    card = said[winner[0]][-1]
    assert f"Задание №{number}" in (card.html or "") and labels(card)[0] == "Начать работу"
    async with sessions() as session:
        order = await session.get(Order, order_id)
        takes = await session.scalar(
            select(func.count(OrderEvent.id)).where(OrderEvent.action == "take")
        )
    assert order is not None and order.status is OrderStatus.ASSIGNED and takes == 1
    assert order.executor_id == (anna_id, boris_id)[winner[0]]


async def test_an_offer_re_asks_a_bad_price_and_a_second_offer_replaces_the_first(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    order_id, number = await _job(sessions, None)
    chat, executor_id = await executor_chat(sessions, receiver, "410", "Вера")
    asked = await chat.send(button=f"job:bid:{order_id}")
    assert texts(asked) == [f"Ваша цена за задание №{number}, в рублях:"]
    assert texts(await chat.send("дорого"))[0] == "Напишите цену в рублях, например 1500."
    assert texts(await chat.send("0"))[0] == "Цена должна быть больше нуля."
    comment = await chat.send("4 500 ₽")
    assert texts(comment) == ["Комментарий для менеджера (необязательно):"]
    await chat.send("Сделаю за три дня")
    assert texts(await chat.send("вчера"))[0] == "Эта дата уже прошла. Укажите дату в будущем."
    placed = await chat.press("Пропустить")
    assert texts(placed) == [
        f"Ваше предложение 4\xa0500\xa0₽ за задание №{number} отправлено менеджеру."
    ]
    await chat.send(button=f"job:bid:{order_id}")
    await chat.send("5000")
    await chat.press("Пропустить")
    again = await chat.send("завтра")
    assert texts(again) == [
        f"Ваше предложение 5\xa0000\xa0₽ за задание №{number} отправлено менеджеру. "
        "Оно заменяет ваше прошлое предложение."
    ]
    async with sessions() as session:
        bids = list(await session.scalars(select(Bid).order_by(Bid.id)))
    assert [(b.price, b.status, b.comment) for b in bids] == [
        (450_000, BidStatus.WITHDRAWN, "Сделаю за три дня"),
        (500_000, BidStatus.ACTIVE, None),
    ]
    assert bids[0].eta is None and bids[1].eta is not None
    assert all(b.executor_id == executor_id for b in bids)


async def test_buttons_of_a_job_no_longer_open_are_retired_and_skip_remembers_nothing(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    order_id, _ = await _job(sessions, 150_000)
    chat, _ = await executor_chat(sessions, receiver, "420", "Глеб")
    other, _ = await executor_chat(sessions, receiver, "421", "Дина")
    skipped = await chat.send(button=f"job:skip:{order_id}", reply_to="70")
    assert [m.text for m in skipped] == [""] and _edits(skipped) == [{"edit_message_id": "70"}]
    assert texts(await chat.send(button=f"job:skip:{order_id}")) == ["Пропущено."]
    await other.send(button=f"job:take:{order_id}", reply_to="71")

    stale = await chat.send(button=f"job:take:{order_id}", reply_to="72")
    assert [m.text for m in stale] == ["", TAKEN] and _edits(stale) == [{"edit_message_id": "72"}]
    stale_bid = await chat.send(button=f"job:bid:{order_id}")
    assert texts(stale_bid) == [TAKEN]
    gone = await chat.send(button="job:take:999999")
    assert texts(gone) == ["Это задание больше недоступно."]
    async with sessions() as session:
        assert await session.scalar(select(func.count(Bid.id))) == 0
        assert await session.scalar(select(DialogState)) is None


async def test_executors_who_may_not_take_a_job_are_told_why(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    order_id, _ = await _job(sessions, 150_000)
    async with sessions() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        order.details = {"discipline": "Право"}
        await session.commit()
    paused, _ = await executor_chat(
        sessions, receiver, "430", "Ева", skills=["Право"], status=ExecutorStatus.PAUSED
    )
    full, _ = await executor_chat(sessions, receiver, "431", "Жанна", skills=["Право"], capacity=0)
    stranger, _ = await executor_chat(sessions, receiver, "432", "Зоя", skills=["Экономика"])
    payload = f"job:take:{order_id}"
    assert texts(await paused.send(button=payload)) == [
        "Ваша лента заданий на паузе. Чтобы брать задания, возобновите её в меню."
    ]
    assert texts(await full.send(button=payload)) == [
        "Активных заданий у вас уже 0 — это ваш предел. Сначала завершите одно из них."
    ]
    assert texts(await stranger.send(button=payload)) == [
        "Для этого задания нужно направление «Право», а его нет в вашем профиле. "
        "Попросите менеджера добавить его."
    ]
    async with sessions() as session:
        order = await session.get(Order, order_id)
    assert order is not None and order.status is OrderStatus.ON_EXCHANGE


# --- my jobs ----------------------------------------------------------------------------


async def test_my_jobs_start_submit_files_then_submit_again_after_a_revision(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession], source: FetchedByReference
) -> None:
    order_id, number = await _job(sessions, 150_000)
    chat, executor_id = await executor_chat(sessions, receiver, "440", "Илья")
    await chat.send(button=f"job:take:{order_id}")
    listed = await chat.send(button="menu:jobs")
    assert texts(listed) == ["Ваши задания:"] and labels(listed[0])[0].startswith(f"№{number}")
    card = await chat.press(labels(listed[0])[0])
    assert labels(card[0]) == ["Начать работу", "Спросить менеджера"]
    asked = await chat.press("Спросить менеджера")
    assert texts(asked)[0].startswith(f"Напишите здесь свой вопрос по заданию №{number}")
    assert asked[0].conversation_id is not None
    started = await chat.press("Начать работу")
    assert texts(started)[0].startswith(f"Работа по заданию №{number} начата.")
    assert labels(started[1]) == ["Сдать результат", "Спросить менеджера"]

    await chat.press("Сдать результат")
    assert texts(await chat.press("Готово"))[0] == "Пришлите хотя бы один файл."
    first = source.upload("r-1", "работа.pdf", "application/pdf", PDF)
    second = source.upload("r-2", "титул.jpg", "image/jpeg", JPEG)
    taken = await chat.send(files=[first, second])
    assert texts(taken)[0].startswith("Получено файлов: 2.")
    await chat.press("Готово")
    sent = await chat.send("Готово, проверьте выводы")
    assert texts(sent) == [f"Результат по заданию №{number} отправлен менеджеру на проверку."]
    async with sessions() as session:
        order = await session.get(Order, order_id)
        assert order is not None and order.status is OrderStatus.IN_REVIEW
        results = list(await session.scalars(select(StoredFile).order_by(StoredFile.id)))
        thread = await session.scalar(
            select(Message).join(Conversation).where(Conversation.kind == ConversationKind.EXECUTOR)
        )
        manager = Actor.staff(await builders.staff(session))
        await orders.return_for_revision(session, order, manager, "Добавьте выводы")
        await session.commit()
    assert [(f.purpose, f.order_id, f.executor_id) for f in results] == [
        (FilePurpose.RESULT, order_id, executor_id)
    ] * 2
    assert thread is not None and thread.text == "Готово, проверьте выводы"

    revision = await chat.send(button=f"job:show:{order_id}")
    assert "Комментарий менеджера: Добавьте выводы" in (revision[0].html or "")
    assert labels(revision[0]) == ["Сдать заново", "Спросить менеджера"]
    await chat.press("Сдать заново")
    await chat.send(files=[source.upload("r-3", "работа-2.pdf", "application/pdf", PDF + b"2")])
    await chat.press("Готово")
    again = await chat.press("Пропустить")
    assert texts(again) == [f"Результат по заданию №{number} отправлен менеджеру на проверку."]
    async with sessions() as session:
        order = await session.get(Order, order_id)
        revised = await session.scalar(
            select(StoredFile).where(StoredFile.purpose == FilePurpose.REVISION)
        )
        actions = list(
            await session.scalars(select(OrderEvent.action).order_by(OrderEvent.id.desc()).limit(2))
        )
    assert order is not None and order.status is OrderStatus.IN_REVIEW
    assert revised is not None and revised.order_id == order_id
    assert actions == ["submit_result", "resume"]


async def test_the_feed_pauses_and_resumes(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat, executor_id = await executor_chat(sessions, receiver, "450", "Кира")
    await chat.send("/menu")
    paused = await chat.press("Приостановить ленту")
    assert texts(paused)[0] == (
        "Лента заданий на паузе: новые задания не придут, пока вы её не возобновите."
    )
    assert texts(paused)[1].endswith("Лента заданий приостановлена.")
    assert "Возобновить ленту" in labels(paused[1])
    async with sessions() as session:
        executor = await session.get(Executor, executor_id)
        assert executor is not None and executor.status is ExecutorStatus.PAUSED
    resumed = await chat.press("Возобновить ленту")
    assert texts(resumed)[0].startswith("Лента заданий включена")
    assert "Приостановить ленту" in labels(resumed[1])
    async with sessions() as session:
        executor = await session.get(Executor, executor_id)
        assert executor is not None and executor.status is ExecutorStatus.ACTIVE
