"""Story: a student agency. A client orders coursework through the bot's wizard with two
files; the manager quotes it; the client accepts and pays the prepayment through the
payment link; the job goes to the exchange for bids; three executors who write economics
papers get the card (one applied through the bot, two were approved earlier), a lawyer does
not; two offer a price, the manager picks one, the other is told and his card loses its
buttons; the author submits, gets the work back with a comment, submits again; the client
pays the rest and receives the file, asks for a revision within the guarantee, receives the
corrected file and rates the work. Every party's chat and the database are checked."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bots.payments import FakePaymentProvider
from core import applications, exchange, ledger, orders, payments
from core.db import utcnow
from core.models import (
    BidStatus,
    Executor,
    ExecutorStatus,
    FilePurpose,
    OrderStatus,
    Payment,
    PaymentStatus,
    StoredFile,
    User,
)
from inbox.conversations import order_thread
from inbox.models import ConversationKind, Message
from inbox.replies import reply
from inbox.staff_link import issue_link_code
from runtime.bootstrap import Container
from tests.fakes.telegram_api import SentMessage
from tests.scenarios.desk import Desk, bids_for, order_numbered
from tests.scenarios.people import (
    MakeExecutor,
    MakePerson,
    TelegramPerson,
    introduce,
    labels,
    link,
    payload,
    rub,
    shown,
)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
GUIDE = b"%PDF-1.7\n" + b"guidelines " * 300 + b"\n%%EOF\n"
TASK = b"PK\x03\x04" + b"task: marketing of a small business " * 40
DRAFT = b"PK\x03\x04" + b"coursework, first draft " * 80
SECOND = b"PK\x03\x04" + b"coursework with the reference list " * 80
THIRD = b"PK\x03\x04" + b"coursework, title page as the guidelines say " * 80
NUMBER = 1001  # the first order of an installation
TOPIC = "Маркетинг малого бизнеса"
TITLE = f"Студенческая работа: {TOPIC}"


async def test_coursework_from_the_wizard_to_the_rating(
    container: Container,
    worker: object,
    desk: Desk,
    person: MakePerson,
    executor: MakeExecutor,
) -> None:
    await desk.add_skills("Экономика", "Право")
    maria = await _manager_links_her_telegram(desk, person("Мария"))
    anna = person("Анна")
    await introduce(anna, "Анна Петрова")

    await _orders_coursework_with_two_files(desk, anna)
    await maria.wait_for(f"Новый заказ №{NUMBER}: {TITLE}")

    gateway = container.payments.first(FakePaymentProvider)
    assert gateway is not None
    await _quoted_accepted_and_prepaid(desk, anna, gateway)
    await maria.wait_for(f"Получена оплата: {rub('5 000')} по заказу №{NUMBER}")

    ivan = await _applies_through_the_bot(desk, person("Иван"), maria)
    petr = await executor("Пётр", skills=("Экономика",))
    olga = await executor("Ольга", skills=("Экономика",))
    lev = await executor("Лев", skills=("Право",))

    # -- the exchange: bids, the pick, the retired cards --------------------------------------
    async with desk.work() as (session, me):
        order = await order_numbered(session, NUMBER)
        await exchange.publish_to_exchange(session, order, me, fixed_price=None)
    cards = {}
    for someone in (ivan, petr, olga):
        card = await someone.wait_for(f"Новое задание №{NUMBER}")
        assert labels(card) == ["Предложить цену", "Пропустить"]
        assert f"Тема: {TOPIC}" in shown(card) and "Количество страниц: 35" in shown(card)
        assert "Анна" not in shown(card)  # the client stays the desk's
        cards[someone.chat_id] = card
    assert await desk.outbox(lev) == [] and lev.messages() == []

    await _offers_a_price(petr, "4000")
    await petr.wait_for(f"Ваше предложение {rub('4 000')} за задание №{NUMBER} отправлено")
    await _offers_a_price(ivan, "4500", comment="Сделаю за неделю", by=10)
    await ivan.wait_for(f"Ваше предложение {rub('4 500')} за задание №{NUMBER} отправлено")
    ivans_old_button = payload(cards[ivan.chat_id], "Предложить цену")

    async with desk.work() as (session, me):
        order = await order_numbered(session, NUMBER)
        bids = {bid.executor.name: bid for bid in await bids_for(session, order.id)}
        assert {name: bid.price for name, bid in bids.items()} == {
            "Пётр": 400_000,
            "Иван Сидоров": 450_000,
        }
        assert bids["Иван Сидоров"].comment == "Сделаю за неделю"
        assert bids["Иван Сидоров"].eta is not None and bids["Пётр"].eta is None
        chosen = bids["Пётр"]
        await exchange.assign_executor(session, order, me, chosen.executor, bid=chosen)

    yours = await petr.wait_for(f"Задание №{NUMBER} ваше")
    assert labels(yours) == ["Начать работу"] and f"Ваша цена: {rub('4 000')}" in shown(yours)
    await ivan.wait_for(f"Задание №{NUMBER} отдано другому исполнителю")
    await anna.wait_for(f"Автор приступил к работе над заказом №{NUMBER}.")
    for loser in (ivan, olga):
        card = cards[loser.chat_id]
        await loser.wait_until(lambda card=card: card.edits == 1, "the card edited")
        assert (shown(card), card.buttons) == (f"Задание №{NUMBER} уже занято.", [])
    assert labels(cards[petr.chat_id]) == ["Предложить цену", "Пропустить"]  # his, kept

    # Ivan's app had not redrawn the card: he presses the old button all the same.
    await ivan.press_on(cards[ivan.chat_id], ivans_old_button)
    await ivan.wait_for("Это задание уже взяли.")
    assert await desk.dialog_state(ivan) is None  # no offer started
    assert ivan.texts()[-3:] == [
        f"Ваше предложение {rub('4 500')} за задание №{NUMBER} отправлено менеджеру.",
        f"Задание №{NUMBER} отдано другому исполнителю. Спасибо за ваше предложение!",
        "Это задание уже взяли.",
    ]
    assert olga.texts() == [f"Задание №{NUMBER} уже занято."]

    # -- the work: submitted, returned with a comment, submitted again ------------------------
    await petr.press("Начать работу")
    await petr.wait_for(f"Работа по заданию №{NUMBER} начата")
    await _submits(petr, "Курсовая.docx", DRAFT)
    result_in = f"Новое сообщение по заказу №{NUMBER} — Пётр: Результат сдан"
    await maria.wait_for(result_in)

    async with desk.work() as (session, me):
        order = await order_numbered(session, NUMBER)
        await orders.return_for_revision(session, order, me, "Добавьте список литературы")
    await petr.wait_for(
        f"Задание №{NUMBER} возвращено на доработку. Комментарий менеджера: "
        "Добавьте список литературы"
    )
    job = await _opens_the_job(petr)
    assert "Статус: На доработке" in shown(job)
    assert "Комментарий менеджера: Добавьте список литературы" in shown(job)
    assert labels(job) == ["Сдать заново", "Спросить менеджера"]
    await _submits(petr, "Курсовая с литературой.docx", SECOND, button="Сдать заново")
    anna.mark()  # nothing of the review reaches the client

    async with desk.work() as (session, me):
        order = await order_numbered(session, NUMBER)
        await orders.approve_result(session, order, me)
    await petr.wait_for(f"Задание №{NUMBER} принято. Спасибо за работу!")
    ready = await anna.wait_for(f"Заказ №{NUMBER} готов!")
    assert shown(ready) == (
        f"Заказ №{NUMBER} готов! Чтобы получить результат, оплатите остаток: {rub('5 000')}."
    )
    assert anna.news() == [ready]

    # -- the rest paid, the result delivered --------------------------------------------------
    await anna.press(f"Оплатить {rub('5 000')}")
    await _pays_through_the_link(container, anna, gateway, rub("5 000"))
    delivered = await anna.wait_for(f"Результат по заказу №{NUMBER}. Спасибо за заказ!")
    assert delivered.method == "sendDocument" and labels(delivered) == ["Запросить доработку"]
    (file,) = delivered.files
    assert (file.file_name, file.content) == ("Курсовая с литературой.docx", SECOND)

    # -- a revision within the guarantee ------------------------------------------------------
    await anna.press("Запросить доработку")
    await anna.wait_for(f"Что нужно исправить в заказе №{NUMBER}?")
    await anna.say("Оформите титульный лист по методичке")
    await anna.wait_for(f"Запрос на доработку по заказу №{NUMBER} отправлен менеджеру.")
    # What to fix is a message in the client thread, and the manager is alerted to it.
    await maria.wait_for(
        f"Новое сообщение по заказу №{NUMBER} — Анна Петрова: Оформите титульный лист по методичке"
    )
    async with desk.work() as (session, me):
        order = await order_numbered(session, NUMBER)
        client_thread = await order_thread(session, order, ConversationKind.CLIENT)
        said = await session.scalar(
            select(Message.text)
            .where(Message.conversation_id == client_thread.id)
            .order_by(Message.id.desc())
            .limit(1)
        )
        assert said == "Оформите титульный лист по методичке"
        await orders.accept_revision(session, order, me)
    await anna.wait_for(f"Ваш запрос на доработку заказа №{NUMBER} принят: работу исправляют.")
    await petr.wait_for(f"По заданию №{NUMBER} клиент попросил доработку.")
    async with desk.work() as (session, me):
        # The manager relays the client's words to the author (they never talk directly).
        order = await order_numbered(session, NUMBER)
        thread = await order_thread(session, order, ConversationKind.EXECUTOR)
        await reply(session, thread, "Клиент просит оформить титульный лист по методичке",
                    author_user_id=desk.user_id)  # fmt: skip
    await petr.wait_for("Клиент просит оформить титульный лист по методичке")
    job = await _opens_the_job(petr)
    assert "Статус: В работе" in shown(job) and labels(job)[0] == "Сдать результат"
    await _submits(petr, "Курсовая, титульный лист.docx", THIRD)
    await maria.wait_until(lambda: maria.texts().count(result_in) == 3, "the third result")

    anna.mark()
    async with desk.work() as (session, me):
        order = await order_numbered(session, NUMBER)
        await orders.approve_result(session, order, me)  # paid in full: delivered at once
    again = await anna.wait_for(f"Результат по заказу №{NUMBER}. Спасибо за заказ!")
    assert anna.news() == [again]  # no "ready, please pay": nothing more is due
    (file,) = again.files
    assert (file.file_name, file.content) == ("Курсовая, титульный лист.docx", THIRD)

    # -- closed and rated -----------------------------------------------------------------------
    async with desk.work() as (session, me):
        order = await order_numbered(session, NUMBER)
        await orders.close_order(session, order, me)
    rate = await anna.wait_for(f"Оцените, пожалуйста, работу по заказу №{NUMBER}:")
    assert labels(rate) == ["⭐" * stars for stars in range(1, 6)]
    await anna.press("⭐⭐⭐⭐⭐")
    await anna.wait_for("Спасибо за оценку!")

    await _the_books_are_right(desk, petr_name="Пётр")
    assert lev.messages() == []  # a lawyer: nothing about an economics paper, ever
    paid_in = f"Получена оплата: {rub('5 000')} по заказу №{NUMBER}"
    assert [text.split(" Имя:")[0] for text in maria.texts()] == [
        "Готово, Мария: в этот чат теперь приходят уведомления службы заказов.",
        f"Новый заказ №{NUMBER}: {TITLE}",
        paid_in,
        "Новое сообщение — Иван Сидоров: Анкета исполнителя",
        result_in,
        result_in,
        paid_in,
        f"Новое сообщение по заказу №{NUMBER} — Анна Петрова: Оформите титульный лист по методичке",
        result_in,
    ]
    # Client and author never see each other: no name, no phone, no author's price.
    assert not any("Пётр" in text or rub("4 000") in text for text in anna.texts())
    assert not any("Анна" in text or anna.phone in text for text in petr.texts())


# --- the steps ----------------------------------------------------------------------------


async def _manager_links_her_telegram(desk: Desk, maria: TelegramPerson) -> TelegramPerson:
    """`pult user link-telegram`: the manager gets the desk's alerts in her Telegram."""
    async with desk.work() as (session, _):
        user = await session.get(User, desk.user_id)
        assert user is not None
        code = await issue_link_code(session, user)
    await maria.say(f"/start {code}")
    await maria.wait_for("Готово, Мария: в этот чат теперь приходят уведомления")
    return maria


