"""Story: what people get wrong. A client orders through the wizard and answers badly — a
sticker where words are wanted, "abc" pages, a deadline in the past, a file over the size
limit — and each time the bot says what was wrong and asks the same step again, losing
nothing; after Cancel an old wizard button is refused politely. Then a client blocks the bot
halfway through an order: the manager's message fails, the manager sees why, the person is
marked unreachable, and when they come back the wizard is where they left it. An executor
who blocked the bot is passed by when a job is published."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import utcnow
from core.models import Order, StoredFile
from inbox.channel import BLOCKED_BY_USER
from inbox.models import (
    DeliveryStatus,
    Direction,
    OutboxStatus,
)
from inbox.replies import NoRoute
from runtime.bootstrap import Container
from tests import builders
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.scenarios.desk import Desk
from tests.scenarios.people import (
    MakeExecutor,
    MakePerson,
    TelegramPerson,
    introduce,
    labels,
    payload,
    shown,
)
from tests.telegram_helpers import eventually, kicked

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
MEGABYTE = 1024 * 1024  # PULT_MAX_FILE_MB is 1 in the stories (tests/telegram_helpers.py)
PAGES = "Количество страниц:"


async def test_wrong_answers_are_asked_again_and_nothing_is_lost(
    container: Container, worker: object, desk: Desk, person: MakePerson
) -> None:
    await desk.add_skills("Экономика")
    anna = person("Анна")
    await introduce(anna, "Анна Петрова")
    await _wizard_up_to_the_topic(anna)

    # A sticker where words are wanted.
    await anna.send_sticker()
    await anna.wait_for("Пожалуйста, напишите ответ словами.")
    assert await _asked_again(anna, "Тема:")
    await anna.say("Маркетинг малого бизнеса")
    await anna.wait_for(PAGES)

    # Letters for a number.
    await anna.say("abc")
    await anna.wait_for("Пришлите целое число, например 25.")
    assert await _asked_again(anna, PAGES)
    await anna.say("35")
    await anna.wait_for("Требуемая оригинальность, %:")
    await anna.press("Пропустить")
    await anna.wait_for("Срок сдачи:")

    # A deadline that has passed, in two spellings.
    for past in ("01.09.2020", "вчера"):
        await anna.say(past)
        await anna.wait_for("Эта дата уже прошла. Укажите дату в будущем.")
        assert await _asked_again(anna, "Срок сдачи:")
    await anna.say((utcnow() + timedelta(days=20)).strftime("%d.%m.%Y"))
    await anna.wait_for("Материалы и методичка:")

    # A file over PULT_MAX_FILE_MB (Telegram declares its size), then a sticker, then a good one.
    await anna.send_document("Скан методички.pdf", PDF, reported_size=3 * MEGABYTE)
    too_big = await anna.wait_for("Файл Скан методички.pdf больше 1 МБ и не принят.")
    assert shown(too_big).endswith("Пришлите файл поменьше или ссылку.")
    asked = await anna.wait_for("Пришлите файлы или нажмите «Готово».")  # the step goes on
    assert labels(asked) == ["Готово"]
    anna.mark()
    await anna.send_sticker()
    expected = await anna.wait_for("Пришлите файлы или нажмите «Готово».")
    assert labels(expected) == ["Готово"]
    await anna.send_document("Методичка.pdf", PDF)
    await anna.wait_for("Получено файлов: 1.")
    await anna.press("Готово")
    summary = await anna.wait_for("Проверьте заказ")
    for line in ("Тема: Маркетинг малого бизнеса", "Количество страниц: 35",
                 "Материалы и методичка: 1"):  # fmt: skip
        assert line in shown(summary)

    # Cancel, then a button of the wizard that is over.
    confirm = payload(summary, "Подтвердить")
    await anna.press("Отмена")
    await anna.wait_for("Отменено.")
    await anna.wait_for("Что вы хотите сделать?")
    await anna.press_on(summary, confirm)
    await anna.wait_for("Эта кнопка уже не действует. Вот меню.")
    menu = await anna.wait_for("Что вы хотите сделать?")
    assert "Новый заказ" in labels(menu)

    async with container.sessions() as session:
        assert await session.scalar(select(Order.id)) is None
        stored = list(await session.scalars(select(StoredFile.original_name)))
    assert stored == ["Методичка.pdf"]  # nothing of the big file was kept
    assert await desk.dialog_state(anna) is None
    assert not any(path.is_file() and path.stat().st_size > MEGABYTE
                   for path in (container.settings.data_dir / "files").rglob("*"))  # fmt: skip


async def test_a_client_who_blocks_the_bot_mid_order(
    container: Container,
    worker: object,
    fake: FakeTelegramAPI,
    desk: Desk,
    person: MakePerson,
) -> None:
    await desk.add_skills("Экономика")
    anna = person("Анна")
    await introduce(anna, "Анна Петрова")
    await anna.say("Сколько стоит курсовая?")  # filed for the managers in her lead thread
    await _wizard_up_to_the_topic(anna)
    await anna.say("Маркетинг малого бизнеса")
    await anna.wait_for(PAGES)

    # She blocks the bot; Telegram's notice of it has not come yet. The manager writes.
    fake.block(anna.chat_id)
    await desk.write_to_lead(anna, "Анна, вам удобнее созвониться?")

    async def unreachable() -> bool:
        identity = await desk.identity(anna)
        return identity is not None and not identity.reachable

    await eventually(unreachable, "the 403 to mark Anna unreachable")
    identity = await desk.identity(anna)
    assert identity is not None and identity.unreachable_reason == BLOCKED_BY_USER
    thread = await desk.lead_thread(anna)
    assert [(m.direction, m.text) for m in thread][-2:] == [
        (Direction.OUT, "Анна, вам удобнее созвониться?"),
        (Direction.SYSTEM, "Сообщение не доставлено: получатель заблокировал бота"),
    ]
    assert thread[-2].delivery_status is DeliveryStatus.FAILED
    failed = [item for item in await desk.outbox(anna) if item.status is OutboxStatus.FAILED]
    assert [item.last_error for item in failed] == [BLOCKED_BY_USER]
    assert not any("созвониться" in text for text in anna.texts())

    # Telegram's notice comes late: nothing changes, and the desk cannot write to her now.
    fake.enqueue(kicked(fake, anna.user))
    await eventually(lambda: _taken_in(fake), "the notice taken in")
    with pytest.raises(NoRoute):
        await desk.write_to_lead(anna, "Вы здесь?")
    assert len(await desk.lead_thread(anna)) == len(thread)  # no second note

    # She unblocks and writes: reachable again, and the wizard is where she left it.
    fake.unblock(anna.chat_id)
    await anna.say("Я вернулась")
    await anna.wait_for("Пришлите целое число, например 25.")
    assert await _asked_again(anna, PAGES)
    back = await desk.identity(anna)
    assert back is not None and (back.reachable, back.unreachable_reason) == (True, None)
    await anna.say("35")
    await anna.wait_for("Требуемая оригинальность, %:")
    state = await desk.dialog_state(anna)
    assert state is not None and state.data["answers"]["topic"] == "Маркетинг малого бизнеса"


async def test_an_executor_who_blocked_the_bot_is_offered_no_jobs(
    container: Container,
    worker: object,
    fake: FakeTelegramAPI,
    desk: Desk,
    executor: MakeExecutor,
) -> None:
    """Telegram's notice (my_chat_member, "kicked") is how the desk learns it first: the
    feed then passes the person by instead of failing at Telegram."""
    sergey = await executor("Сергей")
    timur = await executor("Тимур")
    fake.block(timur.chat_id)
    fake.enqueue(kicked(fake, timur.user))

    async def unreachable() -> bool:
        identity = await desk.identity(timur)
        return identity is not None and identity.unreachable_reason == BLOCKED_BY_USER

    await eventually(unreachable, "Timur marked unreachable by the notice")
    async with desk.work() as (session, _):
        order, _manager = await builders.order_on_exchange(session, price=800_000)
        number = order.number
    card = await sergey.wait_for(f"Новое задание №{number}")
    assert labels(card) == ["Взять", "Пропустить"]
    assert [item.chat_id for item in await desk.outbox()] == [str(sergey.chat_id)]
    assert await desk.outbox(timur) == []  # nothing queued for Timur, so nothing failed
    assert timur.messages() == []


# --- the steps ----------------------------------------------------------------------------


async def _wizard_up_to_the_topic(anna: TelegramPerson) -> None:
    await anna.press("Новый заказ")
    await anna.press("Студенческая работа")
    await anna.wait_for("Дисциплина:")
    await anna.press("Экономика")
    await anna.wait_for("Тип работы:")
    await anna.press("Курсовая работа")
    await anna.wait_for("Тема:")


async def _asked_again(anna: TelegramPerson, question: str) -> bool:
    """The step's question comes again right after the explanation, buttons and all."""
    await anna.wait_until(lambda: shown(anna.messages()[-1]).startswith(question), question)
    return "Отмена" in labels(anna.messages()[-1])


async def _taken_in(fake: FakeTelegramAPI) -> bool:
    """Every queued update confirmed by the poller (processed, then acknowledged)."""
    return fake.pending_updates == []