async def _orders_coursework_with_two_files(desk: Desk, anna: TelegramPerson) -> None:
    container = desk.container
    await anna.press("Новый заказ")
    kinds = await anna.wait_for("Что вы хотите заказать?")
    assert labels(kinds) == ["Студенческая работа", "Печать", "Перевозка / спецтехника"]
    await anna.press("Студенческая работа")
    discipline = await anna.wait_for("Дисциплина:")
    assert labels(discipline) == ["Право", "Экономика", "Отмена"]
    await anna.press("Экономика")
    await anna.wait_for("Тип работы:")
    await anna.press("Курсовая работа")
    await anna.wait_for("Тема:")
    await anna.say(TOPIC)
    await anna.wait_for("Количество страниц:")
    await anna.say("35")
    await anna.wait_for("Требуемая оригинальность, %:")
    await anna.press("Пропустить")
    await anna.wait_for("Срок сдачи:")
    deadline = (utcnow() + timedelta(days=20)).astimezone(container.settings.tz)
    await anna.say(deadline.strftime("%d.%m.%Y"))
    files = await anna.wait_for("Материалы и методичка:")
    assert labels(files) == ["Готово", "Назад", "Отмена"]
    await anna.send_document("Методичка.pdf", GUIDE)
    await anna.wait_for("Получено файлов: 1.")
    await anna.send_document("Задание.docx", TASK, mime_type=DOCX)
    await anna.wait_for("Получено файлов: 2.")
    await anna.press("Готово")
    summary = await anna.wait_for("Проверьте заказ — Студенческая работа")
    for line in ("Дисциплина: Экономика", "Тип работы: Курсовая работа", f"Тема: {TOPIC}",
                 "Количество страниц: 35", "Материалы и методичка: 2"):  # fmt: skip
        assert line in shown(summary)
    assert labels(summary) == ["Подтвердить", "Изменить поле", "Отмена"]
    await anna.press("Подтвердить")
    await anna.wait_for(f"Заказ №{NUMBER} оформлен. Менеджер посмотрит его")
    await anna.wait_for("Что вы хотите сделать?")

    async with container.sessions() as session:
        order = await order_numbered(session, NUMBER)
        materials = list(await session.scalars(select(StoredFile).order_by(StoredFile.id)))
    assert (order.status, order.title) == (OrderStatus.NEW, TITLE)
    assert order.details["discipline"] == "Экономика" and order.details["pages"] == 35
    assert order.deadline is not None
    assert order.deadline.astimezone(container.settings.tz).date() == deadline.date()
    assert [(f.original_name, f.purpose, f.order_id, f.client_id) for f in materials] == [
        ("Методичка.pdf", FilePurpose.MATERIAL, order.id, order.client_id),
        ("Задание.docx", FilePurpose.MATERIAL, order.id, order.client_id),
    ]
    assert [await desk.file_bytes(f) for f in materials] == [GUIDE, TASK]


async def _quoted_accepted_and_prepaid(
    desk: Desk, anna: TelegramPerson, gateway: FakePaymentProvider
) -> None:
    async with desk.work() as (session, me):
        order = await order_numbered(session, NUMBER)
        await orders.start_evaluation(session, order, me)
        await orders.quote_order(session, order, me, 1_000_000)
    quote = await anna.wait_for(f"Заказ №{NUMBER}: стоимость готова")
    assert f"Стоимость: {rub('10 000')}" in shown(quote)
    assert f"Предоплата: {rub('5 000')}" in shown(quote)
    assert labels(quote) == ["Принять и оплатить", "Обсудить", "Отказаться"]
    await anna.press("Принять и оплатить")
    await _pays_through_the_link(desk.container, anna, gateway, rub("5 000"))
    await anna.wait_for(f"Оплата по заказу №{NUMBER} получена, спасибо! Приступаем к работе.")
    assert (await desk.order(NUMBER)).status is OrderStatus.PAID


async def _pays_through_the_link(
    container: Container, anna: TelegramPerson, gateway: FakePaymentProvider, amount: str
) -> None:
    """The bot's link opens the gateway's page; the client pays there, and the page (here:
    the test, as webapp/payments.py does) has the payment confirmed by asking the gateway."""
    offer = await anna.wait_for(f"Чтобы оплатить {amount} за заказ №{NUMBER}, перейдите по ссылке:")
    url = link(offer, f"Оплатить {amount}")
    assert url.startswith(container.settings.base_url.rstrip("/") + "/pay/fake/")
    external_id = url.rsplit("/", 1)[1]
    gateway.succeed(external_id)
    async with container.uow() as uow:
        confirmed = await payments.confirm_payment(uow.session, gateway, external_id)
        await uow.commit()
    assert confirmed is not None and confirmed.status is PaymentStatus.SUCCEEDED


async def _applies_through_the_bot(
    desk: Desk, ivan: TelegramPerson, maria: TelegramPerson
) -> TelegramPerson:
    await ivan.say("/start work")
    await ivan.wait_for("Рады, что вы хотите работать с нами!")
    await ivan.say("Иван Сидоров")
    await ivan.wait_for("Ваш номер телефона")
    await ivan.share_contact()
    await ivan.wait_for("Ваш e-mail")
    await ivan.press("Пропустить")
    skills = await ivan.wait_for("Чем вы занимаетесь?")
    await ivan.press("Экономика")
    await ivan.wait_until(lambda: "✓ Экономика" in labels(skills), "the skill ticked in place")
    await ivan.press("Готово")
    await ivan.wait_for("Коротко расскажите о своём опыте")
    await ivan.say("Пишу курсовые по экономике пять лет")
    await ivan.wait_for("Пришлите примеры своих работ")
    await ivan.press("Готово")
    await ivan.wait_for("Спасибо, Иван Сидоров! Ваша анкета отправлена.")
    await maria.wait_for("Новое сообщение — Иван Сидоров: Анкета исполнителя")

    async with desk.work() as (session, me):
        applicant = await session.scalar(select(Executor).where(Executor.name == "Иван Сидоров"))
        assert applicant is not None and applicant.status is ExecutorStatus.APPLICANT
        assert [skill.name for skill in applicant.skills] == ["Экономика"]
        await applications.approve_application(session, applicant, me)
    await ivan.wait_for("Ваша заявка одобрена. Добро пожаловать!")
    return ivan


async def _offers_a_price(
    someone: TelegramPerson, price: str, *, comment: str | None = None, by: int | None = None
) -> None:
    await someone.press("Предложить цену")
    await someone.wait_for(f"Ваша цена за задание №{NUMBER}, в рублях:")
    await someone.say(price)
    await someone.wait_for("Комментарий для менеджера (необязательно):")
    if comment is None:
        await someone.press("Пропустить")
    else:
        await someone.say(comment)
    await someone.wait_for("К какому числу сможете сделать?")
    if by is None:
        await someone.press("Пропустить")
    else:
        await someone.say((utcnow() + timedelta(days=by)).strftime("%d.%m.%Y"))


async def _opens_the_job(petr: TelegramPerson) -> SentMessage:
    await petr.say("/menu")
    await petr.wait_for("Меню исполнителя.")
    await petr.press("Мои задания")
    await petr.wait_for("Ваши задания:")
    await petr.press(f"№{NUMBER} {TITLE}"[:60])
    return await petr.wait_for(f"Задание №{NUMBER} — {TITLE}")


async def _submits(
    petr: TelegramPerson, name: str, content: bytes, *, button: str = "Сдать результат"
) -> None:
    await petr.press(button)
    await petr.wait_for(f"Пришлите файлы результата по заданию №{NUMBER}")
    await petr.send_document(name, content, mime_type=DOCX)
    await petr.wait_for("Получено файлов: 1.")
    await petr.press("Готово")
    await petr.wait_for("Комментарий для менеджера (необязательно):")
    await petr.press("Пропустить")
    await petr.wait_for(f"Результат по заданию №{NUMBER} отправлен менеджеру на проверку.")


# --- the database ---------------------------------------------------------------------------


async def _the_books_are_right(desk: Desk, petr_name: str) -> None:
    async with desk.container.sessions() as session:
        order = await order_numbered(session, NUMBER)
        author = await session.get(Executor, order.executor_id)
        money = await ledger.order_money(session, order.id, order.currency)
        paid = list(await session.scalars(select(Payment).order_by(Payment.id)))
    assert order.status is OrderStatus.CLOSED and order.executor_price == 400_000
    assert author is not None and author.name == petr_name
    assert (author.rating_total, author.rating_count) == (5, 1)
    assert (money.held, money.charged, money.accrued) == (0, 1_000_000, 400_000)
    assert [(p.provider, p.amount, p.status) for p in paid] == [
        ("fake", 500_000, PaymentStatus.SUCCEEDED),
        ("fake", 500_000, PaymentStatus.SUCCEEDED),
    ]
    bids = {bid.executor.name: bid.status for bid in await desk.bids(NUMBER)}
    assert bids == {"Пётр": BidStatus.WON, "Иван Сидоров": BidStatus.LOST}
